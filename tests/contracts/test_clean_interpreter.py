"""The GUI and the app core never import torch, transformers or vLLM: checked in a clean interpreter.

In the test process another test (or a fixture) may already have imported them, so an in-process
`"torch" not in sys.modules` proves nothing; a fresh child interpreter that builds the window, opens
Help → About (which probes the engine environment) and runs the CUDA probe does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "transformers", "vllm")

SCRIPT = r"""
import json, sys
from PySide6.QtCore import QEventLoop, QSettings, QTimer
from PySide6.QtWidgets import QApplication

qt_app = QApplication(sys.argv[:1])
import app.cli.main, app.reports.export, app.sweeps.runner
from app.envs.probe import run_probe
from app.ui.about_dialog import AboutDialog
from app.ui.main_window import MainWindow

window = MainWindow(QSettings(sys.argv[1], QSettings.Format.IniFormat), sys.argv[2], None, probe_worker=True)
window.show()
window.finish_startup()
dialog = AboutDialog()
loop = QEventLoop()
dialog.probed.connect(loop.quit)
QTimer.singleShot(90_000, loop.quit)
dialog.show()
loop.exec()
cuda = run_probe(sys.executable, cuda=True, timeout_s=120).cuda
print(json.dumps({"probed": dialog.versions_text(), "cuda": cuda,
                  "heavy": sorted(m for m in sys.modules if m.split(".")[0] in HEAVY)}))
""".replace("HEAVY", repr(HEAVY))


def test_gui_cli_and_probes_never_import_an_inference_library(tmp_path: Path, data_dir: Path) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "s.ini"),
                           f"sqlite:///{tmp_path / 'store.db'}"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "torch" in report["probed"] and report["cuda"] is not None  # the probes really ran, in children
    assert report["heavy"] == []
