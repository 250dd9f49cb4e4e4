"""Study report speed: 10,000 study-shaped runs in a temp SQLite store, reported as HTML and as PDF.

Runs: 10 models × 2 engines × GPU count 1/2/4/8 × batch 1 … 1024 × max new tokens 5/10/20, repeated,
with the largest batches out of memory (synthetic figures: the bench times the report, not inference).
Times what `inferlab study report` does after start-up — list the runs, build the tables (points, best
per group, paired improvement with Wilcoxon and Cliff's δ, the across-GPU-count tests, landscapes, fair-comparison check, methods,
the grouped series chart) and write the file — and prints each with its ratio to the 3 s target. Median of 3.
Usage: python bench/study_report.py [--runs 10000]   (≈ 1 min, most of it filling)
"""

from __future__ import annotations

import argparse
import itertools
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.reports.export import write_report  # noqa: E402
from app.store import Store  # noqa: E402
from app.study.report import StudySpec, build_study_report  # noqa: E402
from engine.results import Measurement, TrialResult  # noqa: E402

TARGET_S = 3.0
METHOD = "generated tokens / wall time of the measured window; median over repetitions"
DESIGN = list(itertools.product([f"model-{m}" for m in range(10)], ["hf-pipeline", "vllm"], [1, 2, 4, 8],
                                [2 ** b for b in range(11)], [5, 10, 20]))


def result(i: int, rng: random.Random) -> TrialResult:
    """Design point i % len(DESIGN), repetition i // len(DESIGN); out of memory past a per-GPU batch."""
    model, engine, gpus, batch, tokens = DESIGN[i % len(DESIGN)]
    config = {"engine": engine, "model": model, "num_gpus": gpus, "batch_size": batch, "output_tokens": tokens,
              "temperature": 0.0, "dtype": "bfloat16", "workload": "humaneval-infilling",
              "repetition": i // len(DESIGN)}
    if batch > 64 * gpus * (4 if engine == "vllm" else 1):
        return TrialResult(f"t{i}", config, "failed", failure_cause="oom", failure_message="CUDA out of memory")
    value = batch ** 0.7 * gpus ** 0.3 * (8 if engine == "vllm" else 1) * rng.uniform(0.9, 1.1)
    return TrialResult(f"t{i}", config, "ok", {"output_tokens_per_s": Measurement.measured(value, "tok/s", METHOD,
                                                                                           n=3)})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10_000)
    args = parser.parse_args()
    rng = random.Random(0)
    worst = 0.0
    with tempfile.TemporaryDirectory() as tmp, Store(f"sqlite:///{tmp}/bench.db") as store:
        for start in range(0, args.runs, 1000):
            store.add_runs([result(i, rng) for i in range(start, min(start + 1000, args.runs))])
        for fmt in ("html", "pdf"):
            times, sizes = [], []
            for _ in range(3):
                t0 = time.perf_counter()
                runs = store.list_runs(limit=None)
                report = build_study_report(runs, StudySpec(), now=time.time())
                path = write_report(report, fmt, Path(tmp) / f"study.{fmt}")
                times.append(time.perf_counter() - t0)
                sizes.append(path.stat().st_size)
            took = statistics.median(times)
            worst = max(worst, took / TARGET_S)
            print(f"study report, {len(runs)} runs, {len(report.sections)} sections, {fmt}: {took:.2f} s "
                  f"(median of 3, {sizes[-1] / 1e6:.1f} MB); ratio to the {TARGET_S:.0f} s target {took / TARGET_S:.2f}")
    return 0 if worst <= 1.0 else 1


if __name__ == "__main__":
    sys.exit(main())
