"""Every format is written from a real SQLite store of real runs, reads the stored figures as they are,
labels imported runs with their source and escapes user text."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from app.reports.csv_export import COLUMNS
from app.reports.export import FORMATS, export_runs
from app.reports.json_schema import SCHEMA_VERSION, validate
from app.reports.markdown_export import escape_md
from app.reports.model import build_report
from app.store import Store

TITLE = "Batch sweep <script>alert(1)</script>"


def _export(store: Store, ids: list[int], fmt: str, tmp_path: Path) -> tuple[Path, list[tuple[int, int]]]:
    calls: list[tuple[int, int]] = []
    path = export_runs(store, ids, fmt, tmp_path / f"report.{fmt}", title=TITLE,
                       notes="Why: compare batch sizes | `x`", progress=lambda d, t: calls.append((d, t)))
    return path, calls


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_format_is_written_whole_with_progress(store: Store, report_store, fmt: str,
                                                    tmp_path: Path) -> None:
    path, calls = _export(store, report_store.all_ids, fmt, tmp_path)
    n = len(report_store.all_ids)
    assert path.stat().st_size > 500
    assert calls[-1] == (n + 1, n + 1) and all(t == n + 1 for _, t in calls)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no partial file left beside it


def test_csv_is_tidy_one_row_per_run_and_metric_with_stored_values(store: Store, report_store,
                                                                   tmp_path: Path) -> None:
    path, _ = _export(store, report_store.all_ids, "csv", tmp_path)
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0]) == COLUMNS
    details = {d.summary.id: d for d in store.get_runs(report_store.all_ids)}
    keyed = {(int(r["run_id"]), r["metric"]): r for r in rows}
    assert len(keyed) == len(rows)  # (run, metric) is a key
    expected = sum(max(len(d.summary.metrics), 1) for d in details.values())
    assert len(rows) == expected
    for rid, d in details.items():
        for name, m in d.summary.metrics.items():
            r = keyed[(rid, name)]
            assert (r["unit"], r["status"], r["method"]) == (m.unit, m.status, m.method)
            assert (float(r["value"]) if r["value"] else None) == m.value
            assert (float(r["ci95_low"]) if r["ci95_low"] else None) == m.ci95_low
    failed = keyed[(report_store.failed_id, "")]
    assert (failed["run_status"], failed["failure_cause"]) == ("failed", "invalid-config")
    assert keyed[(report_store.vllm_id, "output_tokens_per_s")]["source"] == "vllm-bench"
    assert any(r["status"] == "unavailable" and r["value"] == "" for r in rows)


def test_json_validates_against_the_documented_schema_and_keeps_records(store: Store, report_store,
                                                                        tmp_path: Path) -> None:
    path, _ = _export(store, report_store.all_ids, "json", tmp_path)
    doc = json.loads(path.read_text())
    assert validate(doc) == []
    assert doc["schema_version"] == SCHEMA_VERSION and doc["title"] == TITLE
    runs = {r["id"]: r for r in doc["runs"]}
    assert [r["id"] for r in doc["runs"]] == report_store.all_ids
    for d in store.get_runs(report_store.all_ids):
        r = runs[d.summary.id]
        assert r["metrics"] == {k: m.to_dict() for k, m in d.summary.metrics.items()}
        assert r["config"] == d.summary.config and r["environment"] == d.environment
        assert r["telemetry_sample_count"] == len(d.telemetry) and r["source"] == d.summary.source
    assert runs[report_store.ok_ids[0]]["telemetry_sample_count"] > 0
    assert runs[report_store.optimum_id]["source"] == "optimum-benchmark"
    assert "batch_size" in doc["options"]["differing"]
    broken = json.loads(path.read_text())
    del broken["runs"][0]["metrics"]
    broken["runs"][1]["status"] = "great"
    assert validate(broken) == ["$.runs[0]: missing key 'metrics'",
                                "$.runs[1].status: 'great' is not one of ['ok', 'failed', 'cancelled']"]


def test_markdown_escapes_user_text_and_bolds_differing_options(store: Store, report_store, xss,
                                                                 tmp_path: Path) -> None:
    path, _ = _export(store, report_store.all_ids, "md", tmp_path)
    md = path.read_text()
    assert "<script" not in md and "<img" not in md
    assert escape_md(xss.tag) in md and "&lt;script&gt;" in md
    assert "\\|" in md and "\\`tick\\`" in md
    config_rows = [line for line in md.splitlines() if line.startswith("| **batch\\_size**")]
    assert len(config_rows) == 1 and "| **1** | **2** |" in config_rows[0]
    assert "vllm-bench" in md and "optimum-benchmark" in md and "invalid-config" in md
    # every table row has the same number of unescaped pipes as its header
    for block in re.findall(r"(?:^\|.*\|\n)+", md, flags=re.M):
        lines = block.strip().splitlines()
        counts = {len(re.findall(r"(?<!\\)\|", line)) for line in lines}
        assert len(counts) == 1, lines[:3]


def test_html_is_self_contained_escaped_and_labels_sources(store: Store, report_store,
                                                           tmp_path: Path) -> None:
    path, _ = _export(store, report_store.all_ids, "html", tmp_path)
    page = path.read_text()
    assert "<script" not in page and "<img" not in page and "onerror=" not in page.replace("onerror=&quot;", "")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "data-pwned" in page  # shown as text
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)|url\(\s*["']?(https?:|//)|@import""", page)
    assert page.count("<svg") >= 3 and "<title>" in page.split("<svg", 1)[1]  # tooltips on chart artists
    charts = page.split('<section id="charts">')[1].split("</section>")[0]
    assert charts.count("&lt;script&gt;document.title=") >= 2  # hostile model name: axis label and tooltip
    for text in ("[vllm-bench]", "[optimum-benchmark]", "imported from vllm bench serve", "invalid-config",
                 "How each metric was measured", "Hardware and software environment"):
        assert text in page, text
    assert re.search(r'<td class="differs">2</td>', page)  # batch_size differs, highlighted


