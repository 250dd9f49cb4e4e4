"""How a worker process is reached: a child process here, or the engine zipapp over the user's OpenSSH.

A transport says which command starts the worker (its stdin/stdout then carry the JSON-lines protocol,
whatever is in between), with which environment, and how to read the way that command ended.
`WorkerClient` owns the lifecycle (threads, heartbeats, kills, causes) for every transport alike.

`SshTransport` runs `ssh HOST -- PYTHON .cache/inferlab/engine-<hash>.pyz --env-stdin` through the user's own `ssh`
(their config, agent, ProxyJump and known_hosts apply), always with `BatchMode=yes` and
`StrictHostKeyChecking=yes`: no password is ever asked for or stored, and an unknown or changed host key
is refused with the exact command that fixes it. The artifact is copied once per version and verified by
sha256 (computed by the remote Python) before use. The worker's environment variables go as the first
line on its stdin (JSON), never on a command line, where `ps` on either machine would show them.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import NamedTuple, Protocol

from app.core.engine_artifact import EngineArtifact, build
from app.core.ssh_hosts import configured_ssh_config
from app.envs.launch import engine_env
from app.envs.settings import engine_python, host_python
from engine.causes import FailureCause
from engine.env_stdin import ENV_STDIN_FLAG

SSH_BATCH_OPTIONS = ("-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes")
SSH_CONNECTION_FAILED = 255  # ssh's own exit status for a connection it could not make or lost
# What ssh prints when the connection fails or drops (not when the remote command dies of a signal).
SSH_CONNECTION_MESSAGES = ("closed by remote host", "Connection closed", "Connection reset", "Broken pipe",
                           "ssh: connect to host", "ssh: Could not resolve", "not responding", "client_loop:",
                           "Host key verification failed", "Permission denied")
REMOTE_CACHE = ".cache/inferlab"  # relative to the remote home (ssh starts commands there)
_HASH_SNIPPET = "import hashlib,sys;print(hashlib.sha256(open(sys.argv[1],'rb').read()).hexdigest())"


class TransportError(RuntimeError):
    """The worker's machine could not be reached or prepared; `cause` is the failure cause to record."""

    def __init__(self, message: str, cause: FailureCause = FailureCause.WORKER_EXIT) -> None:
        super().__init__(message)
        self.cause = cause


class Launch(NamedTuple):
    """How to start a worker: its command line, the environment of the local process that runs it, and
    text to write to its stdin before the first protocol message ('' for none)."""

    command: list[str]
    env: dict[str, str]
    stdin_first: str = ""


class Transport(Protocol):
    """What `WorkerClient` needs to start a worker and interpret its end."""

    host: str  # "local", or the SSH host as the user named it

    def launch(self, extra_env: Mapping[str, str]) -> Launch:
        """How to start the worker with `extra_env` set for it (may prepare the machine first; raises
        TransportError)."""

    def lost_connection(self, exit_code: int | None, read_stderr: Callable[[], str]) -> bool:
        """Whether a worker that ended with `exit_code` was cut off by its connection, not by itself
        (`read_stderr` gives the ended process's stderr tail, when the answer needs it)."""


class LocalTransport:
    """`python -m engine` as a child process, the engine source first on its PYTHONPATH."""

    host = "local"

    def __init__(self, python: str | None) -> None:
        self.python = python

    def launch(self, extra_env: Mapping[str, str]) -> Launch:
        if self.python is None:
            raise TransportError("no Python environment is chosen to host the engine: run the first-run setup "
                                 "(or `inferlab doctor`) and pick one that has torch/transformers or vLLM")
        return Launch([self.python, "-m", "engine"], engine_env({**os.environ, **extra_env}))

    def lost_connection(self, exit_code: int | None, read_stderr: Callable[[], str]) -> bool:
        return False


