"""Store listing speed: 10,000 runs × 30 summary metrics in a temp SQLite store.

Times what the GUI's runs table does — count, one sorted page, a filtered page, and listing every
run with its metrics — and prints each figure with its ratio to the 200 ms target. Median of 5.
A listing decodes every run's summary values; the full Measurements (unit, status, method, CI) are read
in one more query the first time any run's are asked for. The last two cases read the table's four
values of every run, and every full Measurement of every run (that extra query included).
Usage: python bench/store_list.py [--runs 10000] [--url URL]   (≈ 1 min, most of it filling)
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.store import Store  # noqa: E402
from engine.metric_names import CATALOGUE  # noqa: E402
from engine.results import Measurement, TrialResult  # noqa: E402

TARGET_MS = 200.0
METRICS = list(CATALOGUE)[:30]
TABLE_METRICS = ("output_tokens_per_s", "ttft_ms_p50", "tpot_ms_p50", "e2e_ms_p99")
METHOD = "generated tokens (counted from the output ids) / wall time of each repetition; median"  # real length


def fake_result(i: int, rng: random.Random) -> TrialResult:
    """A synthetic but realistically shaped result (the bench times the store, not inference)."""
    config = {"engine": rng.choice(["hf-generate", "vllm", "hf-pipeline"]), "model": f"model-{i % 7}",
              "batch_size": 2 ** (i % 8), "output_tokens": 16 * (1 + i % 5), "input_tokens": 128}
    metrics = {name: Measurement.measured(rng.uniform(1, 1000), CATALOGUE[name].unit, METHOD, n=3)
               for name in METRICS}
    return TrialResult(f"t{i}", config, "ok" if i % 10 else "failed", metrics, environment={"cpu": "bench"})


def fill(store: Store, n_runs: int) -> float:
    rng = random.Random(0)
    started = time.perf_counter()
    for start in range(0, n_runs, 1000):
        store.add_runs([fake_result(i, rng) for i in range(start, min(start + 1000, n_runs))])
    return time.perf_counter() - started


def median_ms(fn: Callable[[], object], repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--url", help="store URL (default: a temp SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(args.url or f"sqlite:///{Path(tmp) / 'bench.db'}")
        fill_s = fill(store, args.runs)
        print(f"filled {args.runs} runs × {len(METRICS)} metrics in {fill_s:.1f} s")
        cases = {
            "count_runs()": lambda: store.count_runs(),
            "page of 100, sorted by a metric": lambda: store.list_runs(limit=100, sort="-output_tokens_per_s"),
            "page of 100 at offset 5000, by created_at": lambda: store.list_runs(limit=100, offset=5000,
                                                                                  sort="created_at"),
            "filtered page (engine=vllm, status=ok)": lambda: store.list_runs(engine="vllm", status="ok", limit=100),
            f"all {args.runs} runs with their metric values": lambda: store.list_runs(),
            "… and read 4 table values of every run": lambda: [[r.value(m) for m in TABLE_METRICS]
                                                                 for r in store.list_runs()],
            f"… and all {len(METRICS)} full Measurements of each": lambda: [list(r.metrics.values())
                                                                       for r in store.list_runs()],
        }
        assert len(store.list_runs()) == args.runs
        for name, fn in cases.items():
            ms = median_ms(fn)
            print(f"{name:48s} {ms:9.1f} ms   {ms / TARGET_MS:5.2f}× the {TARGET_MS:.0f} ms target")
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
