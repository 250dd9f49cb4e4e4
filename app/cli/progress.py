"""Progress on stderr for sweeps: a one-line bar with ETA on a terminal, plain lines otherwise."""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

BAR_WIDTH = 24


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


class Progress:
    """Feed it sweep events (`__call__`); it draws on `stream` (stderr by default)."""

    def __init__(self, stream: TextIO | None = None, headline_metric: str = "output_tokens_per_s") -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.metric = headline_metric
        self.total = 0
        self.finished = 0
        self.trial_times_s: list[float] = []
        self.trial_started = time.monotonic()
        self.phase = ""

    def eta_s(self) -> float | None:
        """Mean time of the trials run so far × trials left (None before the first one ends)."""
        if not self.trial_times_s:
            return None
        return sum(self.trial_times_s) / len(self.trial_times_s) * max(self.total - self.finished, 0)

    def __call__(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "sweep-started":
            self.total = int(event["total"])
            self._line(f"sweep {event['sweep_id']}: {self.total} trial(s)", final=True)
        elif kind == "trial-started":
            self.trial_started = time.monotonic()
            self.phase = "starting"
            self._draw(event["index"])
        elif kind == "trial-skipped":
            self.finished += 1
            why = event.get("reason") or f"already done (run {event['run_id']})"
            self._line(f"trial {event['index'] + 1}/{self.total} {why}", final=True)
        elif kind == "progress":
            phase = str(event.get("phase", ""))
            if not self.tty and not self.phase.startswith(phase):  # plain logs: one line per phase
                self._line(f"trial {event['index'] + 1}/{self.total}: {phase}", final=True)
            self.phase = f"{phase} {event.get('done', '')}/{event.get('total', '')}"
            if self.tty:
                self._draw(event["index"])
        elif kind == "loaded":
            how = "reused" if event.get("reused") else f"loaded in {float(event.get('load_time_s') or 0):.1f} s"
            self._line(f"trial {event['index'] + 1}/{self.total}: model {how}", final=True)
        elif kind == "trial-finished":
            self.finished += 1
            self.trial_times_s.append(time.monotonic() - self.trial_started)
            self._finished(event)
        elif kind == "log" and "index" not in event:  # the sweep's own messages (a worker's carry an index)
            level = event.get("level", "info")
            self._line(("" if level == "info" else f"{level}: ") + str(event.get("message", "")), final=True)
        elif kind == "trial-placed":
            gpus = ",".join(event.get("gpu_ids") or []) or "none"
            self._line(f"trial {event['index'] + 1}/{self.total}: on node {event.get('node_ip')} "
                       f"(Ray GPUs {gpus}, CUDA_VISIBLE_DEVICES={event.get('cuda_visible_devices')})", final=True)
        elif kind == "sweep-paused":
            self._line("paused after the current trial", final=True)

    def _draw(self, index: int) -> None:
        if not self.tty:
            if self.phase == "starting":
                self._line(f"trial {index + 1}/{self.total} started", final=True)
            return
        done = int(BAR_WIDTH * self.finished / max(self.total, 1))
        eta = self.eta_s()
        eta_text = f"ETA {_duration(eta)}" if eta is not None else "ETA --"
        self._line(f"[{'#' * done}{'-' * (BAR_WIDTH - done)}] {self.finished}/{self.total} {eta_text} "
                   f"trial {index + 1}: {self.phase}", final=False)

    def _finished(self, event: dict[str, Any]) -> None:
        status = event["status"] + (f" ({event['failure_cause']})" if event.get("failure_cause") else "")
        value = (event.get("metrics") or {}).get(self.metric)
        figure = f" {self.metric}={value:.4g}" if isinstance(value, (int, float)) else ""
        eta = self.eta_s()
        eta_text = f", ETA {_duration(eta)}" if eta is not None and self.finished < self.total else ""
        where = f"run {event['run_id']}" if event.get("recovery_file") is None else (
            f"NOT STORED ({event.get('store_error')}); saved to {event['recovery_file']}")
        self._line(f"trial {event['index'] + 1}/{self.total} {status}: {where}{figure} "
                   f"[{_duration(self.trial_times_s[-1])}{eta_text}]", final=True)

    def _line(self, text: str, *, final: bool) -> None:
        if self.tty:
            self.stream.write("\r\x1b[2K" + text + ("\n" if final else ""))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()
