"""Errors the worker reports as structured messages, each with a machine-readable cause."""

from __future__ import annotations

from collections.abc import Sequence

from engine.causes import FailureCause

# How an allocation that failed reads when a library raises a plain error: CUDA's "out of memory", torch's CPU
# allocator ("DefaultCPUAllocator: can't allocate memory ... Error code 12 (Cannot allocate memory)"), and vLLM's
# refusals when the memory it may use cannot hold what the trial needs: no room left for any KV cache block after
# the weights and activations, a KV cache too small for one max_model_len sequence, and (CPU backend) a KV cache
# or memory reservation larger than the node's available RAM. The same options run with more memory.
OOM_MESSAGES = ("out of memory", "can't allocate memory", "cannot allocate memory",
                "no available memory for the cache blocks",
                "kv cache is needed, which is larger than the available kv cache memory",
                "is less than requested memory for kv", "is less than desired cpu memory utilization")


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
    """The device or host ran out of memory during load or run. `evidence`: the lines that say so where the
    exception itself does not (a child process's root cause), for the run's notes."""

    cause = FailureCause.OOM

    def __init__(self, message: str, evidence: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.evidence = tuple(evidence)


def is_out_of_memory(type_name: str, message: str) -> bool:
    """Whether an exception of this type name and message is an out-of-memory failure (device or host)."""
    return (type_name in ("MemoryError", "OutOfMemoryError", "OutOfMemoryError_")
            or any(text in message.lower() for text in OOM_MESSAGES))
