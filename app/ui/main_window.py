"""The main window: Experiment, Live, Runs and Compare tabs, menus, toolbar, shortcuts, status bar.

Startup is split so the window shows fast: the Experiment view (no plotting library, no database) is
built before `show()`; the store and the plotting views are built right after the first paint
(`finish_startup`). Window state, theme, recent models and profiles persist in QSettings.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QTabWidget,
)

from app.paths import default_store_url
from app.reports.formats import REPORT_FORMATS, format_for_filter, format_for_suffix
from app.ui.background import BackgroundCall
from app.ui.experiment_view import ExperimentView
from app.ui.sweep_runner import SweepController
from app.ui.themes import apply_theme

RECENT_LIMIT = 10
TABLE_SUFFIXES = (".csv", ".parquet")
TABLE_FILTER = "CSV or Parquet table (*.csv *.parquet)"
TAB_EXPERIMENT, TAB_LIVE, TAB_RUNS, TAB_COMPARE = range(4)


class MainWindow(QMainWindow):
    """One window over one store. `worker_python` picks the interpreter the engine worker runs in."""

    startup_finished = Signal()
    export_finished = Signal(str)  # the written path, or "error: …"
    import_finished = Signal(str)  # the status-bar line, or "error: …"

    def __init__(self, settings: QSettings, store_url: str | None = None, worker_python: str | None = None,
                 probe_worker: bool = True) -> None:
        super().__init__()
        self.settings = settings
        self.store_url = store_url
        self.worker_python = worker_python
        self.probe_worker = probe_worker
        self.store: Any = None
        self.live: Any = None
        self.runs: Any = None
        self.compare: Any = None
        self.recovery_notice = ""  # what the start-up import of recovery files reported
        self.export_dialog: QFileDialog | None = None
        self._background_calls: list[BackgroundCall] = []  # exports and imports, kept until they answer
        self.theme = str(settings.value("theme", "dark"))
        self.setWindowTitle("InferLab")
        self.resize(1400, 900)
        self.experiment = ExperimentView(self._recent("recent_models"))
        self.tabs = QTabWidget()
        self.tabs.addTab(self.experiment, "Experiment")
        for title in ("Live", "Runs", "Compare"):
            self.tabs.addTab(QLabel("Loading…"), title)
        self.setCentralWidget(self.tabs)
        self.controller = SweepController(self)
        self.worker_label = QLabel("Worker: not started")
        self.statusBar().addPermanentWidget(self.worker_label)
        self._build_actions()
        self._restore_state()
        apply_theme(QApplication.instance(), self.theme, self)  # type: ignore[arg-type]
        self.experiment.run_requested.connect(self.start_sweep)
        self.experiment.pause_requested.connect(self.toggle_pause)
        self.experiment.cancel_requested.connect(self.cancel_sweep)
        self.experiment.profile_loaded.connect(lambda p: self._remember("recent_profiles", p))
        self.controller.event.connect(self._on_event)
        self.controller.finished.connect(self._on_sweep_finished)
        self.controller.failed.connect(self._on_sweep_failed)

    # -- startup -------------------------------------------------------------------------------------
    def finish_startup(self) -> None:
        """Open the store and build the plotting views (called once, after the window is shown)."""
        if self.store is not None:
            return
        from app.store import Store
        from app.ui.compare_view import CompareView
        from app.ui.live_view import LiveView
        from app.ui.runs_view import RunsView

        self.store_url = self.store_url or default_store_url()
        self.store = Store(self.store_url)
        self.live, self.runs, self.compare = LiveView(), RunsView(self.store), CompareView(self.store)
        for index, (view, title) in enumerate(((self.live, "Live"), (self.runs, "Runs"),
                                               (self.compare, "Compare")), start=TAB_LIVE):
            old = self.tabs.widget(index)
            self.tabs.removeTab(index)
            self.tabs.insertTab(index, view, title)
            old.deleteLater()
        self.runs.compare_requested.connect(self.show_compare)
        self.runs.retune_requested.connect(self.retune_sweep)
        self.compare.export_requested.connect(self.export_report)
        apply_theme(QApplication.instance(), self.theme, self)  # type: ignore[arg-type]
        self.statusBar().showMessage(f"Store: {self.store_url}", 8000)
        self._import_recovery_files()
        if self.probe_worker:
            self._probe_worker()
        self.startup_finished.emit()

    def _import_recovery_files(self) -> None:
        """Bring back results an earlier session could not store (see app.store.recovery), and say so."""
        from app.store import recovery

        paths = recovery.pending()
        if not paths:
            return
        run_ids: list[int] = []
        kept: list[str] = []
        for path in paths:
            try:
                run_ids.append(recovery.import_recovery(self.store, path))
            except (ValueError, *recovery.WRITE_ERRORS) as exc:
                kept.append(f"{path}: {exc}")
        notice = (f"Recovered {len(run_ids)} result(s) an earlier session could not store: run(s) "
                  f"{', '.join(f'#{i}' for i in run_ids)}." if run_ids else "")
        if kept:
            notice += f" {len(kept)} recovery file(s) could not be imported and are kept: " + "; ".join(kept)
        self.recovery_notice = notice.strip()
        self.statusBar().showMessage(self.recovery_notice, 60_000)
        self.live.append_log(self.recovery_notice)
        self.runs.refresh()

    def _probe_worker(self) -> None:
        from app.ui.worker_probe import WorkerProbe

        self.worker_label.setText("Worker: starting…")
        self.probe = WorkerProbe(self.worker_python, self)
        self.probe.hello.connect(self._on_hello)
        self.probe.failed.connect(lambda msg: self.worker_label.setText(f"Worker: failed to start ({msg})"))
        self.probe.start()

    def _on_hello(self, hello: dict[str, Any]) -> None:
        self.experiment.set_hello(hello)
        gpus = hello.get("gpus", {})
        gpu_text = f"{gpus.get('count')} GPU(s)" if gpus.get("count") else "no NVIDIA GPU"
        self.worker_label.setText(f"Worker: ready (engine {hello.get('engine_version')}, "
                                  f"Python {hello.get('python')}, {gpu_text})")

    # -- actions -------------------------------------------------------------------------------------
    def _build_actions(self) -> None:
        def action(text: str, slot: Any, *keys: QKeySequence | str) -> QAction:
            act = QAction(text, self)
            if keys:
                act.setShortcuts([QKeySequence(k) for k in keys])
            act.triggered.connect(slot)
            self.addAction(act)
            return act

        self.run_action = action("&Run", self.experiment.request_run, "Ctrl+R")
        self.pause_action = action("&Pause after trial", self.toggle_pause, "Ctrl+P")
        self.cancel_action = action("&Cancel", self.cancel_sweep, "Esc", "Ctrl+.")
        self.compare_action = action("Co&mpare selected runs", self._compare_selected, "Ctrl+M")
        self.export_action = action("&Export comparison…", self.export_report, "Ctrl+E")
        self.import_action = action("&Import results…", self.import_results)
        load = action("&Load profile…", self.experiment._pick_profile, "Ctrl+O")
        save = action("&Save profile…", self.experiment._save_profile_dialog, "Ctrl+S")
        quit_ = action("&Quit", self.close, "Ctrl+Q")
        dark = action("&Dark theme", lambda: self.set_theme("dark"))
        light = action("&Light theme", lambda: self.set_theme("light"))
        about = action("&About InferLab", self.show_about)
        where = action("Run sweeps &on…", self.choose_cluster)
        for act in (self.pause_action, self.cancel_action):
            act.setEnabled(False)
        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        file_menu.addActions([load, save])
        self.recent_menu = file_menu.addMenu("Recent profiles")
        self.recent_menu.aboutToShow.connect(self._fill_recent_profiles)
        file_menu.addActions([self.import_action, self.export_action, quit_])
        menu.addMenu("&Run").addActions([self.run_action, self.pause_action, self.cancel_action,
                                         self.compare_action, where])
        menu.addMenu("&View").addActions([dark, light])
        menu.addMenu("&Help").addAction(about)
        toolbar = self.addToolBar("Main")
        toolbar.setObjectName("mainToolbar")
        toolbar.addActions([self.run_action, self.pause_action, self.cancel_action, self.compare_action,
                            self.export_action])

    def set_theme(self, theme: str) -> None:
        self.theme = theme
        apply_theme(QApplication.instance(), theme, self)  # type: ignore[arg-type]
        self.settings.setValue("theme", theme)

    def show_about(self) -> None:
        from app.ui.about_dialog import AboutDialog

        AboutDialog(self).exec()

    # -- sweeps --------------------------------------------------------------------------------------
    def start_sweep(self, profile: Any, first: Mapping[str, Any] | None = None,
                    origin: Mapping[str, Any] | None = None) -> None:
        """Run a profile's sweep (`first`, `origin`: see `app.sweeps.run_profile`)."""
        if self.controller.running:
            self.statusBar().showMessage("A sweep is already running.", 5000)
            return
        self.finish_startup()
        self._remember("recent_models", str(profile.base.get("model", "demo")))
        cluster = self.cluster()
        self.controller.start(profile, self.store_url, self.worker_python, cluster, first, origin)
        self._set_running(True)
        where = f" on Ray cluster {cluster}" if cluster else ""
        self.worker_label.setText(f"Worker: running sweep '{profile.name}'{where}")
        self.tabs.setCurrentIndex(TAB_LIVE)

    def retune_sweep(self, sweep_id: int) -> None:
        """Ask for a budget, then re-tune the sweep here (`inferlab study retune`), through the sweep runner."""
        from app.study.retune import RetuneError, plan_retune
        from app.sweeps.profile import MAX_TRIALS

        if self.controller.running:
            self.statusBar().showMessage("A sweep is already running.", 5000)
            return
        budget, ok = QInputDialog.getInt(
            self, "Re-tune here", f"Sweep {sweep_id}'s best configuration runs here first; then the Optuna "
            "search measures this many new configurations:", 10, 1, MAX_TRIALS - 1)
        if not ok:
            return
        self.finish_startup()
        assert self.store is not None
        try:
            plan = plan_retune(self.store, sweep_id, budget)
        except RetuneError as exc:
            QMessageBox.warning(self, "Re-tune here", str(exc))
            return
        self.start_sweep(plan.profile, plan.transferred, plan.origin)

    def cluster(self) -> str | None:
        """Where sweeps run: None for this machine, else 'auto' or a Ray address (the saved setting)."""
        return str(self.settings.value("cluster", "") or "").strip() or None

    def choose_cluster(self) -> None:
        text, ok = QInputDialog.getText(
            self, "Run sweeps on", "Leave empty to run on this machine, one trial at a time.\n"
            "'auto' or a Ray address (ray://head:10001) runs trials in parallel on a Ray cluster,\n"
            "one per free GPU (needs the cluster extra: pip install 'inferlab[cluster]').", text=self.cluster() or "")
        if ok:
            self.settings.setValue("cluster", text.strip())
            self.statusBar().showMessage(f"Sweeps run on {text.strip() or 'this machine'}.", 5000)

    def toggle_pause(self) -> None:
        if not self.controller.running:
            return
        paused = self.controller.toggle_pause()
        text = "Resume" if paused else "Pause after trial"
        self.experiment.pause_button.setText(text)
        self.pause_action.setText(text)
        self.worker_label.setText("Worker: pausing after the current trial" if paused else "Worker: running")

    def cancel_sweep(self) -> None:
        if self.controller.running:
            self.controller.cancel()
            self.worker_label.setText("Worker: cancelling…")

    def _on_event(self, event: dict[str, Any]) -> None:
        if self.live is not None:
            self.live.handle_event(event)
        kind = event.get("type")
        if kind == "trial-finished":
            if self.runs is not None:
                self.runs.refresh()
            cause = f" ({event.get('failure_cause')})" if event.get("failure_cause") else ""
            stored = f"run #{event.get('run_id')} stored" if not event.get("recovery_file") else (
                f"NOT STORED ({event.get('store_error')}): saved to {event['recovery_file']}, imported at next "
                "start or with `inferlab import --recover`")
            self.statusBar().showMessage(f"Trial {event.get('index', 0) + 1} {event.get('status')}{cause}; "
                                         f"{stored}", 60_000 if event.get("recovery_file") else 10_000)
        elif kind == "trial-started":
            self.worker_label.setText(f"Worker: trial {event.get('index', 0) + 1} of {event.get('total')}")

    def _on_sweep_finished(self, sweep_id: object) -> None:
        self._set_running(False)
        self.worker_label.setText(f"Worker: idle (sweep {sweep_id} ended)")
        if self.runs is not None:
            self.runs.refresh()
        if isinstance(sweep_id, int) and self.store is not None:
            self._show_retune_gain(sweep_id)

    def _show_retune_gain(self, sweep_id: int) -> None:
        """A re-tune's gain, when the sweep that ended is one, in the Live log and the status bar."""
        from app.study.retune import retune_gain

        gain = retune_gain(self.store, self.store.get_sweep(sweep_id))
        if gain is None:
            return
        if self.live is not None:
            self.live.append_log(gain.text())
        self.statusBar().showMessage(gain.text().splitlines()[-1].strip(), 60_000)

    def _on_sweep_failed(self, message: str) -> None:
        first = message.splitlines()[0] if message else "unknown error"
        self.statusBar().showMessage(f"Sweep stopped: {first}", 20000)
        if self.live is not None:
            self.live.append_log("Sweep error: " + message)

    def _set_running(self, running: bool) -> None:
        self.experiment.set_running(running)
        self.run_action.setEnabled(not running)
        self.pause_action.setEnabled(running)
        self.cancel_action.setEnabled(running)
        if not running:
            self.pause_action.setText("&Pause after trial")

    # -- compare and export --------------------------------------------------------------------------
    def _compare_selected(self) -> None:
        if self.runs is not None:
            self.runs.request_compare()

    def show_compare(self, run_ids: list[int]) -> None:
        self.finish_startup()
        self.compare.show_runs(run_ids)
        self.tabs.setCurrentIndex(TAB_COMPARE)

    def export_report(self) -> None:
        ids = [r.id for r in self.compare.runs] if self.compare is not None else []
        if not ids and self.runs is not None:
            ids = self.runs.selected_ids()
        if not ids:
            QMessageBox.information(self, "Export", "Choose runs to compare first (Runs view → Compare).")
            return
        dialog = QFileDialog(self, "Export comparison", "inferlab-report.html")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setNameFilters([f.file_filter for f in REPORT_FORMATS])
        self.export_dialog = dialog
        try:
            if dialog.exec() and dialog.selectedFiles():
                self.export_to(ids, *export_target(dialog.selectedFiles()[0], dialog.selectedNameFilter()))
        finally:
            self.export_dialog = None
            dialog.deleteLater()

    def export_to(self, run_ids: list[int], path: str, fmt: str | None = None,
                  title: str = "InferLab comparison") -> None:
        """Write the report on a background thread (PDF rendering takes seconds); `export_finished` says
        where it went or why it failed. `fmt` defaults to the one `path`'s suffix names (else HTML)."""
        by_suffix = format_for_suffix(path)
        fmt = fmt or (by_suffix.name if by_suffix else "html")
        self.statusBar().showMessage(f"Exporting {len(run_ids)} run(s) to {path}…")

        def work() -> str:
            from app.reports.export import export_runs
            from app.store import Store

            with Store(self.store_url) as store:
                return str(export_runs(store, run_ids, fmt, path, title=title))

        call = BackgroundCall(work, "inferlab-export")
        call.done.connect(self._on_exported)
        call.failed.connect(self._on_export_failed)
        self._background_calls.append(call.start())

    def _on_exported(self, path: str) -> None:
        self._forget_call()
        self.statusBar().showMessage(f"Report written to {path}", 15000)
        self.export_finished.emit(path)

    def _on_export_failed(self, message: str) -> None:
        self._forget_call()
        self.statusBar().showMessage("Export failed: " + message, 15000)
        self.export_finished.emit("error: " + message)

    def _forget_call(self) -> None:
        sender = self.sender()
        self._background_calls = [c for c in self._background_calls if c is not sender]

    # -- import --------------------------------------------------------------------------------------
    def import_results(self) -> None:
        """Ask for a results file (a table, or a JSON file of a tool the filter names) and, for a table,
        its column mapping (from the shipped profiles/imports/); then import it (`import_from`)."""
        from app.reports.importers import LOADERS
        from app.shipped import shipped_dir

        filters = {TABLE_FILTER: None, **{f"{kind} JSON (*.json)": kind for kind in LOADERS}}
        path, chosen = QFileDialog.getOpenFileName(self, "Import results", "", ";;".join(filters), TABLE_FILTER)
        if not path:
            return
        is_table = Path(path).suffix.lower() in TABLE_SUFFIXES
        kind = None if is_table else filters.get(chosen)
        if not is_table and kind is None:
            QMessageBox.warning(self, "Import results", f"{path}: not a CSV or Parquet table; for a JSON result "
                                f"choose the filter of the tool that wrote it ({', '.join(LOADERS)}).")
            return
        mapping = None
        if is_table:
            mapping, _ = QFileDialog.getOpenFileName(self, f"Column mapping for {Path(path).name}",
                                                     str(shipped_dir("profiles") / "imports"), "TOML (*.toml)")
            if not mapping:
                return
        self.import_from(path, kind, mapping)

    def import_from(self, path: str, kind: str | None, mapping: str | None) -> None:
        """Read, check and store the file on a background thread (the same `import_into` as `inferlab
        import`); a bad file or mapping stores nothing and its error shows in a message box."""
        from app.reports.importers import import_into

        self.statusBar().showMessage(f"Importing {path}…")
        call = BackgroundCall(lambda: (path, *import_into(self.store_url, path, kind=kind, mapping_path=mapping)),
                              "inferlab-import")
        call.done.connect(self._on_imported)
        call.failed.connect(self._on_import_failed)
        self._background_calls.append(call.start())

    def _on_imported(self, answer: tuple[str, list[int], str]) -> None:
        self._forget_call()
        path, run_ids, source = answer
        message = f"imported {len(run_ids)} run(s) from {path} (source {source})"
        self.statusBar().showMessage(message, 15000)
        if self.runs is not None:
            self.runs.refresh()
        self.import_finished.emit(message)

    def _on_import_failed(self, message: str) -> None:
        self._forget_call()
        self.statusBar().showMessage("Import failed; nothing was imported.", 15000)
        QMessageBox.warning(self, "Import results", f"Nothing was imported.\n\n{message}")
        self.import_finished.emit("error: " + message)

    # -- persistence ---------------------------------------------------------------------------------
    def _recent(self, key: str) -> list[str]:
        value = self.settings.value(key, [])
        return [value] if isinstance(value, str) else list(value or [])

    def _remember(self, key: str, item: str) -> None:
        items = [item, *[i for i in self._recent(key) if i != item]][:RECENT_LIMIT]
        self.settings.setValue(key, items)

    def _fill_recent_profiles(self) -> None:
        self.recent_menu.clear()
        for path in self._recent("recent_profiles"):
            self.recent_menu.addAction(path, lambda p=path: self.experiment.load_profile_file(p))

    def _restore_state(self) -> None:
        geometry = self.settings.value("geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        state = self.settings.value("window_state")
        if state is not None:
            self.restoreState(state)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.controller.running:
            self.controller.cancel()
            self.controller.wait(30_000)
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.setValue("window_state", self.saveState())
        self.settings.sync()
        if self.store is not None:
            self.store.close()
        super().closeEvent(event)



def export_target(path: str, file_filter: str) -> tuple[str, str]:
    """(path, format) from an export dialog's answer: a suffix the formats know decides the format;
    otherwise the chosen filter does, and its first suffix is added to the name."""
    by_suffix = format_for_suffix(path)
    if by_suffix is not None:
        return path, by_suffix.name
    chosen = format_for_filter(file_filter) or REPORT_FORMATS[0]
    return path + chosen.suffixes[0], chosen.name
