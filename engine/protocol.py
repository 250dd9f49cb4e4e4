"""The worker's message protocol: versioned JSON lines over the worker's stdin/stdout.

Every message is one JSON object on one line with `"v": PROTOCOL_VERSION` and a `"type"`. The worker
writes nothing else on its protocol stream (library output goes to stderr).

Client → worker:
    run       {id, config}            load (or reuse) the model and run one trial
    load      {id, config}            load only (pre-warm); answered by `loaded`
    cancel    {id}                    stop the trial within 2 s; the worker stays usable
    shutdown  {}                      unload and exit 0
Worker → client:
    hello     {engine_version, protocol, pid, python, backends: {name: {available, reason}}}
    loaded    {id, load_time_s, reused}
    progress  {id, phase, done, total, tokens_per_s}     phase: idle|load|warmup|measure|quality|baseline
    telemetry {id, sample}                               see engine.telemetry (one dict per sample)
    request   {id, record}                               a RequestRecord dict
    log       {level, message}
    heartbeat {t}                                        every HEARTBEAT_S while alive
    result    {id, result}                               a TrialResult dict (status ok|failed|cancelled)
    error     {id, cause, message, field?, traceback?}   a failure outside a trial result
    bye       {}

Every failure cause (`error.cause`, `result.result.failure_cause`) is a member of
`engine.causes.FailureCause`; `encode` and `decode` refuse any other value, so neither side can send
or accept a cause outside that table.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import IO, Any

from engine.causes import check_cause

PROTOCOL_VERSION = 1
HEARTBEAT_S = 1.0

CLIENT_TYPES = ("run", "load", "cancel", "shutdown")
WORKER_TYPES = ("hello", "loaded", "progress", "telemetry", "request", "log", "heartbeat", "result",
                "error", "bye")


class ProtocolError(ValueError):
    """A line that is not a valid message of this protocol version."""


def encode(type_: str, **fields: Any) -> str:
    """One message as a JSON line (with trailing newline); ProtocolError for a cause outside the table."""
    _check_causes(type_, fields)
    return json.dumps({"v": PROTOCOL_VERSION, "type": type_, **fields}, separators=(",", ":"),
                      allow_nan=False, default=str) + "\n"


def decode(line: str | bytes) -> dict[str, Any]:
    """Parse and check one line; raises ProtocolError naming what is wrong."""
    try:
        msg = json.loads(line)
    except ValueError as exc:
        raise ProtocolError(f"not JSON: {line[:200]!r}") from exc
    if not isinstance(msg, dict) or "type" not in msg:
        raise ProtocolError(f"not a message object: {line[:200]!r}")
    if msg.get("v") != PROTOCOL_VERSION:
        raise ProtocolError(f"protocol version {msg.get('v')!r}, expected {PROTOCOL_VERSION}")
    _check_causes(msg["type"], msg)
    return msg


def _check_causes(type_: str, fields: Mapping[str, Any]) -> None:
    """The failure cause an `error` or `result` message carries must be a FailureCause."""
    if type_ == "error":
        cause = fields.get("cause")
    elif type_ == "result" and isinstance(fields.get("result"), Mapping):
        cause = fields["result"].get("failure_cause")
        if cause is None:
            return
    else:
        return
    try:
        check_cause(cause)
    except ValueError as exc:
        raise ProtocolError(f"{type_} message: {exc}") from None


def send(stream: IO[str], type_: str, **fields: Any) -> None:
    """Write one message and flush (callers serialise writers with a lock)."""
    stream.write(encode(type_, **fields))
    stream.flush()
