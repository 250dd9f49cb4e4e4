"""The GUI's log file: exceptions nobody caught reach it with their traceback, then the previous hook."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pytest

from app.logs import log_uncaught_exceptions, setup_logging


def test_an_uncaught_exception_is_logged_with_its_traceback_and_passed_on(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    passed_on: list[type[BaseException]] = []
    monkeypatch.setattr(sys, "excepthook", lambda kind, exc, tb: passed_on.append(kind))
    handler = setup_logging(tmp_path / "gui.log")
    try:
        log_uncaught_exceptions()
        try:
            {}["missing"]
        except KeyError:
            sys.excepthook(*sys.exc_info())  # what Qt does with an exception raised in a slot
    finally:
        logging.getLogger("inferlab").removeHandler(handler)
        handler.close()
    text = (tmp_path / "gui.log").read_text(encoding="utf-8")
    assert "CRITICAL inferlab" in text and "uncaught exception" in text
    assert "Traceback (most recent call last)" in text and "KeyError: 'missing'" in text
    assert passed_on == [KeyError]
