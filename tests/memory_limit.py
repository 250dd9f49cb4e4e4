"""A real out-of-memory failure, cheap and the same on any machine: the worker runs under an address-space
limit (RLIMIT_AS, `ulimit -v`) and the trial asks for one allocation far beyond it, failing at once
without touching memory."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

ADDRESS_SPACE_KB = 32 * 1024 * 1024  # 32 GiB: the demo model loads, a 400 GB static KV cache cannot

# A static KV cache of 4096 requests × (8 + 131072) positions: one 412 GB tensor per layer, allocated at
# the first layer of the first forward, before any real compute.
HUGE_CACHE: dict[str, Any] = {
    "engine": "hf-generate", "model": "demo", "batch_size": 4096, "num_requests": 4096, "warmup_requests": 0,
    "repetitions": 1, "input_tokens": 8, "output_tokens": 131072, "cache_implementation": "static",
    "idle_baseline_s": 0.0, "telemetry_hz": 2.0,
}


def limited_python(folder: Path) -> str:
    """A Python launcher that runs this interpreter under RLIMIT_AS (the worker's real memory limit)."""
    path = folder / "python-limited"
    path.write_text(f'#!/bin/sh\nulimit -v {ADDRESS_SPACE_KB}\nexec "{sys.executable}" "$@"\n')
    path.chmod(0o755)
    return str(path)
