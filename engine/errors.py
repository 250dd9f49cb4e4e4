"""Errors the worker reports as structured messages, each with a machine-readable cause."""

from __future__ import annotations


class EngineError(Exception):
    """Base class: `cause` is one of the protocol's failure causes (see engine.protocol.CAUSES)."""

    cause = "crash"


class ConfigError(EngineError):
    """A trial option is invalid. `field` names the option; the message says what is allowed."""

    cause = "invalid-config"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class UnsupportedError(EngineError):
    """A valid option this installation or hardware cannot run (refused before the model loads)."""

    cause = "unsupported"

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class CancelledError(EngineError):
    """The trial was cancelled by the client."""

    cause = "cancelled"


class OutOfMemoryError(EngineError):
    """The device or host ran out of memory during load or run."""

    cause = "oom"
