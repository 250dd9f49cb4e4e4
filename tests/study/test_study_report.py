"""The study report over real runs: two tiny real sweeps on the demo model (hf-generate and hf-pipeline, the
same workload) and a slice of the study's real A100 rows (allData.csv, with OOM points), in one real SQLite
store. The report's tables are checked against an independent computation from the store's raw rows
(sqlite3, pandas, scipy); `inferlab study report` writes the HTML and PDF; `inferlab study replay` replays
the search over the stored grids."""

from __future__ import annotations

import csv
import dataclasses
import itertools
import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from scipy import stats as scipy_stats

from app.reports.model import format_number
from app.store import Store
from app.study.report import StudySpec, build_study_report
from app.sweeps import parse_profile, run_profile

REPO = Path(__file__).resolve().parents[2]
ALL_DATA = Path(os.environ.get("INFERLAB_INFPOP_CSV", str(REPO.parent / "shared" / "data" / "infpop" / "allData.csv")))
MAPPING = REPO / "profiles" / "imports" / "infpop-a100.toml"
MODELS = ("Phi-2", "Bloom-1b7")  # both engines; Phi-2's HF grid has OOM points
METRIC = "output_tokens_per_s"
PROFILE = """\
name = "study-slice-{engine}"
engine = "{engine}"
model = "demo"
strategy = "grid"
repetitions = 2

[options]
device = "cpu"
input_tokens = 8
output_tokens = 2
num_requests = 2
warmup_requests = 0
idle_baseline_s = 0.0

[axes]
batch_size = [1, 2]
"""

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not ALL_DATA.exists(), reason=f"the study's data is not at {ALL_DATA} (shared/ beside the checkout, "
                                                               "or set INFERLAB_INFPOP_CSV)")]


