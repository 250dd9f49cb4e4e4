"""`--env-stdin`: the worker's environment variables as the first line of its stdin, not on a command line.

A worker started over SSH would otherwise get them as `env K=V … python …`, which `ps` shows to every
user on both machines. With the flag the worker reads one JSON line from stdin, an object of
environment variables, and re-executes itself with them set (`os.execve`: same pid, and the new
interpreter starts with them, as if they had been set by its parent); the protocol follows on the same stdin.
"""

from __future__ import annotations

import json
import os
import sys

ENV_STDIN_FLAG = "--env-stdin"


def exec_with_stdin_env() -> None:
    """Read one JSON line of environment variables from stdin (byte by byte, so nothing after it is
    consumed: the protocol follows on the same stdin) and re-execute this command without the flag,
    with them set (an empty object: return and go on as is)."""
    line = bytearray()
    while not line.endswith(b"\n"):
        byte = os.read(0, 1)
        if not byte:
            sys.exit(f"inferlab-engine: {ENV_STDIN_FLAG}: stdin ended before the environment line")
        line += byte
    try:
        env = json.loads(line)
    except json.JSONDecodeError as exc:
        sys.exit(f"inferlab-engine: {ENV_STDIN_FLAG}: the first line is not JSON: {exc}")
    if not isinstance(env, dict) or not all(isinstance(v, str) for v in env.values()):
        sys.exit(f"inferlab-engine: {ENV_STDIN_FLAG}: the first line must be a JSON object of strings")
    if not env:
        return  # nothing to set: go on in this process
    argv = [arg for arg in sys.orig_argv if arg != ENV_STDIN_FLAG]
    os.execve(sys.executable, argv, {**os.environ, **env})
