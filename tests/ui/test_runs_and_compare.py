"""Runs table and Compare charts over a real SQLite store holding runs from a real sweep on the demo model."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import pytest
from PySide6.QtCore import QModelIndex, Qt, QTimer
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox

from app.reports.formats import REPORT_FORMATS, report_format
from app.store import Store
from app.sweeps import parse_profile, run_profile
from app.ui.runs_model import COLUMNS, NOTES_COLUMN, TAGS_COLUMN
from app.ui.runs_view import ANY_ENVIRONMENT

PROFILE = """
name = "ui-test"
engine = "hf-generate"
strategy = "random"
[options]
model = "demo"
input_tokens = 8
num_requests = 2
warmup_requests = 0
repetitions = 1
idle_baseline_s = 0.0
[axes]
batch_size = [1, 2]
output_tokens = [4, 6]
[budget]
n_trials = 3
seed = 1
"""


@pytest.fixture(scope="module")
def real_store(tmp_path_factory: pytest.TempPathFactory, demo_model_dir: Path) -> str:
    """A store with three runs sampled from a real 2×2 grid on the demo model (run headless, once)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('store') / 'runs.db'}"
    profile = parse_profile(PROFILE, "<test>")
    with Store(url) as store:
        run_profile(profile, store)
    return url


def test_runs_table_reflects_the_store(qtbot, make_window, real_store: str) -> None:
    window = make_window(url=real_store)
    model = window.runs.model
    with Store(real_store) as store:
        stored = store.list_runs()
    assert model.rowCount() == model.total() == len(stored) == 3
    assert {model.run_at(i).id for i in range(3)} == {r.id for r in stored}
    status = next(i for i, c in enumerate(COLUMNS) if c.header == "Status")
    assert {model.data(model.index(i, status)) for i in range(3)} == {"ok"}
    tps = next(i for i, c in enumerate(COLUMNS) if c.sort_key == "output_tokens_per_s")
    window.runs.table.sortByColumn(tps, Qt.SortOrder.DescendingOrder)
    values = [model.run_at(i).value("output_tokens_per_s") for i in range(3)]
    assert values == sorted(values, reverse=True)
    batch = next(i for i, c in enumerate(COLUMNS) if c.header == "Batch")
    for order in (Qt.SortOrder.AscendingOrder, Qt.SortOrder.DescendingOrder):
        window.runs.table.sortByColumn(batch, order)
        shown = [model.data(model.index(i, batch)) for i in range(3)]
        assert shown == sorted(shown, reverse=order == Qt.SortOrder.DescendingOrder) and len(set(shown)) > 1


def test_runs_table_and_details_show_sample_support_and_what_the_ci_is(qtbot, make_window,
                                                                       real_store: str) -> None:
    window = make_window(url=real_store)
    model = window.runs.model
    ttft = next(i for i, c in enumerate(COLUMNS) if c.sort_key == "ttft_ms_p50")
    flagged = 0
    for row in range(model.rowCount()):
        m = model.run_at(row).metrics["ttft_ms_p50"]
        tip = model.data(model.index(row, ttft), Qt.ItemDataRole.ToolTipRole)
        assert f"n={m.n} ({m.n_distinct} distinct)" in tip
        # a batch of 2 shares one first-token time: 2 requests, 1 distinct value cannot give a p50
        shown = model.data(model.index(row, ttft))
        assert shown.endswith("⚠") == (m.n_distinct < 2) and (m.caveat is not None) == (m.n_distinct < 2)
        flagged += m.caveat is not None
    assert flagged == sum(model.run_at(r).config["batch_size"] == 2 for r in range(model.rowCount()))
    run_id = model.run_at(0).id
    window.compare.show_runs([run_id])  # opens the first run's details
    text = window.compare.detail_panel.toPlainText()
    assert "95% CI of the median (distribution-free order statistics, binomial) unavailable: 1 value(s)" in text


def test_tags_and_notes_edits_are_written_to_the_store(qtbot, make_window, real_store: str) -> None:
    window = make_window(url=real_store)
    model = window.runs.model
    run_id = model.run_at(0).id
    assert model.setData(model.index(0, TAGS_COLUMN), "baseline, cpu")
    assert model.setData(model.index(0, NOTES_COLUMN), "first look")
    with Store(real_store) as store:
        run = store.get_run(run_id).summary
    assert run.tags == ("baseline", "cpu")
    assert run.notes == "first look"
    window.runs.text_filter.setText("first look")
    window.runs.apply_filters()
    assert model.rowCount() == 1 and model.run_at(0).id == run_id


def test_runs_filter_on_an_environment_field_of_the_real_runs(qtbot, make_window, real_store: str) -> None:
    window = make_window(url=real_store)
    runs, model = window.runs, window.runs.model
    runs.env_field.setCurrentText("gpu_name")
    for text, rows in (("no gpu", 3), ("H200", 0)):  # the demo runs ran on this machine's CPU
        runs.env_value.setText(text)
        runs.apply_filters()
        assert model.rowCount() == model.total() == rows
    runs.env_field.setCurrentText("host")
    runs.env_value.setText("loc")
    runs.apply_filters()
    assert model.total() == 3
    runs.env_field.setCurrentText(ANY_ENVIRONMENT)
    assert model.total() == 3


