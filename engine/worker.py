"""The worker process main loop: protocol messages in on stdin, out on a private copy of stdout.

At start the real stdout is duplicated for protocol messages and fd 1 is pointed at stderr, so a
library's print or progress bar can never corrupt the protocol stream. A reader thread takes client
messages (blocking reads, no polling): `cancel` sets the running trial's cancel event at once, `run`
and `load` queue up for the main thread, `shutdown` or end of input stops the loop. A heartbeat
thread writes one message per HEARTBEAT_S so the client can tell a hung worker from a busy one.
"""

from __future__ import annotations

import logging
import os
import queue
import sys
import threading
import time
from typing import IO, Any

import engine
from engine import registry
from engine.causes import FailureCause
from engine.protocol import HEARTBEAT_S, PROTOCOL_VERSION, ProtocolError, decode, encode

log = logging.getLogger("inferlab.engine")


class Channel:
    """Serialises protocol writes from the main, telemetry and heartbeat threads."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.lock = threading.Lock()
        self.broken = False

    def send(self, type_: str, **fields: Any) -> None:
        line = encode(type_, **fields)
        with self.lock:
            if self.broken:
                return
            try:
                self.stream.write(line)
                self.stream.flush()
            except (BrokenPipeError, ValueError, OSError):
                self.broken = True  # the client is gone; the reader sees EOF and stops the loop


class LogForwarder(logging.Handler):
    """Sends the engine's own warnings and errors to the client as `log` messages."""

    def __init__(self, channel: Channel) -> None:
        super().__init__(level=logging.WARNING)
        self.channel = channel

    def emit(self, record: logging.LogRecord) -> None:
        self.channel.send("log", level=record.levelname.lower(), message=self.format(record))


def protect_stdout() -> IO[str]:
    """Return a private text stream on the real stdout; point fd 1 (and sys.stdout) at stderr."""
    proto_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return os.fdopen(proto_fd, "w", encoding="utf-8", buffering=1)


def backend_report() -> dict[str, dict[str, Any]]:
    """Availability of every backend (cheap: no inference library is imported)."""
    out = {}
    for name in registry.names():
        try:
            registry.backend_class(name)  # its folder must import (no inference library is loaded)
            ok, reason = registry.availability(name)
        except Exception as exc:  # a backend module missing or broken is reported, not fatal
            ok, reason = False, f"{type(exc).__name__}: {exc}"
        out[name] = {"available": ok, "reason": reason}
    return out


class Worker:
    """State shared by the reader, heartbeat and main threads."""

    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self.jobs: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.stopping = threading.Event()
        self.current_id: str | None = None
        self.cancel = threading.Event()
        self.state_lock = threading.Lock()
        self.cancelled_ids: set[str] = set()  # cancels that arrived before their trial started

    def read_loop(self, stdin: IO[str]) -> None:
        for line in stdin:
            if not line.strip():
                continue
            try:
                msg = decode(line)
            except ProtocolError as exc:
                self.channel.send("error", id=None, cause=FailureCause.PROTOCOL, message=str(exc))
                continue
            kind = msg["type"]
            if kind == "cancel":
                with self.state_lock:
                    if msg.get("id") in (None, self.current_id):
                        self.cancel.set()
                    else:
                        self.cancelled_ids.add(str(msg.get("id")))
            elif kind == "shutdown":
                break
            elif kind in ("run", "load"):
                self.jobs.put(msg)
            else:
                self.channel.send("error", id=msg.get("id"), cause=FailureCause.PROTOCOL, message=f"unknown type {kind!r}")
        self.stopping.set()
        self.cancel.set()  # input closed or shutdown: stop a running trial too
        self.jobs.put(None)

    def heartbeat_loop(self) -> None:
        while not self.stopping.wait(HEARTBEAT_S):
            self.channel.send("heartbeat", t=time.time())

    def main_loop(self) -> None:
        from engine.runner import Runner

        runner = Runner(self.channel.send)
        try:
            while True:
                msg = self.jobs.get()
                if msg is None or self.stopping.is_set():
                    break
                self._handle(runner, msg)
        finally:
            runner.unload()

    def _handle(self, runner: Any, msg: dict[str, Any]) -> None:
        msg_id = str(msg.get("id"))
        config = msg.get("config") or {}
        if msg["type"] == "load":
            runner.load_only(msg_id, config)
            return
        with self.state_lock:
            self.current_id = msg_id
            self.cancel = threading.Event()
            cancel = self.cancel
            if msg_id in self.cancelled_ids:
                self.cancelled_ids.discard(msg_id)
                cancel.set()
        result = runner.run(msg_id, config, cancel)
        with self.state_lock:
            self.current_id = None
        self.channel.send("result", id=msg_id, result=result.to_dict())


def main() -> int:
    """Worker entry point: hello, serve until shutdown or end of input, bye."""
    proto = protect_stdout()
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="[worker] %(levelname)s %(message)s")
    channel = Channel(proto)
    logging.getLogger("inferlab").addHandler(LogForwarder(channel))
    worker = Worker(channel)
    channel.send("hello", engine_version=engine.__version__, protocol=PROTOCOL_VERSION, pid=os.getpid(),
                 python=sys.executable, backends=backend_report())
    threading.Thread(target=worker.read_loop, args=(sys.stdin,), name="inferlab-reader", daemon=True).start()
    threading.Thread(target=worker.heartbeat_loop, name="inferlab-heartbeat", daemon=True).start()
    try:
        worker.main_loop()
    finally:
        worker.stopping.set()
        channel.send("bye")
    return 0
