"""The output of vLLM's engine core, read on its way to the worker's stderr for out-of-memory root causes.

vLLM's engine core (and its workers) are child processes: when one runs out of memory, the worker only gets
"Engine core initialization failed. See root cause above" or an `EngineDeadError`, and the root cause goes
to the child's stdout/stderr. While a `vllm.LLM` is created, fds 1 and 2 point at a pipe, so the children it
starts inherit that pipe for their lifetime; one thread copies every byte to the worker's stderr at once
(nothing is held back or dropped) and keeps the out-of-memory exception lines it sees, numbered by line. A
trial takes a `mark()` when it starts and reads only the lines after it (`evidence_since`): both first
`sync()`, writing a marker into the same pipe and waiting until the thread reads it, so every byte written
before is counted (a child's root cause is written before the worker hears that the child died).
"""

from __future__ import annotations

import collections
import contextlib
import os
import re
import sys
import threading
from collections.abc import Iterator

from engine.errors import OutOfMemoryError, is_out_of_memory

# The marker `sync` writes (under PIPE_BUF, so one atomic write); NUL bytes keep it out of any text.
_SYNC = b"\x00inferlab-core-log-sync\x00"
_SYNC_TIMEOUT_S = 10.0
# A traceback's last line, "Type: message" or a bare "MemoryError", after an optional "(process) " prefix.
_EXCEPTION_LINE = re.compile(r"^(?:\([^)]*\)\s+)?(?:[A-Za-z_]\w*\.)*(?P<type>[A-Za-z_]\w*(?:Error|Exception)_?)"
                             r"(?::\s(?P<message>.*))?$")
_MAX_EVIDENCE = 64
_MAX_PARTIAL = 1 << 20  # bytes of an unfinished line kept for scanning (a progress bar redraws with \r)


def out_of_memory_line(line: str) -> bool:
    """Whether `line` is an exception line that says the memory ran out (device or host)."""
    match = _EXCEPTION_LINE.match(line.strip())
    return match is not None and is_out_of_memory(match["type"], match["message"] or "")


class CoreLog:
    """A pipe in front of the worker's stderr, its copying thread and the out-of-memory lines seen so far."""

    def __init__(self) -> None:
        self._read_fd, self._write_fd = os.pipe()
        self._out_fd = os.dup(2)
        self._cond = threading.Condition()
        self._lines = 0  # lines read so far
        self._evidence: collections.deque[tuple[int, str]] = collections.deque(maxlen=_MAX_EVIDENCE)
        self._syncs_sent = 0
        self._syncs_seen = 0
        self._partial = b""
        self._forwarding = True
        threading.Thread(target=self._copy, name="inferlab-vllm-core-log", daemon=True).start()

    @contextlib.contextmanager
    def attached(self) -> Iterator[None]:
        """Point fds 1 and 2 at the pipe for the block (processes started in it keep it); restore them after."""
        sys.stdout.flush()
        sys.stderr.flush()
        saved = os.dup(1), os.dup(2)
        os.dup2(self._write_fd, 1)
        os.dup2(self._write_fd, 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])

    def mark(self) -> int:
        """The number of lines read so far, every byte written before this call included."""
        self.sync()
        with self._cond:
            return self._lines

    def evidence_since(self, mark: int) -> list[str]:
        """The out-of-memory exception lines read after `mark` (each once, in order), every byte written
        before this call included."""
        self.sync()
        with self._cond:
            lines = [line for number, line in self._evidence if number > mark]
        return list(dict.fromkeys(lines))

    @contextlib.contextmanager
    def out_of_memory_as_oom(self, mark: int) -> Iterator[None]:
        """Re-raise the engine core's death in the block as OutOfMemoryError, with its out-of-memory lines
        since `mark` as the evidence, where there are any; any other exception passes unchanged."""
        try:
            yield
        except Exception as exc:
            if _engine_core_died(exc) and (evidence := self.evidence_since(mark)):
                raise OutOfMemoryError(f"vLLM's engine core ran out of memory: {evidence[0]}", evidence) from exc
            raise

    def sync(self) -> bool:
        """Wait until the thread has read everything written to the pipe before this call; False if it did
        not within _SYNC_TIMEOUT_S (the worker's stderr is not being read)."""
        with self._cond:
            self._syncs_sent += 1
            ticket = self._syncs_sent
            os.write(self._write_fd, _SYNC)
            return self._cond.wait_for(lambda: self._syncs_seen >= ticket, _SYNC_TIMEOUT_S)

    def _copy(self) -> None:
        pending = b""
        while chunk := os.read(self._read_fd, 65536):
            data = pending + chunk
            while (at := data.find(_SYNC)) >= 0:
                self._take(data[:at])
                data = data[at + len(_SYNC):]
                with self._cond:
                    self._syncs_seen += 1
                    self._cond.notify_all()
            keep = _sync_prefix_len(data)
            self._take(data[:len(data) - keep])
            pending = data[len(data) - keep:]

    def _take(self, data: bytes) -> None:
        """Copy `data` to the worker's stderr and scan its finished lines."""
        if not data:
            return
        self._forward(data)
        *done, self._partial = re.split(rb"[\r\n]", self._partial + data)
        self._partial = self._partial[-_MAX_PARTIAL:]
        with self._cond:
            for raw in done:
                self._lines += 1
                line = raw.decode("utf-8", "replace").strip()
                if out_of_memory_line(line):
                    self._evidence.append((self._lines, line))

    def _forward(self, data: bytes) -> None:
        if not self._forwarding:
            return
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(self._out_fd, view):]
        except OSError:  # the client closed the worker's stderr: nobody can read it; keep scanning so
            self._forwarding = False  # the children never block on a full pipe


def _engine_core_died(exc: BaseException) -> bool:
    """Whether `exc` (or an exception it was raised from) says vLLM's engine core process died: at start
    ("Engine core initialization failed") or later (EngineDeadError)."""
    seen: BaseException | None = exc
    while seen is not None:
        if type(seen).__name__ == "EngineDeadError" or str(seen).startswith("Engine core initialization failed"):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _sync_prefix_len(data: bytes) -> int:
    """Length of the longest end of `data` that begins the sync marker (held back until the next read)."""
    for n in range(min(len(data), len(_SYNC) - 1), 0, -1):
        if data.endswith(_SYNC[:n]):
            return n
    return 0


_log: CoreLog | None = None
_log_lock = threading.Lock()


def get() -> CoreLog:
    """The worker's one CoreLog, created on first use."""
    global _log
    with _log_lock:
        if _log is None:
            _log = CoreLog()
        return _log
