"""Screenshots of every view with real data, for the README: runs a small real sweep on the demo model
through the window (Experiment → Live), then grabs the Runs and Compare views over the stored runs.

Usage (needs an X server for real fonts):
  xvfb-run -a -s "-screen 0 1600x1000x24" env QT_QPA_PLATFORM=xcb .venv/bin/python bench/gui_screenshots.py
Writes assets/screenshots/*.png (or the folder given as the first argument). With a store URL as the
second argument it skips the sweep (and the Live shot) and shoots the runs already in that store.

The compression comparison (Compare's Pareto tab: speed vs greedy agreement, peak RSS as marker area) is shot
from a store of compressed and speculative runs with the quality guard, e.g. the `compression-cpu` sweep:
  xvfb-run -a -s "-screen 0 1600x1000x24" env QT_QPA_PLATFORM=xcb .venv/bin/python bench/gui_screenshots.py \
      --compression URL [FOLDER]

Remote and cluster shots (a Machine picker over the hosts of an SSH config written here, no connection
made; then a real 4-trial sweep on a local Ray cluster with two logical GPUs, the Live view's
placement table):
  xvfb-run -a -s "-screen 0 1600x1000x24" env QT_QPA_PLATFORM=xcb .venv/bin/python bench/gui_screenshots.py \
      --remote [FOLDER]

The series view and a per-group landscape need a study's worth of runs; shoot them from a store holding
the seed study's import (`inferlab import allData.csv --map profiles/imports/infpop-a100.toml --store URL`):
  xvfb-run -a -s "-screen 0 1600x1000x24" env QT_QPA_PLATFORM=xcb .venv/bin/python bench/gui_screenshots.py \
      --study URL [FOLDER]
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SIZE = (1500, 940)


STUDY_MODELS = ("Bloom-1b7", "Codellama-7b-hf", "Codellama-13b-hf", "Mistral-7b")


def _store_window(url: str) -> tuple[object, object]:
    """(QApplication, the main window shown over the store at `url`)."""
    os.environ.setdefault("INFERLAB_NO_FIRST_RUN", "1")
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from app.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    tmp = Path(tempfile.mkdtemp(prefix="inferlab-shots-"))
    window = MainWindow(QSettings(str(tmp / "s.ini"), QSettings.Format.IniFormat), url)
    window.resize(*SIZE)
    window.show()
    window.finish_startup()
    return app, window


def compression_shot(url: str, out: Path) -> int:
    """compression-compare.png: the ok runs that carry a quality guard, on Compare's Pareto tab."""
    from app.store import Store
    from app.ui.main_window import TAB_COMPARE

    app, window = _store_window(url)
    with Store(url) as store:
        ids = [r.id for r in store.list_runs(limit=None, status="ok") if r.value("quality_agreement") is not None]
    compare = window.compare
    window.tabs.setCurrentIndex(TAB_COMPARE)
    compare.show_runs(ids)
    compare.tabs.setCurrentIndex(compare.tabs.indexOf(compare.pareto.parentWidget()))
    _grab(app, window, out / "compression-compare.png")
    window.close()
    return 0 if ids else 1


def study_shots(url: str, out: Path) -> int:
    """series.png (throughput vs batch size, a line per engine and GPU count, a panel per model) and
    landscape-grouped.png (batch size × GPU count of one model and engine) from a study import."""
    from app.store import Store
    from app.ui.main_window import TAB_COMPARE

    app, window = _store_window(url)
    with Store(url) as store:
        runs = [r for r in store.list_runs(limit=None) if r.model in STUDY_MODELS]
    compare = window.compare
    window.tabs.setCurrentIndex(TAB_COMPARE)
    compare.show_runs([r.id for r in runs])
    compare.tabs.setCurrentIndex(compare.tabs.indexOf(compare.series.parentWidget()))
    _grab(app, window, out / "series.png")
    compare.show_runs([r.id for r in runs if r.model == "Codellama-13b-hf"])
    compare.tabs.setCurrentIndex(compare.tabs.indexOf(compare.landscape.parentWidget()))
    compare.x_param.setCurrentText("batch_size")
    compare.y_param.setCurrentText("num_gpus")
    compare.land_group.setCurrentText("engine")
    compare.land_group_value.setCurrentText("vllm")
    _grab(app, window, out / "landscape-grouped.png")
    window.close()
    return 0


SSH_CONFIG = """\
Host bastion
  HostName bastion.lab.example
Host gpu-a100-1 gpu-a100-2
  HostName %h.lab.example
  User bench
Host h100-node
  HostName 10.0.4.17
  ProxyJump bastion
Host *.lab.example
  IdentitiesOnly yes
"""


