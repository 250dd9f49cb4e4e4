"""Errors the worker reports as structured messages, each with a machine-readable cause."""

from __future__ import annotations

from engine.causes import FailureCause


class EngineError(Exception):
    """Base class: `cause` is a FailureCause (engine.causes)."""

    cause: FailureCause = FailureCause.CRASH


class ConfigError(EngineError):
    """A trial option is invalid. `field` names the option; the message says what is allowed."""

    cause = FailureCause.INVALID_CONFIG

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class UnsupportedError(EngineError):
    """A valid option this installation or hardware cannot run (refused before the model loads)."""

    cause = FailureCause.UNSUPPORTED

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class CancelledError(EngineError):
    """The trial was cancelled by the client."""

    cause = FailureCause.CANCELLED


class OutOfMemoryError(EngineError):
    """The device or host ran out of memory during load or run."""

    cause = FailureCause.OOM
