"""Experiment view: model, engine and machine pickers, the option form, the sweep editor, run/pause/cancel.

The machine is this computer or a host of the user's ~/.ssh/config (`app.core.ssh_hosts`); the
profile carries it (`host`) and the sweep's workers run there over SSH, with the engine Python saved
for that host (`app.envs.settings.host_pythons`, set with its "Python…" button; default python3).

Every edit re-validates through the profile parser, the one validation pass the CLI uses too (option
types and ranges, finite numbers, text limits, local paths, rules between options, every trial of a
grid), so an invalid value is flagged next to its field before anything launches. Profiles load from
and save to TOML (`profiles/`, or a .toml dropped on the view); a file the parser refuses is reported
in the validation line, never as a traceback.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QStandardItemModel
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.core.ssh_hosts import ssh_config_hosts
from app.envs.settings import host_python, save_host_python
from app.shipped import shipped_dir
from app.sweeps import ProfileError
from app.sweeps.fairness import fairness_warnings
from app.sweeps.profile import MAX_NAME_CHARS
from app.sweeps.profile_parse import union_options
from app.ui.option_form import OptionForm
from app.ui.sweep_editor import SweepEditor
from app.ui.trial_sizing import sized_defaults
from engine import registry
from engine.config import TrialConfig, all_options
from engine.errors import ConfigError
from engine.models.resolve import list_hf_cache_models
from engine.schema import check_text

log = logging.getLogger("inferlab.ui.experiment_view")


class ExperimentView(QWidget):
    """Builds a validated profile from the form; `run_requested` carries it to the window."""

    run_requested = Signal(object)
    pause_requested = Signal()
    cancel_requested = Signal()
    profile_loaded = Signal(str)

    def __init__(self, recent_models: list[str] | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAcceptDrops(True)
        self.hello: dict[str, Any] | None = None
        self.profile_path: Path | None = None
        self.engine_options: dict[str, dict[str, Any]] = {}  # a loaded profile's [options.ENGINE] tables
        self.model_box = QComboBox()
        self.model_box.setEditable(True)
        self.model_box.setObjectName("modelBox")
        self.folder_button = QPushButton("Folder…")
        self.gguf_button = QPushButton(".gguf…")
        self.url_edit = QLineEdit()
        self.url_edit.setPlaceholderText("OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1")
        self.engine_box = QComboBox()
        for name in registry.names():
            self.engine_box.addItem(name, name)
        self.engine_box.setCurrentText("hf-generate")
        self.machine_box = QComboBox()
        self.machine_box.setObjectName("machineBox")
        self.machine_box.addItem("This computer", None)
        for host in ssh_config_hosts():
            self.machine_box.addItem(host, host)
        self.machine_box.setToolTip("Where the workers run: this computer, or a Host of ~/.ssh/config (over "
                                    "ssh with your keys; the engine is copied there once per version)")
        self.host_python_button = QPushButton("Python…")
        self.host_python_button.setObjectName("hostPythonButton")
        self.host_python_button.setToolTip("The interpreter on the chosen host that runs the engine (one with "
                                           "torch/transformers or vLLM); saved per host, no secrets")
        self.host_python_label = QLabel()
        self.host_python_label.setObjectName("hostPythonLabel")
        self.host_python_label.setWordWrap(True)
        self.engine_status = QLabel("Checking engines in a worker…")
        self.engine_status.setWordWrap(True)
        self.defaults_note = QLabel()  # what the first trial's defaults were sized to (set_hello)
        self.defaults_note.setObjectName("defaultsNote")
        self.defaults_note.setWordWrap(True)
        self.form = OptionForm(skip=("model",))
        self.sweep = SweepEditor()
        self.name_edit = QLineEdit("gui-sweep")
        self.validation_label = QLabel()
        self.validation_label.setObjectName("validationLabel")
        self.validation_label.setWordWrap(True)
        self.run_button = QPushButton("Run (Ctrl+R)")
        self.run_button.setObjectName("runButton")
        self.pause_button = QPushButton("Pause after trial")
        self.cancel_button = QPushButton("Cancel (Esc)")
        self.load_button = QPushButton("Load profile…")
        self.save_button = QPushButton("Save profile…")
        self.pause_button.setEnabled(False)
        self.cancel_button.setEnabled(False)
        self._validate_timer = QTimer(self)
        self._validate_timer.setSingleShot(True)
        self._validate_timer.setInterval(150)
        self._validate_timer.timeout.connect(self.validate)
        self._fill_models(recent_models or [])
        self._build_layout()
        self._connect()
        self._engine_changed()
        self._machine_changed()

    # -- layout --------------------------------------------------------------------------------------
    def _build_layout(self) -> None:
        model_row = QHBoxLayout()
        model_row.addWidget(self.model_box, 1)
        model_row.addWidget(self.folder_button)
        model_row.addWidget(self.gguf_button)
        source = QGroupBox("Model and engine")
        source_form = QFormLayout(source)
        source_form.addRow("Model", model_row)
        source_form.addRow("Server URL", self.url_edit)
        source_form.addRow("Engine", self.engine_box)
        machine_row = QHBoxLayout()
        machine_row.addWidget(self.machine_box, 1)
        machine_row.addWidget(self.host_python_button)
        source_form.addRow("Machine", machine_row)
        source_form.addRow("", self.host_python_label)
        source_form.addRow("", self.engine_status)
        source_form.addRow("", self.defaults_note)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.form)
        options = QGroupBox("Hyperparameters (hover a field for its meaning)")
        QVBoxLayout(options).addWidget(scroll)
        left = QVBoxLayout()
        left.addWidget(source)
        left.addWidget(options, 1)
        sweep_box = QGroupBox("Sweep")
        sweep_layout = QVBoxLayout(sweep_box)
        name_row = QHBoxLayout()
        name_row.addWidget(QLabel("Name"))
        name_row.addWidget(self.name_edit, 1)
        name_row.addWidget(self.load_button)
        name_row.addWidget(self.save_button)
        sweep_layout.addLayout(name_row)
        sweep_layout.addWidget(self.sweep, 1)
        actions = QHBoxLayout()
        actions.addWidget(self.run_button)
        actions.addWidget(self.pause_button)
        actions.addWidget(self.cancel_button)
        right = QVBoxLayout()
        right.addWidget(sweep_box, 1)
        right.addWidget(self.validation_label)
        right.addLayout(actions)
        layout = QHBoxLayout(self)
        layout.addLayout(left, 3)
        layout.addLayout(right, 2)

    def _connect(self) -> None:
        self.engine_box.currentIndexChanged.connect(self._engine_changed)
        self.machine_box.currentIndexChanged.connect(self._machine_changed)
        self.host_python_button.clicked.connect(self._ask_host_python)
        self.model_box.currentTextChanged.connect(self._schedule_validate)
        self.url_edit.editingFinished.connect(self._url_changed)
        self.form.changed.connect(self._schedule_validate)
        self.sweep.changed.connect(self._schedule_validate)
        self.sweep.strategy.currentIndexChanged.connect(self._schedule_validate)
        self.folder_button.clicked.connect(self._pick_folder)
        self.gguf_button.clicked.connect(self._pick_gguf)
        self.run_button.clicked.connect(self.request_run)
        self.pause_button.clicked.connect(self.pause_requested)
        self.cancel_button.clicked.connect(self.cancel_requested)
        self.load_button.clicked.connect(self._pick_profile)
        self.save_button.clicked.connect(self._save_profile_dialog)

    # -- machine ---------------------------------------------------------------------------------------
    def _machine_changed(self) -> None:
        host = self.machine_box.currentData()
        self.host_python_button.setEnabled(host is not None)
        self.host_python_label.setVisible(host is not None)
        if host is not None:
            self.host_python_label.setText(f"Engine Python on {host}: {host_python(host)}")

    def _ask_host_python(self) -> None:
        host = self.machine_box.currentData()
        python, ok = QInputDialog.getText(self, f"Engine Python on {host}",
                                          f"Path of the Python on {host} that runs the engine (empty: python3):",
                                          text=host_python(host))
        if ok:
            self.set_host_python(python)

    def set_host_python(self, python: str) -> None:
        """Save `python` as the engine Python of the chosen host (empty: python3 again)."""
        save_host_python(self.machine_box.currentData(), python)
        self._machine_changed()

    def _fill_models(self, recent: list[str]) -> None:
        self.model_box.addItem("demo")
        for spec in [*recent, *list_hf_cache_models()]:
            if self.model_box.findText(spec) < 0:
                self.model_box.addItem(spec)
        self.model_box.setCurrentText("demo")

    # -- engine availability -------------------------------------------------------------------------
    def set_hello(self, hello: dict[str, Any]) -> None:
        """Apply a worker's hello: unavailable engines and GPU-only choices are disabled with the reason."""
        self.hello = hello
        model = self.engine_box.model()
        lines = []
        for i in range(self.engine_box.count()):
            name = self.engine_box.itemData(i)
            avail = hello.get("backends", {}).get(name, {})
            ok, reason = bool(avail.get("available")), str(avail.get("reason", ""))
            lines.append(f"{name}: {'available' if ok else 'unavailable'} ({reason})")
            if isinstance(model, QStandardItemModel):
                item = model.item(i)
                item.setEnabled(ok)
                item.setToolTip(reason)
                item.setText(name if ok else f"{name} — unavailable")
        self.engine_status.setText("\n".join(lines))
        self._apply_hardware_limits()
        self._size_trial()

    def _size_trial(self) -> None:
        """Start from a trial sized to the reported machine (`app.ui.trial_sizing`), changing only the
        fields still at the engine's default and not after a profile was loaded."""
        assert self.hello is not None
        defaults = {k: i.default for k, i in all_options(self.engine_box.currentData()).items()}
        values, note = sized_defaults(self.hello, defaults)
        shown = self.form.values()
        if self.profile_path is None:
            self.form.set_values({k: v for k, v in values.items() if k in shown and shown[k] == defaults[k]})
        self.defaults_note.setText(note)
        self.defaults_note.setToolTip(str((self.hello.get("gpus") or {}).get("reason") or ""))

    def _apply_hardware_limits(self) -> None:
        gpus = (self.hello or {}).get("gpus") or {}
        if self.hello is None or gpus.get("count", 0):
            return
        reason = f"{registry.GPU_ONLY_REASON}; " + (gpus.get("reason") or "none found")
        for option, choices in registry.spec(self.engine_box.currentData()).gpu_only.items():
            for choice in choices:
                self.form.disable_choice(option, choice, reason)

    def _engine_changed(self) -> None:
        engine = self.engine_box.currentData()
        self.form.set_engine(engine)
        self.sweep.set_options(all_options(engine))
        self._apply_hardware_limits()
        self._schedule_validate()

    def _url_changed(self) -> None:
        url = self.url_edit.text().strip()
        if not url:
            return
        self.engine_box.setCurrentIndex(self.engine_box.findData("openai"))
        self.form.set_values({"base_url": url})

    # -- model pickers -------------------------------------------------------------------------------
    def _pick_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Model folder (with config.json)")
        if path:
            self.model_box.setCurrentText(path)

    def _pick_gguf(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "GGUF model file", "", "GGUF (*.gguf)")
        if path:
            self.model_box.setCurrentText(path)

    # -- validation and profiles ---------------------------------------------------------------------
    def flat_config(self) -> dict[str, Any]:
        return {"engine": self.engine_box.currentData(), "model": self.model_box.currentText().strip(),
                **self.form.values()}

    def _schedule_validate(self) -> None:
        self._validate_timer.start()

    def validate(self) -> TrialConfig | None:
        """Check the form and the sweep (the whole profile they make); flag the offending field and
        return None if invalid."""
        self._validate_timer.stop()
        try:
            config = TrialConfig.from_flat(self.flat_config())
            profile = self.build_profile()  # paths, text limits, rules over every trial of the sweep
        except ConfigError as exc:
            return self._invalid(exc.field, exc.message)
        except ProfileError as exc:
            return self._invalid(_form_field(exc.key), exc.message)
        self.form.clear_errors()
        warnings = fairness_warnings(profile)
        self.validation_label.setText("Ready: the configuration is valid."
                                      + "".join(f"\nWarning: {w}" for w in warnings))
        self.validation_label.setProperty("invalid", False)
        self.run_button.setEnabled(not self.cancel_button.isEnabled())
        return config

    def _invalid(self, field: str, message: str) -> None:
        shown = self.form.show_error(field, message)
        if field == "model":
            self.model_box.setToolTip(message)
        self.validation_label.setText(f"Invalid: {field} — {message}")
        self.validation_label.setProperty("invalid", True)
        if not shown:
            self.form.clear_errors()
        self.run_button.setEnabled(False)

    def build_profile(self) -> Any:
        """A validated Profile from the form and the sweep editor (raises ConfigError/ProfileError)."""
        from app.sweeps import dump_profile, parse_profile
        from app.sweeps.profile import Profile

        config = TrialConfig.from_flat(self.flat_config())
        flat = config.to_flat()
        defaults = {k: i.default for k, i in all_options(config.engine).items()}
        axes = self.sweep.axes()
        swept = {a.name for a in axes}
        base = {k: v for k, v in flat.items()
                if k not in swept and (k in ("engine", "model") or v != defaults.get(k))}
        engines = next((a.values for a in axes if a.name == "engine"), None)
        own: dict[str, dict[str, Any]] = {}
        if engines is not None:
            base, own = split_by_engine(base, config.engine, tuple(map(str, engines)), self.engine_options)
        strategy = self.sweep.strategy.currentText()
        n_trials = self.sweep.n_trials.value() or None
        timeout_s = self.sweep.timeout_min.value() * 60.0 or None
        name = check_text(self.name_edit.text().strip() or "gui-sweep", "name", MAX_NAME_CHARS)
        draft = Profile(name, "Built in the InferLab window.", base,
                        axes, strategy, n_trials, timeout_s, int(flat.get("seed", 0)),
                        self.sweep.objectives(), self.sweep.constraints(), host=self.machine_box.currentData(),
                        engine_options=own)
        return parse_profile(dump_profile(draft), "<experiment form>")

    def request_run(self) -> None:
        if self.validate() is None:
            return
        try:
            profile = self.build_profile()
        except (ConfigError, ProfileError) as exc:  # names its key; shown rather than launched
            log.info("sweep not launched: %s", exc)  # the user's input, not a bug: no traceback
            self.validation_label.setText(f"Invalid sweep: {exc}")
            return
        self.run_requested.emit(profile)

    def set_running(self, running: bool) -> None:
        self.run_button.setEnabled(not running)
        self.pause_button.setEnabled(running)
        self.cancel_button.setEnabled(running)
        if not running:
            self.pause_button.setText("Pause after trial")

    def load_profile_file(self, path: str | Path) -> None:
        """Fill the form and the sweep editor from a TOML profile (errors shown in the validation line)."""
        from app.sweeps import load_profile

        try:
            profile = load_profile(Path(path))
        except ProfileError as exc:  # binary, huge, nested, bad values: all named by the parser
            log.info("profile %s not loaded: %s", path, exc)
            self.validation_label.setText(f"Could not load the profile: {exc}")
            self.validation_label.setProperty("invalid", True)
            return
        self.apply_profile(profile)
        self.profile_path = Path(path)
        self.profile_loaded.emit(str(path))

    def apply_profile(self, profile: Any) -> None:
        engine = profile.engines[0]  # the form shows the first engine's trials: shared and its own options
        self.engine_options = {e: dict(table) for e, table in profile.engine_options.items()}
        base = {**profile.base, **profile.engine_options.get(engine, {})}
        self.engine_box.setCurrentIndex(self.engine_box.findData(engine))
        self.sweep.set_options(union_options(profile.engines))  # an axis may be on another engine's option
        self.model_box.setCurrentText(str(base.get("model", "demo")))
        self.form.set_values({k: v for k, v in base.items() if k not in ("engine", "model")})
        self.name_edit.setText(profile.name)
        if profile.host and self.machine_box.findData(profile.host) < 0:
            self.machine_box.addItem(profile.host, profile.host)
        self.machine_box.setCurrentIndex(self.machine_box.findData(profile.host) if profile.host else 0)
        self.sweep.load(profile.axes, profile.strategy, profile.n_trials, profile.timeout_s,
                        profile.objectives, profile.constraints)
        self.validate()

    def save_profile_file(self, path: str | Path) -> None:
        from app.sweeps import dump_profile

        Path(path).write_text(dump_profile(self.build_profile()), encoding="utf-8")
        self.profile_path = Path(path)

    def _pick_profile(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load sweep profile", str(_profiles_dir()), "TOML (*.toml)")
        if path:
            self.load_profile_file(path)

    def _save_profile_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save sweep profile", str(_profiles_dir()), "TOML (*.toml)")
        if path:
            try:
                self.save_profile_file(path)
            except (ConfigError, ValueError, OSError) as exc:
                log.exception("profile %s not saved", path)
                self.validation_label.setText(f"Not saved: {exc}")

    # -- drag and drop of .toml ----------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        urls = event.mimeData().urls()
        if urls and urls[0].toLocalFile().endswith(".toml"):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        urls = event.mimeData().urls()
        if urls and urls[0].toLocalFile().endswith(".toml"):
            self.load_profile_file(urls[0].toLocalFile())
            event.acceptProposedAction()


def _form_field(key: str) -> str:
    """The form field a profile error's key points at (`options.temperature` → `temperature`); a swept
    option's key (`axes.…`) stays whole: the sweep editor, not the form, holds its values."""
    return key.removeprefix("options.")


def _profiles_dir() -> Path:
    return shipped_dir("profiles")


def split_by_engine(values: dict[str, Any], engine: str, engines: tuple[str, ...],
                    loaded: dict[str, dict[str, Any]]) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """For a sweep over `engines`, the form's options (those of `engine`) as the options every engine shares
    and each engine's own ([options.ENGINE]): an option some engines lack, or one the loaded profile gave
    `engine` alone, is `engine`'s own; the other engines keep the own options `loaded` gave them."""
    own = {e: dict(loaded.get(e, {})) for e in engines if e != engine}
    shared: dict[str, Any] = {}
    mine: dict[str, Any] = {}
    for key, value in values.items():
        if key == "engine":
            continue
        if key in loaded.get(engine, {}) or any(key not in all_options(e) for e in engines):
            mine[key] = value
        else:
            shared[key] = value
    own[engine] = mine
    return shared, {e: table for e, table in own.items() if table}
