"""The first-run dialog: find GPUs and Python environments, choose the engine's environment, prepare the
demo model (with a progress bar) and create the results store; every step says what failed and how to
fix it. Completion is remembered in QSettings (an INI file in the data dir) so it shows once.

The demo model is prepared by `<engine python> -m engine.models prepare` in a QProcess, read through its
signals (never a blocking read on the GUI thread); probes and the store run on background threads.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections import deque
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QProcess, QProcessEnvironment, QSettings, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app import __version__ as app_version
from app.envs import checks
from app.envs.gpus import NvmlReport, discover_gpus
from app.envs.launch import engine_env
from app.envs.probe import EnvReport
from app.envs.pythons import discover_environments
from app.envs.settings import load_settings, save_settings
from app.ui.background import BackgroundCall
from app.ui.first_run_widgets import EnvTable, StepBox
from engine.paths import data_dir

COMPLETED_KEY = "first_run/completed_version"


def first_run_settings() -> QSettings:
    """InferLab's QSettings: an INI file in the data dir (so INFERLAB_DATA_DIR isolates it too)."""
    return QSettings(str(data_dir() / "settings.ini"), QSettings.Format.IniFormat)


def needs_first_run() -> bool:
    """True until the first-run dialog was finished, or when the chosen engine interpreter is gone."""
    if not first_run_settings().value(COMPLETED_KEY, ""):
        return True
    chosen = load_settings().engine_python
    return bool(chosen) and not os.path.exists(chosen)


def _discover(extra: tuple[str, ...]) -> tuple[NvmlReport, list[EnvReport]]:
    nvml = discover_gpus()
    # With a GPU, each probe also imports torch to test CUDA, which can take tens of seconds cold.
    return nvml, discover_environments(cuda=bool(nvml.gpus), timeout_s=90.0 if nvml.gpus else 20.0, extra=extra)


