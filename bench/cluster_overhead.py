"""Overhead per trial of a sweep on Ray vs the local serial path, on tiny trials of the demo model.

Both paths run the same grid of tiny trials (one load key, so each keeps its model loaded) through
`run_profile`, like `inferlab sweep` and `inferlab sweep --cluster auto`. The Ray path runs on a local
cluster with one logical GPU, so it too runs one trial at a time: the difference is what Ray adds
(an actor, the event stream to the driver), not parallelism. The time per trial is the median gap
between consecutive `trial-finished` events after the first trial (which loads the model); the
cluster's start-up is one-off and is printed apart. The two paths alternate for `--rounds` rounds, so
a machine whose load drifts weighs on both alike. Target: Ray / local ≤ 1.10.
Usage: python bench/cluster_overhead.py [--trials 12] [--output-tokens 4] [--rounds 3]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.store import Store  # noqa: E402
from app.sweeps import parse_profile, run_profile  # noqa: E402

TARGET = 1.10


def _profile(trials: int, output_tokens: int) -> str:
    seeds = ", ".join(str(s) for s in range(trials))
    return f"""name = "cluster-overhead"
engine = "hf-generate"
model = "demo"
strategy = "grid"
repetitions = 1
[options]
device = "auto"
input_tokens = 8
output_tokens = {output_tokens}
num_requests = 2
warmup_requests = 0
idle_baseline_s = 0.0
[axes]
seed = [{seeds}]
"""


def seconds_per_trial(text: str, cluster: str | None) -> float:
    """Median seconds between consecutive trial ends, the first (model-loading) trial left out."""
    ends: list[float] = []

    def on_event(event: dict[str, Any]) -> None:
        if event["type"] == "trial-finished":
            if event["status"] != "ok":
                raise SystemExit(f"a trial failed: {event}")
            ends.append(time.perf_counter())

    with tempfile.TemporaryDirectory() as tmp, Store(f"sqlite:///{tmp}/bench.db") as store:
        run_profile(parse_profile(text, "cluster-overhead.toml"), store, on_event=on_event, cluster=cluster)
    return statistics.median(b - a for a, b in zip(ends, ends[1:], strict=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--output-tokens", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    text = _profile(args.trials, args.output_tokens)

    import ray

    started = time.perf_counter()
    temp = tempfile.mkdtemp(prefix="ray", dir="/tmp")
    ray.init(num_cpus=1, num_gpus=1, include_dashboard=False, log_to_driver=False, _temp_dir=temp)
    print(f"local Ray cluster started in {time.perf_counter() - started:.1f} s (one-off, not per trial)")
    local: list[float] = []
    on_ray: list[float] = []
    try:
        for _ in range(args.rounds):
            local.append(seconds_per_trial(text, None))
            on_ray.append(seconds_per_trial(text, "auto"))
            print(f"round: local {local[-1] * 1000:.0f} ms, Ray {on_ray[-1] * 1000:.0f} ms per trial", flush=True)
    finally:
        ray.shutdown()
        shutil.rmtree(temp, ignore_errors=True)
    ratio = statistics.median(on_ray) / statistics.median(local)
    print(f"{args.trials} tiny trials ({args.output_tokens} output tokens, 2 requests) × {args.rounds} rounds, "
          f"median seconds per trial after the first: local {statistics.median(local) * 1000:.0f} ms, "
          f"Ray {statistics.median(on_ray) * 1000:.0f} ms")
    print(f"overhead ratio Ray / local = {ratio:.3f} (target <= {TARGET:.2f}): {'ok' if ratio <= TARGET else 'MISSED'}")


if __name__ == "__main__":
    main()
