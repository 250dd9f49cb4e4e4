"""The app's log files: a rotating file in the data dir that every `inferlab.*` logger writes to.

`setup_logging("gui")` is called by `inferlab gui`, `setup_logging("cli")` by the headless commands; code in
`app/ui` and `app/sweeps` logs each exception it catches with `log.exception`, so a message shown as one
line in the status bar or on stderr keeps its traceback here. Exceptions nobody caught (a bug in a Qt
slot) are logged too, then passed to the previous hook.
"""

from __future__ import annotations

import logging
import sys
from logging.handlers import RotatingFileHandler
from pathlib import Path
from types import TracebackType

from engine.paths import data_dir

LOG_MAX_BYTES = 2_000_000
LOG_BACKUPS = 3
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(threadName)s]: %(message)s"


def log_path(side: str = "gui") -> Path:
    """`<data dir>/logs/inferlab-{side}.log` (the folder is created)."""
    folder = data_dir() / "logs"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"inferlab-{side}.log"


def setup_logging(path: Path | None = None) -> RotatingFileHandler:
    """Attach a rotating file handler (INFO and above) to the `inferlab` logger, once per file; returns the
    handler so a caller can remove it."""
    path = path or log_path()
    root = logging.getLogger("inferlab")
    for existing in root.handlers:
        if isinstance(existing, RotatingFileHandler) and Path(existing.baseFilename) == path.resolve():
            return existing
    handler = RotatingFileHandler(path, maxBytes=LOG_MAX_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8")
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    handler.setLevel(logging.INFO)
    root.setLevel(logging.INFO)
    root.addHandler(handler)
    return handler


def log_uncaught_exceptions() -> None:
    """Route exceptions nobody caught (Qt prints those raised in slots) to the log, then to the
    previous `sys.excepthook`."""
    previous = sys.excepthook
    log = logging.getLogger("inferlab")

    def log_uncaught(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if not issubclass(kind, KeyboardInterrupt):
            log.critical("uncaught exception", exc_info=(kind, exc, tb))
        previous(kind, exc, tb)

    sys.excepthook = log_uncaught