def remote_shots(out: Path) -> int:
    """machine-picker.png (the picker open over an SSH config's hosts, an engine Python set for one) and
    cluster-placement.png (Live after a real sweep on a local Ray cluster: node and GPUs per trial)."""
    tmp = Path(tempfile.mkdtemp(prefix="inferlab-shots-"))
    from engine.paths import data_dir

    models = data_dir() / "models"  # the materialized demo model, before the data dir moves
    os.environ["INFERLAB_DATA_DIR"] = str(tmp / "data")  # the host Python is saved here, not for the user
    (tmp / "data").mkdir()
    (tmp / "data" / "models").symlink_to(models)
    (tmp / "ssh_config").write_text(SSH_CONFIG)
    os.environ["INFERLAB_SSH_CONFIG"] = str(tmp / "ssh_config")
    os.environ.setdefault("INFERLAB_NO_FIRST_RUN", "1")
    import ray
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from app.ui.main_window import TAB_EXPERIMENT, TAB_LIVE, MainWindow

    app = QApplication.instance() or QApplication([])
    window = MainWindow(QSettings(str(tmp / "s.ini"), QSettings.Format.IniFormat), f"sqlite:///{tmp / 'runs.db'}")
    window.resize(*SIZE)
    window.show()
    window.finish_startup()
    exp = window.experiment
    window.tabs.setCurrentIndex(TAB_EXPERIMENT)
    exp.machine_box.setCurrentIndex(exp.machine_box.findData("h100-node"))
    exp.set_host_python("/opt/vllm-env/bin/python")
    exp.machine_box.showPopup()  # the chosen (last) host sits on the box: the label below stays visible
    for _ in range(10):
        app.processEvents()
    corner = window.mapToGlobal(window.rect().topLeft())
    screen = app.primaryScreen().grabWindow(0, corner.x(), corner.y(), window.width(), window.height())
    screen.save(str(out / "machine-picker.png"), "PNG")  # the screen, so that the open list shows
    print("wrote", out / "machine-picker.png")
    exp.machine_box.hidePopup()
    exp.machine_box.setCurrentIndex(0)

    ray.init(num_cpus=2, num_gpus=2, include_dashboard=False, log_to_driver=False,
             _temp_dir=tempfile.mkdtemp(prefix="ray", dir="/tmp"))
    window.settings.setValue("cluster", "auto")
    exp.form.set_values({"device": "auto", "input_tokens": 8, "num_requests": 1, "warmup_requests": 0,
                         "repetitions": 1, "idle_baseline_s": 0.0, "output_tokens": 2})
    exp.sweep.add_axis("batch_size", "1, 2, 3, 4")
    exp.sweep.strategy.setCurrentText("grid")
    exp.name_edit.setText("cluster-sweep")
    exp.validate()
    finished: list[object] = []
    window.controller.finished.connect(lambda sid: (finished.append(sid), QTimer.singleShot(500, app.quit)))
    window.controller.failed.connect(lambda msg: print("sweep failed:", msg))
    exp.request_run()
    app.exec()
    window.tabs.setCurrentIndex(TAB_LIVE)
    _grab(app, window, out / "cluster-placement.png")
    window.close()
    ray.shutdown()
    return 0 if finished else 1


def _grab(app: object, window: object, path: Path) -> None:
    for _ in range(5):
        app.processEvents()  # type: ignore[attr-defined]
    window.grab().save(str(path), "PNG")  # type: ignore[attr-defined]
    print("wrote", path)


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--remote":
        folder = Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT / "assets" / "screenshots"
        folder.mkdir(parents=True, exist_ok=True)
        return remote_shots(folder)
    if len(sys.argv) > 2 and sys.argv[1] in ("--study", "--compression"):
        folder = Path(sys.argv[3]) if len(sys.argv) > 3 else ROOT / "assets" / "screenshots"
        folder.mkdir(parents=True, exist_ok=True)
        return (study_shots if sys.argv[1] == "--study" else compression_shot)(sys.argv[2], folder)
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "assets" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("INFERLAB_NO_FIRST_RUN", "1")
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from app.ui.main_window import TAB_COMPARE, TAB_EXPERIMENT, TAB_LIVE, TAB_RUNS, MainWindow

    app = QApplication.instance() or QApplication([])
    tmp = Path(tempfile.mkdtemp(prefix="inferlab-shots-"))
    reuse = sys.argv[2] if len(sys.argv) > 2 else None
    window = MainWindow(QSettings(str(tmp / "s.ini"), QSettings.Format.IniFormat),
                        reuse or f"sqlite:///{tmp / 'runs.db'}")
    window.resize(*SIZE)
    window.show()
    window.finish_startup()
    exp = window.experiment
    # Small on purpose: four real trials on two shared cores take minutes.
    exp.form.set_values({"input_tokens": 8, "num_requests": 2, "warmup_requests": 0, "repetitions": 1,
                         "idle_baseline_s": 0.0})
    exp.sweep.add_axis("batch_size", "1, 2")
    exp.sweep.add_axis("output_tokens", "4, 8")
    exp.sweep.strategy.setCurrentText("grid")
    exp.sweep.constraints_edit.setPlainText("ttft_ms_p99 <= 2000")
    exp.name_edit.setText("readme-sweep")
    exp.validate()

    def grab(name: str, tab: int) -> None:
        window.tabs.setCurrentIndex(tab)
        _grab(app, window, out / f"{name}.png")

    grab("experiment", TAB_EXPERIMENT)
    finished: list[object] = []

    def on_event(event: dict) -> None:
        if event.get("type") == "trial-finished" and event.get("index") == 2:
            QTimer.singleShot(300, lambda: grab("live", TAB_LIVE))

    window.controller.event.connect(on_event)
    window.controller.finished.connect(lambda sid: (finished.append(sid), app.quit()))
    window.controller.failed.connect(lambda msg: print("sweep failed:", msg))
    if reuse:
        finished.append(None)
    else:
        exp.request_run()
        app.exec()
    window.runs.refresh()
    window.runs.table.selectAll()
    grab("runs", TAB_RUNS)
    window.runs.request_compare()
    compare = window.compare
    for index, name in enumerate(("compare-bars", "compare-landscape", "compare-pareto", "compare-telemetry")):
        compare.tabs.setCurrentIndex(index)
        grab(name, TAB_COMPARE)
    window.set_theme("light")
    compare.tabs.setCurrentIndex(0)
    grab("compare-bars-light", TAB_COMPARE)
    window.close()
    return 0 if finished else 1


if __name__ == "__main__":
    sys.exit(main())
