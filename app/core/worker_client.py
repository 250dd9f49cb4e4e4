"""Drive one engine worker process (`python -m engine`) over the JSON-lines protocol.

The worker's stdout is read by one blocking reader thread and its stderr by another (kept as a tail
for failure messages); a watchdog thread wakes once a second to check heartbeats, deadlines and
cancel grace periods. Nothing polls the pipes, so the parent costs the measured trial nothing.
A worker that dies, hangs or ignores a cancel is killed and the trial comes back as a TrialResult
with status failed/cancelled and its cause; the next `run_trial` starts a fresh worker.

Causes are true: every signal the client sends is remembered with its reason (timeout, heartbeat
loss, cancel, shutdown), and that reason is the trial's cause. Only a SIGKILL the client did not send
is reported as `killed`, with the evidence (`app.core.kill_evidence`) for or against the OOM killer.
"""

from __future__ import annotations

import collections
import logging
import queue
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from app.core.kill_evidence import evidence_notes
from app.core.transport import LocalTransport, Transport, TransportError
from app.envs.settings import engine_python
from engine.causes import FailureCause
from engine.config import TrialConfig
from engine.protocol import ProtocolError, decode, encode
from engine.results import TrialResult

log = logging.getLogger("inferlab.worker_client")
EventFn = Callable[[dict[str, Any]], None]
CANCEL_GRACE_S = 10.0     # a worker that has not answered a cancel by then is killed
TIMEOUT_GRACE_S = 30.0    # beyond the trial's own timeout_s (the worker enforces that one itself)
_EOF = {"type": "__eof__"}
_HUNG = {"type": "__hung__"}


class WorkerStartError(RuntimeError):
    """The worker did not say hello (bad interpreter, missing dependency, crash at import, a host that
    cannot be reached); `cause` is the failure cause a trial records for it."""

    def __init__(self, message: str, cause: FailureCause = FailureCause.WORKER_EXIT) -> None:
        super().__init__(message)
        self.cause = cause


