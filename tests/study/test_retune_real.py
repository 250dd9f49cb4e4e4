"""`inferlab study retune` for real: a tiny source sweep on the demo model (hf-generate, real worker, real
SQLite), then a re-tune of it with a budget of 2 in a real `inferlab` subprocess. The transferred run must
hold the source best's configuration, the printed and reported gain must equal the ratio computed here from
the store's raw rows (sqlite3), and `inferlab study report` must show it, with the search replayed over the
re-tune's grid as a table and box plots. Bad input is refused before any trial runs."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from app.store import Store
from app.sweeps import parse_profile, run_profile

REPO = Path(__file__).resolve().parents[2]
METRIC = "output_tokens_per_s"
PROFILE = """\
name = "retune-source"
engine = "hf-generate"
model = "demo"
strategy = "random"
repetitions = 1
constraints = ["peak_rss_bytes <= 20e9"]

[options]
device = "cpu"
input_tokens = 8
num_requests = 2
warmup_requests = 0
idle_baseline_s = 0.0

[axes]
batch_size = [1, 2]
output_tokens = [1, 3]

[budget]
n_trials = 2
seed = 1

[[objectives]]
metric = "output_tokens_per_s"
direction = "maximize"
"""


def _inferlab(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app.main", *args], cwd=REPO, text=True, capture_output=True,
                          timeout=900)


def _raw(db: Path, sweep_id: int) -> dict[int, tuple[str, str, float | None]]:
    """Each run of a sweep, straight from the tables: id -> (status, config JSON, the metric's value)."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        rows = conn.execute("SELECT r.id, r.status, r.config_json, m.value FROM runs r LEFT JOIN metrics m "
                            "ON m.run_id = r.id AND m.name = ? WHERE r.sweep_id = ? ORDER BY r.id",
                            (METRIC, sweep_id)).fetchall()
    return {i: (status, config, value) for i, status, config, value in rows}


@pytest.mark.slow
def test_retune_runs_the_source_best_first_and_reports_the_gain(data_dir: Path, tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    url = f"sqlite:///{db}"
    with Store(url) as store:
        source = run_profile(parse_profile(PROFILE, "retune-source.toml"), store)
    before = _raw(db, source)
    assert len(before) == 2 and all(status == "ok" for status, _, _ in before.values())
    source_best = max(before, key=lambda i: before[i][2])  # type: ignore[arg-type,return-value]

    done = _inferlab("study", "retune", str(source), "--budget", "2", "--store", url, "--json")
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout)
    retune = out["retune"]
    after = _raw(db, out["sweep_id"])
    assert len(after) == 3 and all(status == "ok" for status, _, _ in after.values())  # transferred + budget 2
    transferred = min(after)  # the search's first trial
    assert json.loads(after[transferred][1]) == json.loads(before[source_best][1])
    assert retune["source_sweep"] == source and retune["source_run"] == source_best
    assert retune["transferred_run"] == transferred
    best = max(after, key=lambda i: after[i][2])  # type: ignore[arg-type,return-value]
    ratio = after[best][2] / after[transferred][2]  # type: ignore[operator]
    assert retune["best_run"] == best and retune["ratio"] == pytest.approx(ratio, rel=1e-12)
    assert retune["gain_pct"] == pytest.approx((ratio - 1) * 100) and ratio >= 1
    assert retune["new_configurations"] == 2 and retune["budget"] == 2
    assert retune["hardware_here"].startswith("local, ") and retune["hardware_source"].startswith("local, ")
    # one repetition gives no interval: the noise is said to be unknown, or there is no difference at all
    assert retune["noise"].startswith("unknown: run ") or (best == transferred and "stayed the best" in retune["noise"])
    with Store(url) as store:
        assert store.get_sweep(out["sweep_id"]).profile["origin"]["source_sweep"] == source
        assert {r.id for r in store.list_runs(tag=f"retune-of-sweep-{source}")} == set(after)

    text = _inferlab("study", "retune", str(source), "--budget", "x", "--store", url)
    assert text.returncode == 2 and "--budget" in text.stderr

    html = tmp_path / "study.html"
    grid = ["--rows", "batch_size", "--columns", "output_tokens"]
    report = _inferlab("study", "report", "--sweep", str(out["sweep_id"]), "-o", str(html), "--store", url, *grid,
                       "--replay-seeds", "3")
    assert report.returncode == 0, report.stderr[-3000:]
    page = html.read_text(encoding="utf-8")
    assert "Re-tuning gains" in page and f"{source} (best: run #{source_best})" in page
    assert f"×{ratio:.3g} ({(ratio - 1) * 100:+.1f} %)" in page and "2 of 2" in page
    # the replay over the re-tune's 2 x 2 grid (3 points measured): the same rows as `study replay`, drawn
    replayed = _inferlab("study", "replay", "--sweep", str(out["sweep_id"]), "--axis", "output_tokens", "--axis",
                         "batch_size", "--seeds", "3", "--store", url, "--json")
    assert replayed.returncode == 0, replayed.stderr[-3000:]
    (row,) = json.loads(replayed.stdout)
    reached = [t for t in row["trials_to_98pct"] if t is not None]
    assert row["grid_points"] == 4 and f"{len(reached)}/3" in page
    assert 'id="chart-replay-trials"' in page and 'id="chart-replay-share"' in page
    dots = page.split('id="chart-replay-share"')[1].split("</figure>")[0]
    assert "n=3, median" in dots  # one dot per seed


@pytest.mark.parametrize(("args", "message"), [
    (["999", "--budget", "2"], "no sweep 999 in the store"),
    (["1", "--budget", "0"], "--budget: 0: a re-tune needs at least 1 new configuration"),
    (["1", "--budget", "2", "--minimize"], "--minimize: only with --objective"),
])
def test_retune_refuses_bad_input_before_any_trial(tmp_path: Path, args: list[str], message: str) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    with Store(url) as store:
        store.create_sweep("empty", {}, "grid")
    done = _inferlab("study", "retune", *args, "--store", url)
    assert done.returncode == 2 and message in done.stderr, done.stderr
    with Store(url) as store:
        assert store.count_runs() == 0 and len(store.list_sweeps()) == 1
