"""The study report's grouped series chart over the study's real A100 rows (allData.csv imported into a real
SQLite store by `inferlab import`): one panel per model, one line per engine (and GPU count, which differs
within an engine), batch size on a log axis. The points of one panel are checked against an independent
pandas computation straight from the CSV (median of the ok rows per configuration; OOM where every row of a
configuration ran out of memory), and `inferlab study report` writes the chart into the HTML and the PDF."""

from __future__ import annotations

import html
import math
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from app.reports.charts import build_charts
from app.reports.model import format_number
from app.store import Store
from app.study.report import StudySpec, build_study_report

REPO = Path(__file__).resolve().parents[2]
ALL_DATA = Path(os.environ.get("INFERLAB_INFPOP_CSV", str(REPO.parent / "shared" / "data" / "infpop" / "allData.csv")))
MAPPING = REPO / "profiles" / "imports" / "infpop-a100.toml"

PANEL = "Phi-2"  # both engines; its HF lines run out of memory at the larger batches
ENGINES = {"autohf": "hf-pipeline", "vLLM": "vllm"}  # the mapping's [values.engine]
TITLE = "Output throughput against batch_size, a line per engine, a panel per model"

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not ALL_DATA.exists(), reason=f"the study's data is not at {ALL_DATA} (shared/ beside "
                                                               "the checkout, or set INFERLAB_INFPOP_CSV)")]


@pytest.fixture(scope="module")
def store_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('series') / 'study.db'}"
    out = subprocess.run([sys.executable, "-m", "app.main", "import", str(ALL_DATA), "--map", str(MAPPING),
                          "--store", url], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    return url


def _expected(model: str) -> dict[str, dict[int, float | None]]:
    """Line label -> batch size -> median of the ok rows' throughput, None where every row ran out of memory
    (a configuration whose rows all failed otherwise is left out), from the CSV with pandas."""
    rows = pd.read_csv(ALL_DATA)
    rows = rows[rows.model == model]
    out: dict[str, dict[int, float | None]] = {}
    for (engine, gpus, batch), config in rows.groupby(["engine", "nrGPUs", "batchSize"]):
        ok = config[config.errors_l == "ok"].throughput
        if ok.empty and not (config.errors_l == "CUDA out of memory").any():
            continue
        out.setdefault(f"{ENGINES[engine]} · gpus={gpus}", {})[int(batch)] = None if ok.empty else ok.median()
    return out


def _all_ids(url: str) -> str:
    with Store(url) as store:
        ids = [r.id for r in store.list_runs(limit=None)]
    assert ids and sorted(ids) == list(range(min(ids), max(ids) + 1))
    return f"{min(ids)}-{max(ids)}"


def _report(url: str, shared_y: bool = True):  # noqa: ANN202 - app.reports.model.Report
    with Store(url) as store:
        runs = store.list_runs(limit=None)
    spec = StudySpec(series_x="batch_size", series_by=("engine",), panels="model", shared_y=shared_y)
    return build_study_report(runs, spec, now=time.time())


def test_one_panels_points_and_oom_markers_match_pandas(store_url: str) -> None:
    series = _report(store_url).series[0].series
    assert series.scale == "log" and series.x_option == "batch_size"
    assert len(series.panels) == pd.read_csv(ALL_DATA).model.nunique()
    panel = next(p for p in series.panels if p.title == PANEL)
    got = {line.label: {p.option("batch_size"): p.value for p in line.points} for line in panel.lines}
    expected = _expected(PANEL)
    assert got.keys() == expected.keys()
    for label, values in expected.items():
        assert got[label].keys() == values.keys(), label
        for batch, value in values.items():
            assert got[label][batch] == (None if value is None else pytest.approx(value, rel=1e-12)), (label, batch)
    ooms = {(line.label, p.option("batch_size")) for line in panel.lines for p in line.points if p.oom}
    assert ooms == {(label, b) for label, values in expected.items() for b, v in values.items() if v is None}
    assert any(label.startswith("hf-pipeline") for label, _ in ooms)
    line = panel.lines[0]
    assert line.positions == tuple(pytest.approx(math.log10(p.option("batch_size")))
                                   for p in line.points)


def test_shared_and_free_y_scales(store_url: str) -> None:
    for shared in (True, False):
        report = _report(store_url, shared_y=shared)
        chart = next(c for c in build_charts(report) if c.key == "series")
        tops = [ax.get_ylim()[1] for ax in chart.figure.axes if ax.get_visible()]
        panel_max = [max(p.value for line in panel.lines for p in line.points if p.value is not None)
                     for panel in report.series[0].series.panels]
        wanted = [max(panel_max) * 1.12] * len(panel_max) if shared else [m * 1.12 for m in panel_max]
        assert tops == pytest.approx(wanted)


def test_cli_draws_the_series_in_html_and_pdf(store_url: str, tmp_path: Path) -> None:
    flags = ["--series-x", "batch_size", "--series-by", "engine", "--panels", "model", "--free-y"]
    for name in ("study.html", "study.pdf"):
        out = subprocess.run([sys.executable, "-m", "app.main", "study", "report", _all_ids(store_url), "-o",
                              str(tmp_path / name), *flags, "--store", store_url], cwd=REPO, capture_output=True,
                             text=True, timeout=600)
        assert out.returncode == 0, out.stderr
    page = html.unescape((tmp_path / "study.html").read_text())
    assert '<figure id="chart-series">' in page and TITLE in page and "batch_size (log scale)" in page
    assert "y free per panel" in page
    expected = _expected(PANEL)
    for label, values in expected.items():
        shown = [f"{b}: OOM" if v is None else f"{b}: {format_number(v)} (median of" for b, v in values.items()]
        tip = next(t for t in re.findall(r"<title>(.*?)</title>", page) if t.startswith(f"{PANEL} · {label}, "))
        assert all(s in tip for s in shown), (label, tip)
        ooms = [b for b, v in values.items() if v is None]
        if ooms:
            assert f"{PANEL} · {label}: OOM (every run out of memory) at " + ", ".join(
                f"batch_size={b}" for b in ooms) in page
    pdftotext = shutil.which("pdftotext")
    if pdftotext is None:
        pytest.skip("pdftotext not installed (poppler-utils; scripts/system-deps.sh installs it)")
    text = subprocess.run([pdftotext, str(tmp_path / "study.pdf"), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert TITLE in " ".join(text.split()) and "× OOM" in text and PANEL in text


def test_cli_refuses_a_series_key_no_run_has(store_url: str, tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "app.main", "study", "report", _all_ids(store_url), "-o",
                          str(tmp_path / "x.html"), "--series-by", "no_such_option", "--store", store_url],
                         cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 2 and "no selected run has 'no_such_option'" in out.stderr
    assert not (tmp_path / "x.html").exists()
