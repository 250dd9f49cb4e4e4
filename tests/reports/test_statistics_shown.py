"""Every format says what a CI is ("95% CI of the median (method)"), tells an interval stored as a
t-interval of the mean apart, and flags a percentile its samples cannot support, with n and distinct
values: on real runs of the demo model (6 repetitions, 12 requests) in a real SQLite store."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from app.reports.export import export_runs
from app.reports.json_schema import validate
from app.reports.markdown_export import escape_md
from app.store import Store
from engine.results import LEGACY_MEAN_CI, MEDIAN_CI, Measurement, TrialResult


@pytest.fixture(scope="module")
def legacy_id(report_store) -> int:
    """A run whose interval carries no method, as every run stored before store revision 0003."""
    old = Measurement(41.5, "tok/s", "measured", "tokens/wall", 40.0, 43.0, 3)
    with Store(report_store.url) as store:
        return store.add_run(TrialResult("old", {"engine": "hf-generate", "model": "demo"}, "ok",
                                         metrics={"output_tokens_per_s": old}))


def _rows(path: Path) -> dict[tuple[int, str], dict[str, str]]:
    with path.open(newline="") as f:
        return {(int(r["run_id"]), r["metric"]): r for r in csv.DictReader(f)}


def test_csv_says_what_each_interval_is_and_flags_percentiles(store: Store, report_store, legacy_id: int,
                                                              tmp_path: Path) -> None:
    rows = _rows(export_runs(store, [*report_store.ok_ids, legacy_id], "csv", tmp_path / "r.csv"))
    for rid in report_store.ok_ids:
        tps = rows[(rid, "output_tokens_per_s")]
        assert tps["n"] == "6" and tps["ci_method"].startswith(MEDIAN_CI + ": x(1), x(6) of 6")
        assert float(tps["ci95_low"]) <= float(tps["value"]) <= float(tps["ci95_high"])
        p99, p50 = rows[(rid, "ttft_ms_p99")], rows[(rid, "ttft_ms_p50")]
        assert p99["n"] == "12" and 1 <= int(p99["n_distinct"]) <= 12
        assert p99["caveat"] == f"too few samples for p99: 12 values, {p99['n_distinct']} distinct; needs at " \
                                "least 100 distinct"
        assert p50["caveat"] == "" and p50["n_distinct"] == p99["n_distinct"]
    legacy = rows[(legacy_id, "output_tokens_per_s")]
    assert legacy["ci_method"] == LEGACY_MEAN_CI and legacy["ci95_low"] == "40.0"


def test_json_carries_interval_method_distinct_values_and_caveats(store: Store, report_store, legacy_id: int,
                                                                  tmp_path: Path) -> None:
    doc = json.loads(export_runs(store, [*report_store.ok_ids, legacy_id], "json", tmp_path / "r.json").read_text())
    assert validate(doc) == [] and doc["schema_version"] == "2.1"
    runs = {r["id"]: r["metrics"] for r in doc["runs"]}
    ok = runs[report_store.ok_ids[0]]
    assert ok["output_tokens_per_s"]["ci_method"].startswith(MEDIAN_CI)
    assert ok["ttft_ms_p99"]["caveat"].startswith("too few samples for p99") and ok["ttft_ms_p99"]["n"] == 12
    assert runs[legacy_id]["output_tokens_per_s"]["ci_method"] == LEGACY_MEAN_CI


def test_markdown_and_html_label_the_median_ci_and_mark_the_old_mean_ci(store: Store, report_store,
                                                                         legacy_id: int, tmp_path: Path) -> None:
    ids = [*report_store.ok_ids, legacy_id]
    md = export_runs(store, ids, "md", tmp_path / "r.md").read_text()
    html = export_runs(store, ids, "html", tmp_path / "r.html").read_text()
    assert f"Metrics (value \\[{escape_md(MEDIAN_CI)}\\]" in md
    assert f"Metrics (value [{MEDIAN_CI}]" in html
    assert "mean CI 40.00, 43.00" in md and "mean CI 40.00, 43.00" in html
    assert "95% CI of the mean (Student t)" in md and "p99 needs 100 distinct values" in md
    assert md.count("(too few samples: n=12,") >= 2 * len(report_store.ok_ids)  # p90 and p99 of each run
    assert "error bars: " + MEDIAN_CI + " or 95% CI of the mean (Student t)" in html


@pytest.mark.browser
def test_pdf_text_has_the_ci_label_and_percentile_flags(store: Store, report_store, poppler: Path,
                                                        tmp_path: Path) -> None:
    import subprocess

    pdf = export_runs(store, report_store.ok_ids, "pdf", tmp_path / "r.pdf")
    text = subprocess.run([str(poppler / "pdftotext"), str(pdf), "-"], capture_output=True, text=True,
                          check=True, timeout=120).stdout
    flat = " ".join(text.split())
    assert "95% CI of the median (distribution-free order statistics, binomial)" in flat
    assert "too few samples" in flat and "p99 needs 100 distinct values" in flat
