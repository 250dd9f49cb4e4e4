"""The GUI takes the same hostile inputs as the CLI (real widgets, offscreen): a dropped binary or huge
profile, a pasted NaN, a tag or value with a control character, a bad range word. Each is an inline
error in the validation line or next to its field; nothing raises, nothing launches."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from app.sweeps.profile import MAX_PROFILE_BYTES
from app.ui.experiment_view import ExperimentView


@pytest.fixture()
def view(qtbot) -> ExperimentView:
    view = ExperimentView()
    qtbot.addWidget(view)
    view.show()
    return view


def _drop(view: ExperimentView, path: Path) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    event = QDropEvent(QPointF(QPoint(10, 10)), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                       Qt.KeyboardModifier.NoModifier)
    view.dropEvent(event)


def _refused(view: ExperimentView, *fragments: str) -> None:
    text = view.validation_label.text()
    assert all(f in text for f in fragments), text
    assert len(text) < 1000


def test_a_dropped_binary_profile_is_an_inline_error(view: ExperimentView, tmp_path: Path) -> None:
    path = tmp_path / "binary.toml"
    path.write_bytes(b'name = "x"\n\x89PNG\r\n\x1a\n\x00\xff')
    _drop(view, path)
    _refused(view, "Could not load the profile", "binary.toml:2", "not UTF-8 text")
    assert view.profile_path is None


def test_a_dropped_huge_profile_is_an_inline_error(view: ExperimentView, tmp_path: Path) -> None:
    path = tmp_path / "huge.toml"
    path.write_bytes(b"# " + b"x" * (MAX_PROFILE_BYTES + 10))
    _drop(view, path)
    _refused(view, "huge.toml", "larger than 1,048,576 bytes")


def test_a_dropped_profile_with_a_control_character_tag_is_an_inline_error(view: ExperimentView,
                                                                          tmp_path: Path) -> None:
    path = tmp_path / "tags.toml"
    path.write_text('name = "x"\nengine = "hf-generate"\ntags = ["ok", "a\\u0000b"]\n', encoding="utf-8")
    _drop(view, path)
    _refused(view, "tags.toml:3", "tags[1]", "non-printable character")


def test_a_pasted_nan_axis_value_is_flagged_and_blocks_run(view: ExperimentView) -> None:
    view.form.set_values({"batch_size": 1})
    view.sweep.add_axis("temperature", "0.5, nan")
    assert view.validate() is None
    _refused(view, "axes.temperature.values", "finite")
    assert not view.run_button.isEnabled()
    view.sweep.axes_table.item(0, 1).setText("0.5, 1e999")
    assert view.validate() is None
    _refused(view, "finite")
    view.sweep.axes_table.item(0, 1).setText("0.5, 0.7")
    assert view.validate() is not None and view.run_button.isEnabled()


@pytest.mark.parametrize("text", ["1..64 num=abc", "e..64", "1..64 step=nan", "1.2.3..4"])
def test_a_bad_range_is_named_not_raised(view: ExperimentView, text: str) -> None:
    view.sweep.add_axis("input_tokens", text)
    assert view.validate() is None
    _refused(view, "axis input_tokens")


def test_a_control_character_in_a_text_option_is_flagged_on_its_field(view: ExperimentView) -> None:
    view.engine_box.setCurrentIndex(view.engine_box.findData("openai"))
    view.form.set_values({"api_key_env": "KEY\x1b[2J"})
    assert view.validate() is None
    label = view.form.error_labels["api_key_env"]
    assert not label.isHidden() and "non-printable character" in label.text()


def test_a_file_url_for_the_openai_engine_is_flagged_on_base_url(view: ExperimentView) -> None:
    view.engine_box.setCurrentIndex(view.engine_box.findData("openai"))
    view.form.set_values({"base_url": "file:///etc/passwd"})
    assert view.validate() is None
    assert "http:// or https://" in view.form.error_labels["base_url"].text()


def test_a_batch_one_speculative_method_at_batch_eight_is_flagged(view: ExperimentView) -> None:
    view.form.set_values({"speculative": "prompt-lookup", "batch_size": 8})
    assert view.validate() is None
    assert "batch_size 1 only" in view.form.error_labels["batch_size"].text()


def test_a_huge_pasted_sweep_name_is_an_inline_error(view: ExperimentView, qtbot) -> None:
    view.name_edit.setText("n" * 5_000_000)
    assert view.validate() is None
    _refused(view, "name", "at most 200")
    with qtbot.assertNotEmitted(view.run_requested):
        view.request_run()


@pytest.mark.parametrize(("url", "code", "fragment"), [("nosuchdialect://host/db", 2, "store URL"),
                                                       ("sqlite:///{tmp}/not-a-db.db", 3, "file is not a database")])
def test_a_store_the_gui_cannot_open_is_one_line_and_an_exit_code(url: str, code: int, fragment: str,
                                                                 tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    (tmp_path / "not-a-db.db").write_bytes(b"\x00" * 4096 + b"junk")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "INFERLAB_NO_FIRST_RUN": "1"}
    proc = subprocess.run([sys.executable, "-m", "app.main", "gui", "--smoke", "--settings", str(tmp_path / "s.ini"),
                           "--store", url.format(tmp=tmp_path)], cwd=Path(__file__).resolve().parents[2], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == code, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    assert [line for line in proc.stderr.splitlines() if line.startswith("inferlab gui:")][0].count(fragment) == 1