def test_many_runs_turn_the_tables(report_store, real_results, tmp_path: Path) -> None:
    with Store(f"sqlite:///{tmp_path / 'many.db'}") as store:
        ids = store.add_runs(real_results[:2] * 6)
        path = export_runs(store, ids, "md", tmp_path / "many.md")
    md = path.read_text()
    assert "## Configurations: same wherever recorded" in md and "## Configurations: differing items" in md
    differing = md.split("## Configurations: differing items")[1]
    assert differing.split("\n| ")[1].startswith("Column | batch\\_size")


def test_bad_requests_fail_clearly_and_leave_no_file(store: Store, report_store,
                                                     tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="format: got 'docx'"):
        export_runs(store, report_store.ok_ids, "docx", tmp_path / "r.docx")
    with pytest.raises(LookupError, match="no run with id 999999"):
        export_runs(store, [*report_store.ok_ids, 999999], "html", tmp_path / "r.html")
    with pytest.raises(ValueError, match="no run ids"):
        export_runs(store, [], "csv", tmp_path / "r.csv")
    assert list(tmp_path.iterdir()) == []


def test_the_report_says_where_each_run_ran(store: Store, report_store, tmp_path: Path) -> None:
    ids = [*report_store.ok_ids, report_store.vllm_id]
    page = export_runs(store, ids, "md", tmp_path / "where.md").read_text()
    assert "Where each run ran (environment fields)" in page and "no GPU" in page
    where = build_report(store.get_runs(ids), environment_fields=store.environment_fields(ids)).section("where")
    assert where is not None
    rows = {row[0].text: [c.text for c in row[1:]] for row in where.rows}
    assert rows["gpu_name"] == ["no GPU", "no GPU", "—"]  # the demo runs ran on this CPU; the import does not say
    assert rows["host"][:2] == ["local", "local"] and rows["torch"][0] == rows["torch"][1] != "—"
