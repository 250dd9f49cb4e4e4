"""Time each report format on a 1,000-run sweep in a temporary SQLite store.

The runs are synthetic TrialResults shaped like real ones (every catalogue metric the CPU engine
reports, four requests and 40 telemetry samples each, a 10 × 10 × 10 grid over batch_size,
input_tokens and max_num_seqs, 2% failed). Prints seconds per format, the share spent reading the
store, and the ratio to the 1,000-runs-in-seconds target. Wall and CPU seconds are both printed: on a
shared machine the CPU figure is the one that says what the export itself costs. Usage:

    .venv/bin/python bench/export_large.py [--runs 1000] [--formats html,pdf,csv,json,md]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.reports.export import FORMATS, export_runs  # noqa: E402
from app.store import Store  # noqa: E402
from engine.results import Measurement, RequestRecord, TrialResult  # noqa: E402

TARGET_S = 10.0  # "finishes in seconds": the bar each format is held to


def synthetic_result(i: int, rng: random.Random) -> TrialResult:
    bs, n_in, seqs = 2 ** (i % 10), 64 * (1 + (i // 10) % 10), 8 * (1 + (i // 100) % 10)
    config = {"engine": "vllm", "model": "demo", "batch_size": bs, "input_tokens": n_in, "output_tokens": 64,
              "max_num_seqs": seqs, "dtype": "bfloat16"}
    if i % 50 == 49:
        return TrialResult(f"t{i}", config, "failed", failure_cause="oom", failure_message="out of memory",
                           environment={"cpu": "bench"}, started_at=0.0, finished_at=1.0)
    tps = 40.0 * bs / (1 + n_in / 512) * rng.uniform(0.9, 1.1)
    m = {"output_tokens_per_s": Measurement.from_repetitions([tps * rng.uniform(0.97, 1.03) for _ in range(6)],
                                                             "tok/s", "generated tokens / measured wall time"),
         "requests_per_s": Measurement.measured(tps / 64, "req/s", "finished requests / wall"),
         "peak_rss_bytes": Measurement.measured(1.1e9 + bs * 1e6, "B", "psutil RSS peak"),
         "energy_j_per_output_token": Measurement.unavailable("J/tok", "no NVML; RAPL not readable"),
         "gpu_energy_j": Measurement.unavailable("J", "no NVML")}
    for base, v in (("ttft_ms", 20 + n_in / 8), ("tpot_ms", 1000 * bs / tps), ("e2e_ms", 64000 * bs / tps)):
        for suffix, k in (("mean", 1.0), ("p50", 0.98), ("p90", 1.2), ("p99", 1.4), ("max", 1.5)):
            m[f"{base}_{suffix}"] = Measurement.measured(v * k, "ms", "per-request timestamps", n=4)
    reqs = [RequestRecord(0, k, n_in, 64, 0.1 * k, 0.1 * k + 0.02, 0.1 * k + 0.5) for k in range(4)]
    return TrialResult(f"t{i}", config, "ok", m, reqs, {"cpu": "bench", "torch": "2.x"}, started_at=0.0,
                       finished_at=1.0, notes=["synthetic bench run"])


def telemetry(rng: random.Random) -> list[dict]:
    return [{"t": 1000.0 + 0.1 * k, "cpu_percent": rng.uniform(50, 100), "ram_used_bytes": 1, "ram_total_bytes": 2,
             "worker_rss_bytes": int(1.1e9), "gpus": []} for k in range(40)]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--formats", default=",".join(FORMATS))
    args = ap.parse_args()
    rng = random.Random(0)
    with tempfile.TemporaryDirectory() as tmp, Store(f"sqlite:///{tmp}/bench.db") as store:
        t0 = time.perf_counter()
        sweep = store.create_sweep("bench", {}, "grid")
        ids = [store.add_run(synthetic_result(i, rng), sweep_id=sweep, telemetry=telemetry(rng))
               for i in range(args.runs)]
        print(f"built a {args.runs}-run store in {time.perf_counter() - t0:.1f} s")
        t0, c0 = time.perf_counter(), time.process_time()
        store.get_runs(ids)
        print(f"reading {args.runs} runs from the store (part of every export below): "
              f"{time.perf_counter() - t0:.2f} s wall, {time.process_time() - c0:.2f} s CPU")
        print(f"{'format':<6} {'wall s':>8} {'CPU s':>8} {'size MiB':>9} {'progress calls':>15} {'wall/target':>12}")
        for fmt in args.formats.split(","):
            calls: list[tuple[int, int]] = []
            t0, c0 = time.perf_counter(), time.process_time()
            path = export_runs(store, ids, fmt, Path(tmp) / f"report.{fmt}", title="bench",
                               progress=lambda d, t, calls=calls: calls.append((d, t)))
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            assert calls[-1][0] == calls[-1][1]
            print(f"{fmt:<6} {wall:8.2f} {cpu:8.2f} {path.stat().st_size / 2**20:9.2f} {len(calls):15d} "
                  f"{wall / TARGET_S:12.2f}")
    print(f"wall/target = wall seconds / {TARGET_S:.0f} s (≤ 1 meets 'a 1,000-run export finishes in seconds')")
    return 0


if __name__ == "__main__":
    sys.exit(main())