class WorkerClient:
    """One worker process; trials run one at a time (`run_trial` blocks; `cancel` is thread-safe).

    The worker is reached through `transport` (default: a child process of `python`, else of the chosen
    engine Python); `env` is set for the worker wherever it runs.
    """

    def __init__(self, python: str | None = None, *, heartbeat_timeout_s: float = 30.0,
                 env: dict[str, str] | None = None, transport: Transport | None = None) -> None:
        self.transport: Transport = transport or LocalTransport(python or engine_python())
        self.heartbeat_timeout_s = heartbeat_timeout_s
        self.env = dict(env or {})
        self.hello: dict[str, Any] | None = None
        self._proc: subprocess.Popen[str] | None = None
        self._messages: queue.Queue[dict[str, Any]] = queue.Queue()
        self._write_lock = threading.Lock()
        self._last_seen = time.monotonic()
        self._stderr_tail: collections.deque[str] = collections.deque(maxlen=40)
        self._current_id: str | None = None
        self._cancel_at: float | None = None
        self._deadline: float | None = None
        self._stop_watchdog = threading.Event()
        self._signalled: FailureCause | None = None  # why the client signalled the current process
        self._stderr_reader: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------------
    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout_s: float = 120) -> dict[str, Any]:
        """Start the worker and wait for its hello message (returned)."""
        if self.alive and self.hello is not None:
            return self.hello
        # fresh per process: threads of an earlier (killed) worker keep their own queue and stop event
        self._messages = messages = queue.Queue()
        self._stderr_tail.clear()
        self._stop_watchdog = stop = threading.Event()
        self._last_seen = time.monotonic()
        self._signalled = None
        try:
            launch = self.transport.launch(self.env)
        except TransportError as exc:
            raise WorkerStartError(str(exc), exc.cause) from exc
        try:
            self._proc = subprocess.Popen(launch.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, text=True, encoding="utf-8", bufsize=1,
                                          env=launch.env,
                                          start_new_session=True)  # Ctrl-C reaches the client, which cancels
        except OSError as exc:
            raise WorkerStartError(f"cannot start {launch.command[0]!r}: {exc}") from exc
        proc = self._proc
        if launch.stdin_first:
            self._write(launch.stdin_first)  # a worker that died already is reported below, by its end
        threading.Thread(target=self._read_stdout, args=(proc, messages), name="worker-stdout",
                         daemon=True).start()
        self._stderr_reader = threading.Thread(target=self._read_stderr, args=(proc,), name="worker-stderr",
                                               daemon=True)
        self._stderr_reader.start()
        threading.Thread(target=self._watchdog, args=(proc, messages, stop), name="worker-watchdog",
                         daemon=True).start()
        try:
            msg = self._messages.get(timeout=timeout_s)
        except queue.Empty:
            self._kill(FailureCause.WORKER_EXIT)
            raise WorkerStartError(f"no hello from the worker within {timeout_s:g} s; stderr:\n"
                                   + self.stderr_tail()) from None
        if msg.get("type") != "hello":
            self._kill(FailureCause.WORKER_EXIT)
            code = proc.returncode
            if self.transport.lost_connection(code, self._ended_stderr):
                raise WorkerStartError(f"the connection to {self.transport.host} ended before the worker said "
                                       f"hello; ssh said:\n{self.stderr_tail()}", FailureCause.CONNECTION_LOST)
            raise WorkerStartError(f"worker did not start (got {msg.get('type')}); stderr:\n" + self.stderr_tail())
        self.hello = {k: v for k, v in msg.items() if k not in ("v", "type")}
        return self.hello

    def close(self) -> None:
        """Shut the worker down: shutdown message → join → terminate → kill."""
        proc = self._proc
        if proc is None:
            return
        self._send("shutdown")
        for step in (None, proc.terminate, proc.kill):
            if step is not None:
                self._signalled = self._signalled or FailureCause.CANCELLED  # a trial in flight ends: cancelled
                step()
            try:
                proc.wait(timeout=5)
                break
            except subprocess.TimeoutExpired:
                continue
        self._stop_watchdog.set()
        self._proc, self.hello = None, None

    def __enter__(self) -> WorkerClient:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def stderr_tail(self) -> str:
        return "".join(self._stderr_tail)

    def _ended_stderr(self) -> str:
        """The stderr tail of a process that has ended, once its last lines are read (ssh's final
        words about the connection come last)."""
        if self._stderr_reader is not None:
            self._stderr_reader.join(timeout=5)
        return self.stderr_tail()

    # -- threads ------------------------------------------------------------------------------
    def _read_stdout(self, proc: subprocess.Popen[str], messages: queue.Queue[dict[str, Any]]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self._last_seen = time.monotonic()
            try:
                msg = decode(line)
            except ProtocolError as exc:  # a corrupt stream may have lost a result: the trial fails, truly
                log.warning("worker protocol: %s", exc)
                messages.put({**_HUNG, "cause": FailureCause.PROTOCOL, "detail": str(exc)})
                continue
            if msg["type"] != "heartbeat":
                messages.put(msg)
        messages.put(_EOF)

    def _read_stderr(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            self._stderr_tail.append(line)
            log.debug("worker: %s", line.rstrip())

    def _watchdog(self, proc: subprocess.Popen[str], messages: queue.Queue[dict[str, Any]],
                  stop: threading.Event) -> None:
        while not stop.wait(1.0) and proc.poll() is None:
            now = time.monotonic()
            if self._current_id is None:
                continue  # only a trial in flight is judged (an idle or suspended machine is not a hang)
            hung = now - self._last_seen > self.heartbeat_timeout_s
            late_cancel = self._cancel_at is not None and now > self._cancel_at + CANCEL_GRACE_S
            overdue = self._deadline is not None and now > self._deadline
            if hung or late_cancel or overdue:
                why = (FailureCause.HEARTBEAT_LOST if hung else FailureCause.CANCELLED if late_cancel
                       else FailureCause.TIMEOUT)
                messages.put({**_HUNG, "cause": why})
                return

    def _send(self, type_: str, **fields: Any) -> bool:
        proc = self._proc
        if proc is None or proc.stdin is None or proc.poll() is not None:
            return False
        return self._write(encode(type_, **fields))

    def _write(self, text: str) -> bool:
        """Write `text` to the worker's stdin; False if the worker's input is closed (it has ended)."""
        proc = self._proc
        if proc is None or proc.stdin is None:
            return False
        with self._write_lock:
            try:
                proc.stdin.write(text)
                proc.stdin.flush()
                return True
            except (BrokenPipeError, OSError, ValueError):
                return False

    def _kill(self, reason: FailureCause) -> None:
        """SIGKILL the worker (if alive), remembering that the client sent it and why."""
        proc = self._proc
        if proc is not None and proc.poll() is None:
            self._signalled = self._signalled or reason
            proc.kill()
            proc.wait(timeout=10)
        self._stop_watchdog.set()
        self.hello = None

    def _drain(self) -> None:
        """Drop messages left from an earlier trial (late progress, a result nobody waited for)."""
        while True:
            try:
                msg = self._messages.get_nowait()
            except queue.Empty:
                return
            if msg["type"] == "__eof__" and self._proc is not None:
                self._proc.wait(timeout=10)  # the worker died while idle: start() makes a new one

    # -- trials -------------------------------------------------------------------------------
    def cancel(self) -> None:
        """Ask the running trial to stop (it returns with status 'cancelled'); safe from any thread."""
        trial_id = self._current_id
        if trial_id is None:
            return
        self._cancel_at = time.monotonic()
        self._send("cancel", id=trial_id)

    def run_trial(self, config: Mapping[str, Any] | TrialConfig, on_event: EventFn | None = None,
                  trial_id: str | None = None) -> TrialResult:
        """Run one trial and return its result. Invalid config raises ConfigError (before anything runs);
        worker failures come back as failed/cancelled results, never as exceptions."""
        trial_config = config if isinstance(config, TrialConfig) else TrialConfig.from_flat(config)
        flat = trial_config.to_flat()
        trial_id = trial_id or uuid.uuid4().hex[:12]
        started = time.time()
        self._drain()
        try:
            self.start()
        except WorkerStartError as exc:
            return TrialResult.failed(trial_id, flat, exc.cause, str(exc), started)
        self._cancel_at = None
        self._last_seen = time.monotonic()
        self._deadline = time.monotonic() + trial_config.common.timeout_s + TIMEOUT_GRACE_S
        self._current_id = trial_id
        try:
            if not self._send("run", id=trial_id, config=flat):
                return self._lost(trial_id, flat, started, None, [])
            return self._await_result(trial_id, flat, started, on_event)
        finally:
            self._current_id = None
            self._deadline = None

    def _await_result(self, trial_id: str, flat: dict[str, Any], started: float,
                      on_event: EventFn | None) -> TrialResult:
        telemetry: list[dict[str, Any]] = []
        while True:
            msg = self._messages.get()
            kind = msg["type"]
            if kind == "__eof__":
                return self._lost(trial_id, flat, started, None, telemetry)
            if kind == "__hung__":
                return self._lost(trial_id, flat, started, msg["cause"], telemetry, msg.get("detail", ""))
            if msg.get("id") not in (trial_id, None) and kind != "log":
                continue  # a late message of an earlier, abandoned trial
            if kind == "result":
                result = TrialResult.from_dict(msg["result"])
                result.telemetry = telemetry
                result.environment["host"] = self.transport.host
                return result
            if kind == "error" and msg.get("id") == trial_id:
                return TrialResult.failed(trial_id, flat, FailureCause(msg["cause"]), msg.get("message", ""),
                                          started)
            if kind == "telemetry":
                telemetry.append(msg["sample"])
            if on_event is not None:
                try:
                    on_event(msg)
                except Exception:  # a consumer's bug must not lose the trial
                    log.exception("on_event callback failed")

    def _lost(self, trial_id: str, flat: dict[str, Any], started: float, hung: FailureCause | None,
              telemetry: list[dict[str, Any]], detail: str = "") -> TrialResult:
        """The worker died (`hung` None), or hung, ran over, ignored a cancel or broke the protocol
        (`hung` the reason the client kills it now): make sure it is gone and report the true cause."""
        proc = self._proc
        code = proc.poll() if proc is not None else None
        if hung is None and proc is not None and code is None:
            try:  # its stream ended: let it finish exiting, so its own end is read, not the client's kill
                code = proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                hung, detail = FailureCause.PROTOCOL, "the worker closed its protocol stream but did not exit"
        if hung is not None:
            self._kill(hung)
        signalled = self._signalled  # set before the process died if the client killed it
        self._kill(FailureCause.WORKER_EXIT)  # gone in every path by now: this stops its watchdog
        code = proc.returncode if proc is not None else code
        self._proc = None
        cause, message = self._why(signalled, code)
        if detail:
            message += f": {detail}"
        notes = evidence_notes(proc.pid, telemetry) if cause is FailureCause.KILLED and proc is not None else []
        if notes:
            message += "; " + "; ".join(notes)
        tail = self.stderr_tail().strip()
        if tail:
            message += "\nworker stderr (last lines):\n" + tail[-2000:]
        status = "cancelled" if cause is FailureCause.CANCELLED else "failed"
        result = TrialResult.failed(trial_id, flat, cause, message, started, status=status)
        result.notes.extend(notes)
        result.telemetry = telemetry
        return result

    def _why(self, signalled: FailureCause | None, code: int | None) -> tuple[FailureCause, str]:
        """The cause and message for a worker that is gone, from who signalled it and how it ended."""
        how = f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"
        if signalled is FailureCause.HEARTBEAT_LOST:
            return signalled, f"no message from the worker for {self.heartbeat_timeout_s:g} s; the client killed it"
        if signalled is FailureCause.TIMEOUT:
            return signalled, "the trial ran past timeout_s and the worker did not stop; the client killed it"
        if signalled is FailureCause.CANCELLED:
            return signalled, (f"cancelled: the worker did not stop within {CANCEL_GRACE_S:g} s of the cancel, "
                               f"or was shut down mid-trial; the client ended it ({how})")
        if signalled is FailureCause.PROTOCOL:
            return signalled, "the worker broke the protocol; the client killed it"
        if signalled is not None:
            return signalled, f"the client ended the worker ({how})"
        if self.transport.lost_connection(code, self._ended_stderr):
            return FailureCause.CONNECTION_LOST, (f"the connection to {self.transport.host} was lost during the "
                                                  f"trial ({how} of ssh)")
        if code == -9:
            return FailureCause.KILLED, ("the worker was killed by SIGKILL during the trial, and the client did "
                                         "not send it (the kernel's OOM killer or another process)")
        return FailureCause.WORKER_EXIT, f"the worker process ended during the trial ({how})"

