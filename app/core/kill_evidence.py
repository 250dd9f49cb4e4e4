"""Evidence for a worker killed by a SIGKILL the client did not send: was it the kernel's OOM killer?

Only evidence is reported, never a guess: the kernel's own OOM-killer line about the process (read
from /dev/kmsg), or why the kernel log is not readable, and the worker's resident memory at the last
telemetry sample the client received.
"""

from __future__ import annotations

import errno
import os
import re
import time
from collections.abc import Mapping, Sequence
from typing import Any

KMSG = "/dev/kmsg"
MAX_KMSG_RECORDS = 200_000  # the ring buffer holds far fewer; a bound against a never-ending read


def kernel_oom_message(pid: int, kmsg: str = KMSG) -> str:
    """The kernel's OOM-killer line about `pid`, "none found ..." if the log has none, or
    "not readable: why" where the kernel log cannot be read here."""
    pattern = re.compile(rf"(Killed process {pid}\b|oom-kill:.*\bpid={pid}\b)")
    try:
        fd = os.open(kmsg, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        return f"not readable: {kmsg}: {exc.strerror or exc}"
    found: str | None = None
    try:
        for _ in range(MAX_KMSG_RECORDS):
            try:
                record = os.read(fd, 8192)
            except OSError as exc:
                if exc.errno == errno.EPIPE:  # records overwritten while reading: go on with the next
                    continue
                if exc.errno == errno.EAGAIN:  # the end of the log
                    break
                return f"not readable: {kmsg}: {exc.strerror or exc}"
            if not record:
                break
            text = record.decode("utf-8", "replace").split(";", 1)[-1].strip()
            if pattern.search(text):
                found = text
    finally:
        os.close(fd)
    return found or f"none found: the kernel log ({kmsg}) has no OOM-killer line about pid {pid}"


def last_rss(samples: Sequence[Mapping[str, Any]]) -> str:
    """The worker's RSS at the last telemetry sample (with its age), or why there is none."""
    for sample in reversed(samples):
        rss = sample.get("worker_rss_bytes")
        if isinstance(rss, (int, float)):
            age_s = time.time() - float(sample.get("t") or time.time())
            return (f"{int(rss)} bytes ({rss / 2**20:.0f} MiB) at the last telemetry sample, "
                    f"{age_s:.1f} s before the kill was seen")
        # a sample without RSS (worker tree not readable) is passed over for an older one
    return "unavailable: no telemetry sample with the worker's RSS arrived before it died"


def evidence_notes(pid: int, samples: Sequence[Mapping[str, Any]]) -> list[str]:
    """The run notes that carry the evidence (one line per field)."""
    return [f"evidence.kernel_oom_message: {kernel_oom_message(pid)}",
            f"evidence.worker_rss_last_sample: {last_rss(samples)}"]
