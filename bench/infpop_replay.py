"""InferLab's Optuna search vs uniform random sampling on the study's real A100 landscapes.

allData.csv (arXiv 2408.01050, UPCBarcelonaTech/infpop) holds 40 model × engine grids of GPU count ×
batch size. A point's throughput is the median of its `ok` rows; a point is infeasible when at least
half its rows failed, with cause "oom" if any failed row ran out of memory, else "crash"; a grid
point the study never ran counts as a failure ("crash") that bounds nothing. The GPU axis is vLLM's
`tensor_parallel_size` (more GPUs: less memory each) or, for HF `device_map="auto"`, an axis without
a memory direction (see app/sweeps/search_space.py).

For each landscape and seed, `OptunaSearch` (as the sweep runner drives it) is told each point's
outcome; we count the new configs it measures until one reaches ≥ 98% of the landscape's best.
Random: uniform sampling without replacement among the grid's points, simulated with the same seeds,
and its exact expectation (N + 1) / (K + 1) for K goal points among N.
Target: mean over landscapes ≤ 0.6 × random's expectation; every landscape reaches the goal within
its grid size. Takes about a minute.
Usage: python bench/infpop_replay.py [CSV] [--seeds 10]   (CSV: ../shared/data/infpop/allData.csv)
"""

from __future__ import annotations

import argparse
import collections
import csv
import dataclasses
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.study.replay import GOAL, random_trials, trials_to_reach, walk  # noqa: E402
from app.sweeps.optuna_search import OptunaSearch  # noqa: E402
from app.sweeps.profile import Axis, Objective, Profile  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CSV = ROOT.parent / "shared" / "data" / "infpop" / "allData.csv"
METRIC = "output_tokens_per_s"
TARGET_RATIO = 0.6


@dataclasses.dataclass(frozen=True)
class Landscape:
    """One model × engine grid: axis values and each point's throughput or failure cause."""

    model: str
    engine: str
    gpus: tuple[int, ...]
    batch_sizes: tuple[int, ...]
    outcomes: dict[tuple[int, int], float | str]

    @property
    def name(self) -> str:
        return f"{self.model} {self.engine}"

    @property
    def best(self) -> float:
        return max(v for v in self.outcomes.values() if isinstance(v, float))

    def goal_points(self) -> int:
        return sum(isinstance(v, float) and v >= GOAL * self.best for v in self.outcomes.values())

    def profile(self, seed: int) -> Profile:
        """A one-objective profile over this grid (vLLM's GPU axis is tensor parallelism)."""
        gpu_axis = "tensor_parallel_size" if self.engine == "vLLM" else "visible_gpus"
        engine = "vllm" if self.engine == "vLLM" else "hf-pipeline"
        return Profile(self.name, "", {"engine": engine},
                       (Axis(gpu_axis, values=self.gpus), Axis("batch_size", values=self.batch_sizes)),
                       "optuna", len(self.outcomes), None, seed, (Objective(METRIC, "maximize"),), ())


def _outcome(rows: list[dict[str, str]]) -> float | str:
    ok = [float(r["throughput"]) for r in rows if r["errors_l"] == "ok" and r["throughput"]]
    failed = [r["errors_l"] for r in rows if r["errors_l"] != "ok"]
    if ok and len(ok) > len(failed):
        return statistics.median(ok)
    return "oom" if "CUDA out of memory" in failed else "crash"


def load_landscapes(path: Path) -> list[Landscape]:
    """Every model × engine grid of allData.csv, in file order."""
    points: dict[tuple[str, str], dict[tuple[int, int], list[dict[str, str]]]] = {}
    with path.open(newline="") as f:
        for row in csv.DictReader(f):
            grid = points.setdefault((row["model"], row["engine"]), collections.defaultdict(list))
            grid[(int(row["nrGPUs"]), int(row["batchSize"]))].append(row)
    out = []
    for (model, engine), grid in points.items():
        gpus = tuple(sorted({g for g, _ in grid}))
        batches = tuple(sorted({b for _, b in grid}))
        outcomes = {(g, b): _outcome(grid[(g, b)]) if (g, b) in grid else "crash" for g in gpus for b in batches}
        out.append(Landscape(model, engine, gpus, batches, outcomes))
    return out


def search_trials(landscape: Landscape, seed: int) -> int | None:
    """New configs InferLab's search measures to reach the goal (None: not within the grid)."""
    search = OptunaSearch(landscape.profile(seed))
    goal = GOAL * landscape.best
    return trials_to_reach(walk(landscape.outcomes, search, len(landscape.outcomes), METRIC, stop_at=goal), goal)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("csv", nargs="?", type=Path, default=DEFAULT_CSV, help="allData.csv")
    parser.add_argument("--seeds", type=int, default=10)
    args = parser.parse_args()
    if not args.csv.is_file():
        parser.error(f"{args.csv}: no such file (pass the path of the study's allData.csv)")
    rows, failed_landscapes = [], []
    for land in load_landscapes(args.csv):
        found = [search_trials(land, seed) for seed in range(args.seeds)]
        size = len(land.outcomes)
        if None in found:
            failed_landscapes.append(land.name)
        ours = statistics.fmean(size if n is None else n for n in found)
        simulated = statistics.fmean(random_trials(land, seed) for seed in range(args.seeds))
        expected = (size + 1) / (land.goal_points() + 1)
        infeasible = sum(not isinstance(v, float) for v in land.outcomes.values())
        rows.append((land.name, size, ours, simulated, expected))
        print(f"{land.name:32s} {size:2d} points, {infeasible:2d} infeasible: search {ours:5.1f}, "
              f"random {simulated:5.1f} (expected {expected:5.1f}), ratio {ours / expected:.2f}")
    ours = statistics.fmean(r[2] for r in rows)
    simulated = statistics.fmean(r[3] for r in rows)
    expected = statistics.fmean(r[4] for r in rows)
    share = statistics.fmean(r[2] / r[1] for r in rows)
    random_share = statistics.fmean(r[4] / r[1] for r in rows)
    worst = max(rows, key=lambda r: r[2] / r[4])
    ratio = ours / expected
    print(f"\n{len(rows)} landscapes × {args.seeds} seeds: mean new configs to ≥{GOAL:.0%} of the best: "
          f"search {ours:.2f} ({share:.0%} of the grid), random {expected:.2f} expected ({random_share:.0%}; "
          f"{simulated:.2f} simulated); ratio {ratio:.2f} (target ≤ {TARGET_RATIO})")
    print(f"worst landscape: {worst[0]}: search {worst[2]:.1f} vs random {worst[4]:.1f} expected "
          f"(ratio {worst[2] / worst[4]:.2f}); goal not reached within the grid: "
          f"{', '.join(failed_landscapes) or 'none'}")
    return 0 if ratio <= TARGET_RATIO and not failed_landscapes else 1


if __name__ == "__main__":
    sys.exit(main())
