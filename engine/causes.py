"""Why a trial did not finish: the one table of failure causes (name, meaning).

The worker sends a cause in `error` messages and in a failed/cancelled TrialResult; the protocol
refuses any other value (`engine.protocol`), and the app reads these members. Adding a cause is one
row here.
"""

from __future__ import annotations

import enum


class FailureCause(enum.StrEnum):
    """A failure cause: its value is the name stored and shown; `.meaning` says what it tells."""

    meaning: str

    def __new__(cls, value: str, meaning: str) -> FailureCause:
        member = str.__new__(cls, value)
        member._value_ = value
        member.meaning = meaning
        return member

    INVALID_CONFIG = ("invalid-config", "a trial option is invalid; refused before anything ran")
    UNSUPPORTED = ("unsupported", "a valid option this installation or hardware cannot run; refused before "
                   "the model loaded")
    OOM = ("oom", "the engine caught an out-of-memory error (host or device) during load or run")
    CRASH = ("crash", "the engine raised an unexpected error (traceback in the run's notes)")
    CANCELLED = ("cancelled", "the user cancelled: the worker stopped the trial, or the client killed the "
                 "worker when it did not stop within the grace period or the client shut it down")
    TIMEOUT = ("timeout", "the trial ran past timeout_s: the worker stopped it, or the client killed the "
               "worker when it did not stop")
    HEARTBEAT_LOST = ("heartbeat-lost", "the client heard nothing from the worker for its heartbeat timeout "
                      "and killed it")
    WORKER_EXIT = ("worker-exit", "the worker process could not start, or ended on its own during the trial "
                   "(an exit code, or a signal other than SIGKILL that the client did not send)")
    KILLED = ("killed", "the worker was killed by a SIGKILL the client did not send (the kernel's OOM killer "
              "or another process); the run's notes carry the evidence: the kernel's OOM message about the "
              "worker (or why it is not readable) and the worker's RSS at the last telemetry sample")
    PROTOCOL = ("protocol", "a message broke the worker protocol")
    CONNECTION_LOST = ("connection-lost", "the SSH connection to the worker's host dropped during the trial, or "
                       "could not be made (host unreachable, host key refused, login failed); the message says "
                       "which and the command that fixes it")
    NODE_LOST = ("node-lost", "the cluster lost the Ray worker or node running the trial (its process died or "
                 "its node left the cluster); a resumed sweep runs the trial again")


def check_cause(value: object) -> FailureCause:
    """The member named `value`; ValueError naming the allowed causes for anything else."""
    try:
        return FailureCause(value)
    except ValueError:
        allowed = ", ".join(c.value for c in FailureCause)
        raise ValueError(f"failure cause {value!r} is not one of: {allowed}") from None
