"""File → Import results…: a CSV table and its column mapping, picked in two file dialogs, are read and
stored in the background through the same `import_into` as `inferlab import`; a bad mapping shows its
error and stores nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox

from app.shipped import shipped_dir
from app.store import Store

DATA = Path(__file__).resolve().parents[1] / "reports" / "data"

TABLE = "model,bs,tps,status\nm1,1,12.5,ok\nm1,2,20.0,ok\nm1,4,,OOM\n"
MAPPING = ('source = "gui-test"\nshape = "long"\nstatus = "status"\nok_values = ["ok"]\n'
           '[options]\nmodel = "model"\nbatch_size = "bs"\n'
           '[metrics.tps]\nname = "output_tokens_per_s"\nunit = "tok/s"\n'
           '[causes]\nOOM = "{cause}"\n')


def _pick(monkeypatch: pytest.MonkeyPatch, *answers: str, chosen_filter: str = "") -> list[tuple]:
    """Answer the file dialogs in turn (a stand-in for the user); returns each dialog's arguments."""
    asked: list[tuple] = []
    replies = iter(answers)

    def fake(*args: object, **kwargs: object) -> tuple[str, str]:
        asked.append(args)
        return next(replies), chosen_filter

    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(fake))
    return asked


def _warnings(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", staticmethod(lambda _parent, _title, text: shown.append(text)))
    return shown


def test_a_csv_table_and_its_mapping_import_as_runs_the_runs_view_shows(qtbot, make_window, store_url: str,
                                                                          tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    table, mapping = tmp_path / "results.csv", tmp_path / "mapping.toml"
    table.write_text(TABLE)
    mapping.write_text(MAPPING.format(cause="oom"))
    asked = _pick(monkeypatch, str(table), str(mapping))
    shown = _warnings(monkeypatch)
    window = make_window()
    assert window.import_action in window.menuBar().actions()[0].menu().actions()
    with qtbot.waitSignal(window.import_finished, timeout=60_000) as blocker:
        window.import_results()
    assert shown == []
    assert blocker.args == [f"imported 3 run(s) from {table} (source gui-test)"]
    assert window.statusBar().currentMessage() == blocker.args[0]
    assert asked[1][2] == str(shipped_dir("profiles") / "imports")  # the mapping dialog starts at the shipped ones
    with Store(store_url) as store:
        runs = sorted(store.list_runs(limit=None), key=lambda r: r.config["batch_size"])
    assert [(r.source, r.config["batch_size"], r.status) for r in runs] == [
        ("gui-test", 1, "ok"), ("gui-test", 2, "ok"), ("gui-test", 4, "failed")]
    assert runs[1].value("output_tokens_per_s") == 20.0 and runs[2].failure_cause == "oom"
    model = window.runs.model
    source_column = next(c for c in range(model.columnCount()) if model.headerData(c, Qt.Orientation.Horizontal) == "Source")
    assert model.rowCount() == 3
    assert {model.index(row, source_column).data() for row in range(3)} == {"gui-test"}


def test_a_broken_mapping_shows_its_error_and_stores_nothing(qtbot, make_window, store_url: str, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    table, mapping = tmp_path / "results.csv", tmp_path / "broken.toml"
    table.write_text(TABLE)
    mapping.write_text(MAPPING.format(cause="boom"))
    _pick(monkeypatch, str(table), str(mapping))
    shown = _warnings(monkeypatch)
    window = make_window()
    with qtbot.waitSignal(window.import_finished, timeout=60_000) as blocker:
        window.import_results()
    assert blocker.args[0].startswith("error: ")
    (text,) = shown
    assert f"{mapping}: causes.OOM: 'boom' is not a failure cause" in text and "Nothing was imported" in text
    with Store(store_url) as store:
        assert store.count_runs() == 0
    assert window.runs.model.rowCount() == 0


def test_a_vllm_bench_json_imports_by_the_chosen_filter_without_a_mapping(qtbot, make_window, store_url: str,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    result = DATA / "vllm_serve_result.json"
    asked = _pick(monkeypatch, str(result), chosen_filter="vllm-bench JSON (*.json)")
    shown = _warnings(monkeypatch)
    window = make_window()
    with qtbot.waitSignal(window.import_finished, timeout=60_000) as blocker:
        window.import_results()
    assert shown == [] and len(asked) == 1  # no mapping asked for
    assert blocker.args == [f"imported 1 run(s) from {result} (source vllm-bench)"]
    with Store(store_url) as store:
        assert [r.source for r in store.list_runs()] == ["vllm-bench"]