class SshTransport:
    """The engine zipapp on `host`, run by `python` there, over `ssh` (see module docs).

    `env` and the environment variables given to `WorkerClient` are set for the remote worker (sent as
    the first line on its stdin); `ssh_config` is passed as `ssh -F` (default: the user's ~/.ssh/config).
    """

    def __init__(self, host: str, python: str = "python3", *, ssh_config: Path | None = None,
                 env: Mapping[str, str] | None = None, artifact: EngineArtifact | None = None) -> None:
        self.host, self.python, self.ssh_config = host, python, ssh_config
        self.env = dict(env or {})
        self.artifact = artifact or build()
        self.remote_path = f"{REMOTE_CACHE}/engine-{self.artifact.version}.pyz"

    def ssh_args(self) -> list[str]:
        return ["ssh", *(["-F", str(self.ssh_config)] if self.ssh_config else []), *SSH_BATCH_OPTIONS]

    def launch(self, extra_env: Mapping[str, str]) -> Launch:
        self.install()  # every new connection first checks the copy (and that the host answers)
        remote = shlex.join([self.python, self.remote_path, ENV_STDIN_FLAG])
        env_line = json.dumps({**self.env, **extra_env}) + "\n"
        return Launch([*self.ssh_args(), self.host, "--", remote], dict(os.environ), env_line)

    def lost_connection(self, exit_code: int | None, read_stderr: Callable[[], str]) -> bool:
        """ssh exits 255 both for its own failures and when the remote worker dies of a signal; only
        the first comes with ssh's own words about the connection."""
        return exit_code == SSH_CONNECTION_FAILED and any(m in read_stderr() for m in SSH_CONNECTION_MESSAGES)

    # -- the artifact on the host ---------------------------------------------------------------------
    def install(self) -> None:
        """Copy the artifact to the host unless the right version is there; verify it by sha256."""
        if self._remote_sha256() != self.artifact.sha256:
            folder, part = shlex.quote(REMOTE_CACHE), shlex.quote(self.remote_path + ".part")
            self._ssh(f"mkdir -p {folder} && cat > {part} && mv {part} {shlex.quote(self.remote_path)}",
                      stdin=self.artifact.content)
            found = self._remote_sha256()
            if found != self.artifact.sha256:
                raise TransportError(f"{self.host}: the engine copied to ~/{self.remote_path} has sha256 {found}, "
                                     f"not {self.artifact.sha256}; the copy was corrupted or the disk is full")

    def _remote_sha256(self) -> str:
        """The sha256 of the remote copy ('' if absent), computed by the remote Python (which proves it runs)."""
        path = shlex.quote(self.remote_path)
        check = f"test -f {path} || exit 0; {shlex.quote(self.python)} -c {shlex.quote(_HASH_SNIPPET)} {path}"
        return self._ssh(check).strip()

    def _ssh(self, remote_command: str, stdin: bytes = b"") -> str:
        done = subprocess.run([*self.ssh_args(), self.host, "--", remote_command], input=stdin,
                              capture_output=True, timeout=120, check=False)
        stderr = done.stderr.decode(errors="replace")
        if done.returncode == SSH_CONNECTION_FAILED:
            raise TransportError(self.explain(stderr), FailureCause.CONNECTION_LOST)
        if done.returncode != 0:
            raise TransportError(f"{self.host}: `{remote_command}` failed (exit {done.returncode}): "
                                 f"{stderr.strip()[-800:]} (is {self.python!r} a Python 3.10+ on {self.host}? "
                                 "choose it with --python)")
        return done.stdout.decode(errors="replace")

    def explain(self, stderr: str) -> str:
        """A message for ssh's own failure: what went wrong, and the exact command that fixes it."""
        settings = self._resolved()
        name, port = settings.get("hostname", self.host), settings.get("port", "22")
        known = settings.get("userknownhostsfile", "~/.ssh/known_hosts").split()[0]
        last = (stderr.strip().splitlines() or ["no output"])[-1]
        if "REMOTE HOST IDENTIFICATION HAS CHANGED" in stderr:
            where = re.search(r"Offending \S+ key in (\S+):\d+", stderr)
            file = where.group(1) if where else known
            return (f"ssh refused {self.host}: its host key has CHANGED since it was recorded in {file} (a "
                    f"reinstalled host, or someone in between). If the change is expected, remove the old key with: "
                    f"ssh-keygen -f {file} -R {_known_hosts_name(name, port)} and then add the new one after checking "
                    f"its fingerprint: ssh-keyscan -p {port} {name} >> {file}")
        if "Host key verification failed" in stderr:
            return (f"ssh refused {self.host}: its host key is not in {known}, and InferLab connects only to "
                    f"known hosts. Check the key's fingerprint with the host's admin, then add it: "
                    f"ssh-keyscan -p {port} {name} >> {known} (or connect once with: ssh {self.host})")
        if "Permission denied" in stderr:
            user = settings.get("user", "")
            return (f"ssh could not log in to {self.host} as {user!r} ({last}). InferLab never asks for a password "
                    f"(BatchMode): set up key login (ssh-copy-id {self.host}) or load your key (ssh-add)")
        return f"ssh could not reach {self.host}: {last}"

    def _resolved(self) -> dict[str, str]:
        """The host's effective ssh settings (`ssh -G`: hostname, port, user, known_hosts files)."""
        done = subprocess.run([*self.ssh_args(), "-G", self.host], capture_output=True, text=True, timeout=30,
                              check=False)
        pairs = (line.split(" ", 1) for line in done.stdout.splitlines() if " " in line)
        return {key: value for key, value in pairs}


def _known_hosts_name(name: str, port: str) -> str:
    """How known_hosts names a host: `name`, or `[name]:port` on a port other than 22."""
    return name if port == "22" else f"'[{name}]:{port}'"


def make_transport(host: str | None, python: str | None, *, ssh_config: Path | None = None) -> Transport:
    """This computer (host None or 'local'; `python` or the chosen engine Python) or `host` over SSH
    (`python` there; default: the one saved for the host, else python3; `ssh_config` default:
    INFERLAB_SSH_CONFIG, else ssh's own)."""
    if host in (None, "", "local"):
        return LocalTransport(python or engine_python())
    return SshTransport(host, python or host_python(host), ssh_config=ssh_config or configured_ssh_config())