class FirstRunDialog(QDialog):
    """Runs the checks on open. `steps_finished` fires when all four steps have an answer;
    `demo_finished` when a demo-model preparation ends (either way)."""

    steps_finished = Signal()
    demo_finished = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Welcome to InferLab: first-run setup")
        self.setMinimumSize(900, 640)
        saved = load_settings()
        self._extra: list[str] = list(saved.extra_pythons)
        self._preferred = saved.engine_python
        self._envs: list[EnvReport] = []
        self._nvml: NvmlReport | None = None
        self._calls: list[BackgroundCall] = []
        self._discovery: BackgroundCall | None = None
        self._qualification: BackgroundCall | None = None
        self._probed: checks.Check | None = None
        self._demo_after_qualifying = False
        self._process: QProcess | None = None
        self._stdout_buffer = ""
        self._stderr_tail: deque[str] = deque(maxlen=12)
        self._demo_answered = False
        self._build()
        self.run_checks()

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("InferLab checks this machine once. The engine runs in a Python environment "
                                "of your choice; the app itself never loads torch."))
        self.gpu_step = StepBox("1. GPUs, NVIDIA driver and CUDA")
        self.python_step = StepBox("2. Python environment for the engine")
        self.envs_table = EnvTable()
        self.envs_table.setMinimumHeight(150)
        self.env_combo = QComboBox()
        self.env_combo.activated.connect(self._on_env_chosen)
        add = QPushButton("Add interpreter…")
        add.clicked.connect(self._add_interpreter)
        row = QHBoxLayout()
        row.addWidget(QLabel("Engine environment:"))
        row.addWidget(self.env_combo, 1)
        row.addWidget(add)
        self.python_step.layout().addWidget(self.envs_table)
        self.python_step.layout().addLayout(row)
        self.demo_step = StepBox("3. Demo model (SmolLM2-135M-Instruct)")
        self.demo_progress = QProgressBar()
        self.demo_progress.setRange(0, 100)
        self.demo_step.layout().addWidget(self.demo_progress)
        self.store_step = StepBox("4. Results store")
        for step in (self.gpu_step, self.python_step, self.demo_step, self.store_step):
            layout.addWidget(step)
        buttons = QDialogButtonBox()
        self.retry_button = buttons.addButton("Check again", QDialogButtonBox.ButtonRole.ResetRole)
        self.finish_button = buttons.addButton("Finish", QDialogButtonBox.ButtonRole.AcceptRole)
        skip = buttons.addButton("Skip for now", QDialogButtonBox.ButtonRole.RejectRole)
        self.retry_button.clicked.connect(self.run_checks)
        self.finish_button.clicked.connect(self.finish)
        skip.clicked.connect(self.reject)
        layout.addWidget(buttons)

    @property
    def steps(self) -> dict[str, StepBox]:
        return {"gpu": self.gpu_step, "python": self.python_step, "demo-model": self.demo_step,
                "store": self.store_step}

    @property
    def chosen_env(self) -> EnvReport | None:
        return checks.choose_engine_env(self._envs, self._preferred)

    def run_checks(self) -> None:
        """(Re)run every step: discovery, then the demo model, then the store."""
        self.finish_button.setEnabled(False)
        self.retry_button.setEnabled(False)
        for step in self.steps.values():
            step.set_state("pending", "Waiting")
        self.gpu_step.set_state("running", "Asking NVML about NVIDIA GPUs…")
        self.python_step.set_state("running", "Probing Python environments (each in its own process)…")
        extra = tuple(self._extra)
        self._discovery = self._in_background(lambda: _discover(extra), self._on_discovered,
                                              self._on_discovery_failed)

    def _in_background(self, fn: Callable[[], Any], on_done: Callable[[Any], None],
                       on_failed: Callable[[str], None]) -> BackgroundCall:
        call = BackgroundCall(fn, "inferlab-first-run")
        call.done.connect(on_done)  # bound methods: Qt drops the connection if the dialog is deleted
        call.failed.connect(on_failed)
        self._calls.append(call)
        return call.start()

    def _is_stale(self) -> bool:
        """A discovery answer superseded by a newer 'Check again' / added interpreter."""
        return self.sender() is not self._discovery

    def _on_discovery_failed(self, message: str) -> None:
        if self._is_stale():
            return
        self.gpu_step.set_state("error", "Discovery failed", (message,), "run `inferlab doctor` in a terminal")
        self.python_step.set_state("error", "Discovery failed", (message,), "run `inferlab doctor` in a terminal")
        self._start_store()

    def _on_discovered(self, found: tuple[NvmlReport, list[EnvReport]]) -> None:
        if self._is_stale():
            return
        self._nvml, self._envs = found
        self.gpu_step.set_check(checks.check_gpus(self._nvml))
        self.envs_table.show_envs(self._envs)
        self._show_env_choice()
        self._qualify_engine(then_demo=True)

    def _show_env_choice(self) -> None:
        chosen = self.chosen_env
        self.env_combo.clear()
        for env in self._envs:
            if env.can_host_engine or env is chosen:
                self.env_combo.addItem(f"{env.python} ({env.source})", env.python)
        if chosen is not None:
            self.env_combo.setCurrentIndex(self.env_combo.findData(chosen.python))

    def _on_env_chosen(self, index: int) -> None:
        self._preferred = self.env_combo.itemData(index)
        self._show_env_choice()
        self._qualify_engine(then_demo=self.demo_step.status == "error")

    def _qualify_engine(self, then_demo: bool) -> None:
        """Step 2: the probe's answer about the chosen environment, then, as `inferlab doctor` does, the
        engine file (zipapp) run there with `--check` (in the background); then the demo model if asked."""
        chosen = self.chosen_env
        assert self._nvml is not None
        self._probed = dataclasses.replace(checks.check_environments(self._envs, chosen, self._nvml),
                                           details=())  # the table shows them
        self._demo_after_qualifying = then_demo
        if self._probed.status == "error" or chosen is None:
            self._qualification = None
            self._show_qualified(None)
            return
        self.python_step.set_state("running", f"Running the engine file in {chosen.python} (--check)…")
        self._qualification = self._in_background(lambda: checks.check_engine_artifact(chosen),
                                                  self._on_engine_ran, self._on_engine_run_failed)

    def _on_engine_ran(self, ran: checks.Check) -> None:
        if self.sender() is self._qualification:  # else superseded by another choice or discovery
            self._show_qualified(ran)

    def _on_engine_run_failed(self, message: str) -> None:
        if self.sender() is self._qualification:
            self._show_qualified(checks.Check("engine", "error", "Running the engine file failed", (message,),
                                              checks.SETUP_HINT))

    def _show_qualified(self, ran: checks.Check | None) -> None:
        """Step 2's answer: the probe's check, or the engine file's error, with what the file said it runs."""
        probed = self._probed
        assert probed is not None
        if ran is None or ran.status == "error":
            self.python_step.set_check(ran or probed)
        else:
            self.python_step.set_state(probed.status, probed.summary, (ran.summary,),
                                       probed.fix if probed.status != "ok" else "")
        if self._demo_after_qualifying:
            self._start_demo_model()

    def _add_interpreter(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a Python interpreter", os.path.expanduser("~"))
        if path:
            self.add_interpreter(path)

    def add_interpreter(self, path: str) -> None:
        """Probe `path` too and prefer it as the engine environment (re-runs the checks)."""
        self._extra.append(os.path.abspath(path))
        self._preferred = os.path.abspath(path)
        self.run_checks()

    # -- demo model ---------------------------------------------------------------------------------
    def _start_demo_model(self) -> None:
        chosen = self.chosen_env
        check = checks.check_demo_model(chosen)
        if chosen is None or self.python_step.status == "error":
            self.demo_step.set_state("error", "Cannot prepare the demo model without a working engine "
                                     "environment (see step 2)", check.details, checks.SETUP_HINT)
            self._after_demo()
        elif check.status == "error":
            self.demo_step.set_check(check)
            self._after_demo()
        else:
            self.prepare_demo_model(chosen.python)

    def prepare_demo_model(self, python: str) -> None:
        """Start `python -m engine.models prepare`; progress lines drive the bar and the step's text."""
        self._kill_process()
        self._demo_answered = False
        self._stdout_buffer = ""
        self._stderr_tail.clear()
        self.finish_button.setEnabled(False)
        self.demo_progress.setValue(0)
        self.demo_step.set_state("running", f"Preparing the demo model with {python}…")
        process = QProcess(self)
        environment = QProcessEnvironment()
        for key, value in engine_env().items():
            environment.insert(key, value)
        process.setProcessEnvironment(environment)
        process.readyReadStandardOutput.connect(self._on_demo_stdout)
        process.readyReadStandardError.connect(self._on_demo_stderr)
        process.finished.connect(self._on_demo_exit)
        process.errorOccurred.connect(self._on_demo_process_error)
        self._process = process
        process.start(python, ["-m", "engine.models", "prepare"])

    def _on_demo_stdout(self) -> None:
        assert self._process is not None
        self._stdout_buffer += bytes(self._process.readAllStandardOutput().data()).decode(errors="replace")
        *lines, self._stdout_buffer = self._stdout_buffer.split("\n")
        for line in lines:
            try:
                event = json.loads(line)
            except ValueError:
                continue  # not a progress line
            if isinstance(event, dict):
                self._on_demo_event(event)

    def _on_demo_event(self, event: dict) -> None:
        kind = event.get("event")
        if kind == "progress":
            self.demo_progress.setValue(int(100 * float(event.get("fraction", 0))))
            self.demo_step.set_state("running", str(event.get("message", "")))
        elif kind == "done":
            self._demo_answered = True
            self.demo_progress.setValue(100)
            how = "already prepared" if event.get("cached") else f"prepared in {event.get('elapsed_s')} s"
            self.demo_step.set_state("ok", f"Demo model ready ({how})", (str(event.get("path", "")),))
        elif kind == "error":
            self._demo_answered = True
            self.demo_step.set_state("error", f"Preparing the demo model failed: {event.get('message')}",
                                     tuple(self._stderr_tail), str(event.get("fix", "")))

    def _on_demo_stderr(self) -> None:
        assert self._process is not None
        text = bytes(self._process.readAllStandardError().data()).decode(errors="replace")
        self._stderr_tail.extend(line for line in text.replace("\r", "\n").splitlines() if line.strip())

    def _on_demo_exit(self, exit_code: int, exit_status: QProcess.ExitStatus) -> None:
        self._on_demo_stdout()
        if not self._demo_answered:
            how = "crashed" if exit_status == QProcess.ExitStatus.CrashExit else f"exited with code {exit_code}"
            self.demo_step.set_state("error", f"Preparing the demo model failed: the process {how}",
                                     tuple(self._stderr_tail), self._demo_manual_fix())
        self._after_demo()

    def _on_demo_process_error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            assert self._process is not None
            self.demo_step.set_state("error", f"Could not start {self._process.program()}: "
                                     f"{self._process.errorString()}", (), "choose another engine environment")
            self._after_demo()

    def _demo_manual_fix(self) -> str:
        python = self._process.program() if self._process else "python"
        return (f"see the output above; to retry by hand: PYTHONPATH={engine_env()['PYTHONPATH'].split(os.pathsep)[0]} "
                f"{python} -m engine.models prepare")

    def _after_demo(self) -> None:
        self.demo_finished.emit()
        self._start_store()

    def _kill_process(self) -> None:
        if self._process is not None and self._process.state() != QProcess.ProcessState.NotRunning:
            self._process.finished.disconnect(self._on_demo_exit)
            self._process.kill()
            self._process.waitForFinished(3000)

    # -- store and finish ---------------------------------------------------------------------------
    def _start_store(self) -> None:
        self.store_step.set_state("running", "Creating the results store…")
        self._in_background(lambda: checks.check_store(create=True), self._on_store_checked, self._on_store_failed)

    def _on_store_failed(self, message: str) -> None:
        self._on_store_checked(checks.Check("store", "error", "Store check failed", (message,),
                                            "run `inferlab doctor` in a terminal"))

    def _on_store_checked(self, check: checks.Check) -> None:
        self.store_step.set_check(check)
        self.retry_button.setEnabled(True)
        self.finish_button.setEnabled(all(s.status in ("ok", "warning") for s in self.steps.values()))
        self.steps_finished.emit()

    def finish(self) -> None:
        """Remember the chosen environment and that the first run is done, then close."""
        chosen = self.chosen_env
        save_settings(dataclasses.replace(load_settings(), engine_python=chosen.python if chosen else None,
                                          extra_pythons=sorted(set(self._extra))))
        settings = first_run_settings()
        settings.setValue(COMPLETED_KEY, app_version)
        settings.sync()
        self.accept()

    def done(self, result: int) -> None:
        self._kill_process()
        super().done(result)