@pytest.fixture(scope="module")
def store_url(tmp_path_factory: pytest.TempPathFactory, demo_model_dir: Path) -> str:
    root = tmp_path_factory.mktemp("study")
    (root / "data" / "models").mkdir(parents=True)
    (root / "data" / "models" / demo_model_dir.name).symlink_to(demo_model_dir)
    url = f"sqlite:///{root / 'study.db'}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("INFERLAB_DATA_DIR", str(root / "data"))
        with Store(url) as store:
            for engine in ("hf-generate", "hf-pipeline"):
                run_profile(parse_profile(PROFILE.format(engine=engine), f"{engine}.toml"), store)
    rows = root / "slice.csv"
    with ALL_DATA.open(newline="") as src, rows.open("w", newline="") as dst:
        reader = csv.reader(src)
        writer = csv.writer(dst)
        header = next(reader)
        writer.writerow(header)
        writer.writerows(r for r in reader if r[header.index("model")] in MODELS)
    out = subprocess.run([sys.executable, "-m", "app.main", "import", str(rows), "--map", str(MAPPING),
                          "--store", url], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return url


def _raw(url: str) -> pd.DataFrame:
    """One row per run straight from the database: its options, status, cause and metric value."""
    conn = sqlite3.connect(url.removeprefix("sqlite:///"))
    values = dict(conn.execute("SELECT run_id, value FROM metrics WHERE name = ?", (METRIC,)).fetchall())
    rows = []
    for run_id, engine, model, status, cause, config in conn.execute(
            "SELECT id, engine, model, status, failure_cause, config_json FROM runs"):
        options = {k: v for k, v in json.loads(config).items() if k not in ("repetition", "trial_index")}
        rows.append({"id": run_id, "engine": engine, "model": model, "status": status, "cause": cause,
                     "key": json.dumps({**options, "engine": engine, "model": model}, sort_keys=True),
                     "batch_size": options.get("batch_size"), "num_gpus": options.get("num_gpus"),
                     "value": values.get(run_id) if status == "ok" else None})
    conn.close()
    return pd.DataFrame(rows)


def _report(url: str):  # noqa: ANN202 - app.reports.model.Report
    with Store(url) as store:
        runs = store.list_runs(limit=None)
    return runs, build_study_report(runs, StudySpec(), now=time.time())


def _cells(report, key: str) -> list[list[str]]:  # noqa: ANN001
    return [[c.text for c in row] for row in report.section(key).rows]


def test_best_and_ratio_cells_match_the_raw_rows(store_url: str) -> None:
    raw = _raw(store_url)
    _, report = _report(store_url)
    ok = raw[raw.value.notna()]
    medians = ok.groupby(["model", "engine", "key"]).value.median()
    counts = ok.groupby("key").value.count()
    expected = []
    for model, per_model in medians.groupby(level="model"):
        best = per_model.groupby(level="engine").max()
        at = per_model.groupby(level="engine").idxmax()
        first = sorted(best.index)[0]
        for engine in sorted(best.index):
            ratio = "1" if engine == first else f"{best[engine] / best[first]:.3g}"
            expected.append([model, engine, format_number(best[engine]), str(counts[at[engine][2]]), ratio])
    got = [[r[0], r[1], r[2], r[3], r[5]] for r in _cells(report, "best")]
    assert got == expected
    groups = {r[0] for r in got}
    assert groups > set(MODELS) and len(groups) == len(MODELS) + 1  # the demo model's runs are one group
    assert {r[1] for r in got if r[0] not in MODELS} == {"hf-generate", "hf-pipeline"}


def test_improvement_cells_match_scipy_and_a_direct_cliffs_delta(store_url: str) -> None:
    raw = _raw(store_url)
    _, report = _report(store_url)
    ok = raw[raw.value.notna()]
    point = ok.groupby("key").agg(value=("value", "median"), eng=("engine", "first"), model=("model", "first"))
    engines = sorted(point.eng.unique())
    recorded = {e: set().union(*(json.loads(k) for k in point.index[point.eng == e])) for e in engines}
    rows = {(r[0], r[1]): r for r in _cells(report, "improvement")}
    compared = set()
    for b, a in itertools.combinations(engines, 2):
        shared = (recorded[a] & recorded[b]) - {"engine"}  # an option one engine never records cannot differ
        side = point[point.eng.isin([a, b])].copy()
        side["rest"] = [json.dumps({k: v for k, v in json.loads(key).items() if k in shared}, sort_keys=True)
                        for key in side.index]
        pairs = side[side.eng == a].merge(side[side.eng == b], on="rest", suffixes=("_a", "_b"))
        if pairs.empty:
            continue
        compared.add(f"{a} over {b}")
        for model, group in [*pairs.groupby("model_a"), ("all", pairs)]:
            row = rows[(model, f"{a} over {b}")]
            x, y = list(group.value_a), list(group.value_b)
            assert row[2] == str(len(x))
            gains = [(p / q - 1) * 100 for p, q in zip(x, y, strict=True)]
            assert row[3] == f"{pd.Series(gains).median():+.1f}"
            delta = sum((p > q) - (p < q) for p in x for q in y) / (len(x) * len(y))
            assert row[7].startswith(f"{delta:.2f} (")
            if len(x) >= 2:
                assert row[6] == f"{scipy_stats.wilcoxon(x, y).pvalue:.2g}"
            else:
                assert row[6].startswith("unavailable: needs at least 2 pairs")
    assert compared == {r[1] for r in rows.values()} == {"hf-pipeline over hf-generate", "vllm over hf-pipeline"}


def test_landscapes_mark_oom_cells_as_the_raw_rows_say(store_url: str) -> None:
    raw = _raw(store_url)
    _, report = _report(store_url)
    grid = raw[(raw.model == "Phi-2") & (raw.engine == "hf-pipeline")]
    table = next(t for t in report.sections if t.caption == "Landscape: model=Phi-2 · engine=hf-pipeline")
    columns = [int(h) for h in table.headers[1:]]
    assert columns == sorted(grid.num_gpus.unique())
    oom_cells = 0
    for row in table.rows:
        batch = int(row[0].text.replace(",", ""))
        for gpus, cell in zip(columns, row[1:], strict=True):
            runs = grid[(grid.batch_size == batch) & (grid.num_gpus == gpus)]
            if runs.empty:
                assert cell.text == "—"
            elif runs.value.notna().any():
                assert cell.text == format_number(runs.value.median())
            else:
                assert cell.text == ("OOM" if (runs.cause == "oom").any() else "failed")
                oom_cells += cell.text == "OOM"
    assert oom_cells == sum(g.value.isna().all() and (g.cause == "oom").any()
                            for _, g in grid.groupby(["batch_size", "num_gpus"])) > 0


def test_fair_comparison_warning_names_the_option_that_differs(store_url: str) -> None:
    runs, report = _report(store_url)
    assert _cells(report, "fairness") == []
    changed = [dataclasses.replace(r, config={**r.config, "temperature": 0.7, "prompt_order": "sorted"})
               if r.engine == "hf-pipeline" and r.model not in MODELS else r for r in runs]
    warned = _cells(build_study_report(changed, StudySpec(), now=time.time()), "fairness")
    assert [w[1] for w in warned] == ["temperature", "prompt_order"]
    assert "hf-pipeline: 0.7" in warned[0][2] and "hf-generate: " in warned[0][2]
    assert "hf-pipeline: sorted" in warned[1][2] and "hf-generate: given" in warned[1][2]


def test_cli_writes_html_and_pdf_and_replays_the_grids(store_url: str, tmp_path: Path) -> None:
    raw = _raw(store_url)
    ids = ",".join(map(str, raw.id))
    for name in ("study.html", "study.pdf"):
        out = subprocess.run([sys.executable, "-m", "app.main", "study", "report", ids, "-o", str(tmp_path / name),
                              "--store", store_url], cwd=REPO, capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr
        assert f", {len(raw)} run(s))" in out.stdout
    page = (tmp_path / "study.html").read_text()
    assert "Landscape: model=Phi-2 · engine=vllm" in page and ">OOM<" in page and "Wilcoxon" in page
    assert (tmp_path / "study.pdf").read_bytes().startswith(b"%PDF")
    bad = subprocess.run([sys.executable, "-m", "app.main", "study", "report", "999999", "-o",
                          str(tmp_path / "x.html"), "--store", store_url], cwd=REPO, capture_output=True, text=True)
    assert bad.returncode == 2 and "no run with id 999999" in bad.stderr and not (tmp_path / "x.html").exists()

    out = subprocess.run([sys.executable, "-m", "app.main", "study", "replay", "--seeds", "3", "--budget", "6",
                          "--json", "--store", store_url], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    rows = {(r["group"][0], r["engine"]): r for r in json.loads(out.stdout)}
    assert set(rows) >= {(m, e) for m in MODELS for e in ("hf-pipeline", "vllm")}
    phi = raw[(raw.model == "Phi-2") & (raw.engine == "vllm")]
    medians = phi[phi.value.notna()].groupby(["num_gpus", "batch_size"]).value.median()
    grid = rows[("Phi-2", "vllm")]
    assert grid["best"] == medians.max()
    assert grid["grid_points"] == phi.num_gpus.nunique() * phi.batch_size.nunique()
    for trials, share in zip(grid["trials_to_98pct"], grid["share_of_best_within_budget"], strict=True):
        assert (trials is not None) == (share >= 0.98) and (trials is None or trials <= 6)
