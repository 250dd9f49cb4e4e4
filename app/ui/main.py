"""`inferlab gui`: parse the GUI's arguments, show the window, run the event loop.

`--smoke` shows the window, finishes startup, prints the timings and exits 0 (used by tests and the
cold-start bench). `--no-first-run` (or INFERLAB_NO_FIRST_RUN=1) skips the first-run dialog.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time

START_S = time.perf_counter()
BROKEN_PYSIDE = ("6.12.0",)  # see tests/ui/test_qt_binding.py


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="inferlab gui", description="InferLab desktop app")
    parser.add_argument("--store", help="store URL (default: SQLite file in the data dir, or INFERLAB_STORE_URL)")
    parser.add_argument("--settings", help="INI file for window state and recent items (default: per user)")
    parser.add_argument("--python", help="Python interpreter the engine worker runs in (default: this one)")
    parser.add_argument("--theme", choices=("dark", "light"), help="colour theme (remembered)")
    parser.add_argument("--profile", help="sweep profile (TOML) to open in the Experiment view")
    parser.add_argument("--no-first-run", action="store_true", help="skip the first-run dialog")
    parser.add_argument("--no-worker-probe", action="store_true",
                        help="do not start a worker at startup to list the engines")
    parser.add_argument("--smoke", action="store_true", help="show the window, print timings, exit")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the desktop app; returns the exit code."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    from app.envs.qt_libs import xcb_problem

    problem = xcb_problem()
    if problem:  # Qt would abort with "Could not load the Qt platform plugin" and no hint of the fix
        print(problem, file=sys.stderr)
        return 1
    import PySide6
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    from app.cli.exit_codes import Exit
    from app.store import StoreOpenError, StoreURLError

    if PySide6.__version__ in BROKEN_PYSIDE:
        print(f"warning: PySide6 {PySide6.__version__} drops a reference to True on every signal emitted "
              "from Python and aborts after a few thousand; install PySide6-Essentials 6.11.3", file=sys.stderr)

    from app.logs import log_uncaught_exceptions, setup_logging
    from app.ui.main_window import MainWindow

    setup_logging()
    log_uncaught_exceptions()

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setOrganizationName("InferLab")
    app.setApplicationName("InferLab")
    settings = (QSettings(args.settings, QSettings.Format.IniFormat) if args.settings
                else QSettings("InferLab", "InferLab"))
    if args.theme:
        settings.setValue("theme", args.theme)
    window = MainWindow(settings, args.store, args.python, probe_worker=not (args.no_worker_probe or args.smoke))
    if args.profile:
        window.experiment.load_profile_file(args.profile)
    window.show()
    timings: dict[str, float] = {}

    def after_first_paint() -> None:
        timings["shown_s"] = time.perf_counter() - START_S
        if args.smoke:
            print("smoke: window shown", flush=True)  # the cold-start bench times this line from spawn
        try:
            window.finish_startup()
        except (StoreURLError, StoreOpenError) as exc:  # --store / INFERLAB_STORE_URL: one line, no traceback
            print(f"inferlab gui: {exc}", file=sys.stderr, flush=True)
            if not args.smoke:
                QMessageBox.critical(window, "InferLab: cannot open the store", str(exc))
            window.close()
            app.exit(Exit.USAGE if isinstance(exc, StoreURLError) else Exit.STORE_OR_IO)
            return
        # What startup built (~185,000 objects: modules, Qt wrappers, views) lives as long as the window.
        # Frozen, the cyclic collector stops rescanning it whenever a view decodes many small objects:
        # loading a compare of 50 runs × 600 telemetry samples took 148 ms before, 55 ms after.
        gc.freeze()
        timings["ready_s"] = time.perf_counter() - START_S
        if args.smoke:
            print(f"smoke ok: window shown in {timings['shown_s']:.3f} s, views and store ready in "
                  f"{timings['ready_s']:.3f} s (since interpreter start of app.ui.main)", flush=True)
            window.close()
            app.quit()
        elif _wants_first_run(args):
            _first_run(window)

    QTimer.singleShot(0, after_first_paint)
    return int(app.exec())


def _wants_first_run(args: argparse.Namespace) -> bool:
    if args.no_first_run or os.environ.get("INFERLAB_NO_FIRST_RUN") == "1":
        return False
    from app.ui.first_run import needs_first_run

    return needs_first_run()


def _first_run(parent: object) -> None:
    from app.ui.first_run import FirstRunDialog

    FirstRunDialog(parent).exec()  # type: ignore[arg-type]


if __name__ == "__main__":
    sys.exit(main())