def test_compare_charts_are_built_from_stored_runs(qtbot, make_window, real_store: str) -> None:
    window = make_window(url=real_store)
    window.runs.table.selectAll()
    window.compare_action.trigger()
    compare = window.compare
    assert window.tabs.currentWidget() is compare and len(compare.runs) == 3
    series = {s.metric: s for s in compare.bars.series}
    tps = series["output_tokens_per_s"]
    assert tps.values == tuple(r.value("output_tokens_per_s") for r in compare.runs)
    energy = series["energy_j_per_output_token"]
    for value, run in zip(energy.values, compare.runs, strict=True):
        assert value == run.value("energy_j_per_output_token")  # None stays None (shown as n/a)
    assert {compare.x_param.currentText(), compare.y_param.currentText()} == {"batch_size", "output_tokens"}
    for tab in (1, 2, 3):  # landscape, Pareto and telemetry are built when first shown
        compare.tabs.setCurrentIndex(tab)
    land = compare.landscape.landscape
    assert land is not None and len(land.x_values) * len(land.y_values) >= 2
    assert sum(not math.isnan(v) for row in land.grid for v in row) == len({(r.config['batch_size'], r.config['output_tokens']) for r in compare.runs})
    compare.pareto_x.setCurrentText("ttft_ms_p50")
    compare.pareto_y.setCurrentText("output_tokens_per_s")
    data = compare.pareto.data
    assert data is not None and data.front and set(data.run_ids) <= {r.id for r in compare.runs}
    assert compare.telemetry.curve_count >= 1
    target = compare.runs[-1].id
    compare.pareto.run_clicked.emit(target)
    assert f"Run #{target}" in compare.detail_panel.toPlainText()


def test_export_writes_the_comparison_report(qtbot, make_window, real_store: str, tmp_path: Path) -> None:
    window = make_window(url=real_store)
    ids = [window.runs.model.run_at(i).id for i in range(2)]
    target = tmp_path / "report.md"
    with qtbot.waitSignal(window.export_finished, timeout=60_000) as blocker:
        window.export_to(ids, str(target))
    assert blocker.args == [str(target)]
    assert target.exists() and f"{ids[0]}" in target.read_text(encoding="utf-8")


def _answer_export_dialog(file_filter: str, path: Path, seen: list[list[str]]) -> None:
    """Plays the user in the modal export dialog: notes its filters, picks a file type, types a name."""
    dialog = QApplication.activeModalWidget()
    assert isinstance(dialog, QFileDialog)
    seen.append(dialog.nameFilters())
    dialog.selectNameFilter(file_filter)
    dialog.selectFile(str(path))
    dialog.accept()


@pytest.mark.parametrize(("file_filter", "typed", "written", "head"), [
    (report_format("html").file_filter, "report.htm", "report.htm", "<!doctype html"),
    (report_format("pdf").file_filter, "report", "report.pdf", "%pdf"),
])
def test_export_dialog_offers_the_format_table_and_honours_the_choice(
        qtbot, make_window, real_store: str, tmp_path: Path, file_filter: str, typed: str, written: str,
        head: str) -> None:
    window = make_window(url=real_store)
    window.show_compare([window.runs.model.run_at(i).id for i in range(2)])
    seen: list[list[str]] = []
    QTimer.singleShot(0, lambda: _answer_export_dialog(file_filter, tmp_path / typed, seen))
    with qtbot.waitSignal(window.export_finished, timeout=120_000) as blocker:
        window.export_report()
    assert seen == [[f.file_filter for f in REPORT_FORMATS]]
    assert blocker.args == [str(tmp_path / written)]
    assert (tmp_path / written).read_bytes()[:40].decode("latin-1").lower().startswith(head)


def test_a_failed_export_lands_in_the_log_file_with_its_traceback(
        qtbot, make_window, real_store: str, tmp_path: Path, data_dir: Path) -> None:
    from app.logs import log_path, setup_logging

    assert log_path().parent == data_dir / "logs"
    handler = setup_logging(tmp_path / "gui.log")
    try:
        window = make_window(url=real_store)
        with qtbot.waitSignal(window.export_finished, timeout=60_000) as blocker:
            window.export_to([999_999], str(tmp_path / "r.md"))
    finally:
        logging.getLogger("inferlab").removeHandler(handler)
        handler.close()
    assert blocker.args == ["error: LookupError: runs: no run with id 999999 in the store"]
    text = (tmp_path / "gui.log").read_text(encoding="utf-8")
    assert "inferlab-export failed" in text and "Traceback (most recent call last)" in text
    assert "LookupError: runs: no run with id 999999 in the store" in text
    assert "export_runs" in text  # the frame that raised, not just the message


def test_delete_asks_then_removes_runs_from_store(qtbot, make_window, real_store: str, tmp_path: Path) -> None:
    copy = tmp_path / "copy.db"
    copy.write_bytes(Path(real_store.removeprefix("sqlite:///")).read_bytes())
    window = make_window(url=f"sqlite:///{copy}")
    view = window.runs
    view.table.selectRow(0)
    doomed = view.selected_ids()

    def answer(button: QMessageBox.StandardButton) -> None:
        box = view.confirm_box
        assert box is not None
        box.button(button).click()

    QTimer.singleShot(0, lambda: answer(QMessageBox.StandardButton.Cancel))
    view.delete_selected()
    assert view.model.total() == 3
    QTimer.singleShot(0, lambda: answer(QMessageBox.StandardButton.Yes))
    view.delete_selected()
    assert view.model.total() == 2
    with Store(f"sqlite:///{copy}") as store:
        assert doomed[0] not in {r.id for r in store.list_runs()}
    assert not view.model.canFetchMore(QModelIndex())
