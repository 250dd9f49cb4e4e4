"""Optuna TPE on a measured landscape: does it find the best config in a fraction of the grid?

`--measure` runs the real grid in bench/data/measured_grid.toml on the demo model (through
`run_profile`, like `inferlab sweep`) and saves every point with how it was measured to
bench/data/measured_grid.json. Without it, the saved landscape is replayed offline: for each seed,
Optuna (the same `OptunaSearch` the sweeps use) asks for configs and is told the measured
throughput; we record how many new configs it measures before one reaches ≥ 98% of the grid's best
(a repeated suggestion is told its known value for free, as the sweep runner does).
Target: within ≤ 30% of the grid's trials, averaged over seeds. Replay takes seconds.
This landscape has no infeasible point; bench/infpop_replay.py replays the study's 40 real A100
landscapes, where about half of each HF grid runs out of memory.
Usage: python bench/optuna_replay.py [--seeds 10] [--fraction 0.3] [--measure]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.store import Store  # noqa: E402
from app.study.replay import trials_to_reach, walk  # noqa: E402
from app.sweeps import load_profile, run_profile  # noqa: E402
from app.sweeps.optuna_search import OptunaSearch  # noqa: E402
from app.sweeps.planning import axis_params  # noqa: E402

DATA = Path(__file__).resolve().parent / "data"
PROFILE = DATA / "measured_grid.toml"
LANDSCAPE = DATA / "measured_grid.json"
METRIC = "output_tokens_per_s"


def _print_finished(event: dict) -> None:
    if event.get("type") == "trial-finished":
        print(f"trial {event['index'] + 1}: {event['status']} {event['metrics'].get(METRIC)}", file=sys.stderr)


def measure() -> None:
    """Run the real grid once and save the landscape (minutes on a 2-core CPU)."""
    profile = load_profile(PROFILE)
    started = time.time()
    with tempfile.TemporaryDirectory() as tmp, Store(f"sqlite:///{Path(tmp) / 'grid.db'}") as store:
        sweep_id = run_profile(profile, store, on_event=_print_finished)
        runs = store.list_runs(sweep_id=sweep_id, sort="id")
        environment = store.get_run(runs[0].id).environment if runs else {}
    points = [{**axis_params(profile, r.config), METRIC: r.value(METRIC), "status": r.status,
               "ci95": [r.metrics[METRIC].ci95_low, r.metrics[METRIC].ci95_high] if METRIC in r.metrics else None}
              for r in runs]
    LANDSCAPE.write_text(json.dumps({
        "how_measured": {
            "profile": str(PROFILE.relative_to(PROFILE.parents[2])),
            "command": "python bench/optuna_replay.py --measure",
            "started_at_unix": started, "duration_s": round(time.time() - started, 1),
            "metric": METRIC, "hardware": environment.get("hardware"), "software": environment.get("software"),
            "threads": environment.get("threads"),
            "caveat": "measured on a shared 2-core machine while other jobs ran: absolute figures are "
                      "low and noisy; the replay only needs a real landscape's shape",
        },
        "points": points}, indent=1) + "\n")
    print(f"saved {len(points)} points to {LANDSCAPE}")


def replay(seeds: int, fraction: float) -> int:
    data = json.loads(LANDSCAPE.read_text())
    profile = load_profile(PROFILE)
    names = [a.name for a in profile.axes]
    landscape = {tuple(p[n] for n in names): p[METRIC] for p in data["points"] if p[METRIC] is not None}
    best = max(landscape.values())
    goal = 0.98 * best
    grid_size = math.prod(len(a.grid_points()) for a in profile.axes)
    allowed = max(1, int(fraction * grid_size))
    print(f"landscape: {len(landscape)} measured points of {grid_size}; best {METRIC} {best:.4g}; "
          f"goal ≥ {goal:.4g} within {allowed} trials ({fraction:.0%} of the grid)")
    needed = []
    for seed in range(seeds):
        search = OptunaSearch(dataclasses.replace(profile, strategy="optuna", n_trials=grid_size, seed=seed))
        n = trials_to_reach(walk(landscape, search, grid_size, METRIC, stop_at=goal), goal)
        needed.append(n if n is not None else grid_size)
        print(f"seed {seed}: reached the goal after {n} trials")
    mean_n = statistics.fmean(needed)
    within = sum(n <= allowed for n in needed)
    print(f"mean trials to ≥98% of best: {mean_n:.1f} = {mean_n / grid_size:.0%} of the grid "
          f"(target ≤ {fraction:.0%}); within budget for {within}/{seeds} seeds; "
          f"ratio to target {mean_n / allowed:.2f}")
    return 0 if mean_n <= allowed else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--measure", action="store_true", help="measure the real grid first (slow)")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--fraction", type=float, default=0.3)
    args = parser.parse_args()
    if args.measure:
        measure()
    return replay(args.seeds, args.fraction)


if __name__ == "__main__":
    sys.exit(main())
