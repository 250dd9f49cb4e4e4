"""Synthetic-but-shaped bench data for the GUI benches: TrialResults with the metric names, units and
telemetry samples real runs have (values drawn from a seeded generator). Cached SQLite files under
the temp dir so reruns skip the insert."""

from __future__ import annotations

import random
import tempfile
import time
from pathlib import Path

from app.store import Store
from engine.results import Measurement, TrialResult

CACHE = Path(tempfile.gettempdir()) / "inferlab-gui-bench"


def _result(k: int, rng: random.Random, telemetry_samples: int) -> tuple[TrialResult, list[dict]]:
    bs = rng.choice([1, 2, 4, 8, 16, 32])
    tps = rng.uniform(20, 400) * bs ** 0.5
    ok = rng.random() > 0.1
    metrics = {
        "output_tokens_per_s": Measurement.measured(tps, "tok/s", "bench data"),
        "energy_j_per_output_token": Measurement.unavailable("J/tok", "no NVML, RAPL not readable"),
        "ttft_ms_p50": Measurement.measured(rng.uniform(5, 200), "ms", "bench data"),
        "ttft_ms_p99": Measurement.measured(rng.uniform(200, 400), "ms", "bench data"),
        "itl_ms_p50": Measurement.measured(rng.uniform(5, 40), "ms", "bench data"),
        "itl_ms_p99": Measurement.measured(rng.uniform(40, 90), "ms", "bench data"),
        "peak_rss_bytes": Measurement.measured(rng.uniform(0.8, 2.5) * 1024**3, "B", "bench data"),
    } if ok else {}
    config = {"engine": "hf-generate", "model": "demo", "batch_size": bs,
              "input_tokens": rng.choice([32, 128, 512]), "output_tokens": rng.choice([16, 64, 256])}
    t0 = 1.7e9 + k * 60
    result = TrialResult(f"bench-{k}", config, "ok" if ok else "failed", metrics,
                         failure_cause=None if ok else "oom", failure_message=None if ok else "bench: OOM",
                         started_at=t0, finished_at=t0 + 30)
    telemetry = [{"t": t0 + i * 0.1, "cpu_percent": rng.uniform(50, 100), "ram_used_bytes": int(4e9),
                  "ram_total_bytes": int(16e9), "worker_rss_bytes": int(1e9), "gpus": []}
                 for i in range(telemetry_samples)]
    return result, telemetry


def bench_store(runs: int, telemetry_samples: int = 0) -> str:
    """URL of a cached store with `runs` runs (created on first use)."""
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"runs{runs}-tel{telemetry_samples}.db"
    url = f"sqlite:///{path}"
    if path.exists():
        return url
    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    rng = random.Random(0)
    start = time.perf_counter()
    made = [_result(k, rng, telemetry_samples) for k in range(runs)]
    with Store(f"sqlite:///{partial}") as store:
        if telemetry_samples:
            for result, telemetry in made:
                store.add_run(result, telemetry=telemetry, tags=("bench",))
        else:  # one transaction for the big store
            store.add_runs([result for result, _ in made], tags=("bench",))
    partial.rename(path)
    print(f"(created {path} with {runs} runs in {time.perf_counter() - start:.1f} s)")
    return url
