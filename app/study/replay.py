"""Offline replay of the Optuna search over a grid that was already measured: how many new configurations
it needs to come within 98 % of the grid's best, and how close it gets within a budget, over many seeds.

A landscape is one group's grid (say one model on one engine) over a few axes (say GPU count × batch
size), built from stored runs pooled into configuration points (app/study/tables.points): a point's
outcome is its value, or "oom" when every run failed out of memory, or "crash" for any other failure;
a grid point that was never measured counts as "crash" (it bounds nothing). The search is the sweep
runner's `OptunaSearch`, told each point's stored outcome instead of running it.
"""

from __future__ import annotations

import dataclasses
import random
import statistics
from collections.abc import Mapping, Sequence
from typing import Any

from app.store.records import RunSummary
from app.study.tables import points, value_order
from app.sweeps.optuna_search import OptunaSearch
from app.sweeps.profile import Axis, Objective, Profile

GOAL = 0.98
Outcome = float | str


@dataclasses.dataclass(frozen=True)
class Landscape:
    """One group's measured grid: the axes' values and each grid point's value or failure cause."""

    group: tuple[Any, ...]
    engine: str
    axes: tuple[tuple[str, tuple[Any, ...]], ...]
    outcomes: dict[tuple[Any, ...], Outcome]

    @property
    def name(self) -> str:
        return " · ".join(map(str, self.group))

    @property
    def best(self) -> float:
        return max(v for v in self.outcomes.values() if isinstance(v, float))

    def goal_points(self) -> int:
        return sum(isinstance(v, float) and v >= GOAL * self.best for v in self.outcomes.values())

    def profile(self, metric: str, seed: int) -> Profile:
        """A one-objective Optuna profile over exactly this grid."""
        return Profile(self.name, "", {"engine": self.engine},
                       tuple(Axis(name, values=values) for name, values in self.axes), "optuna",
                       len(self.outcomes), None, seed, (Objective(metric, "maximize"),), ())


def landscapes(runs: Sequence[RunSummary], metric: str, axes: Sequence[str],
               group_by: Sequence[str]) -> list[Landscape]:
    """One landscape per group that has at least one ok point.

    Raises:
        ValueError: two points of one group fall on the same grid cell (an option outside `group_by` and
            `axes` varies), naming that option.
    """
    cells: dict[tuple[Any, ...], dict[tuple[Any, ...], Any]] = {}
    for point in points(runs, metric):
        group = tuple(point.option(k) for k in (*group_by, "engine"))
        cell = tuple(point.option(a) for a in axes)
        grid = cells.setdefault(group, {})
        if cell in grid:
            other = dict(grid[cell].options)
            varying = sorted(k for k, v in point.options if other.get(k) != v) or ["(none)"]
            raise ValueError(f"group {group[:-1]}: two configurations at {dict(zip(axes, cell, strict=True))} "
                             f"differ in {', '.join(varying)}; add it to --group or --axis")
        grid[cell] = point
    out = []
    for group, grid in sorted(cells.items(), key=lambda kv: repr(kv[0])):
        values = tuple(tuple(sorted({cell[i] for cell in grid}, key=value_order)) for i in range(len(axes)))
        outcomes: dict[tuple[Any, ...], Outcome] = {}
        for cell in _product(values):
            p = grid.get(cell)
            outcomes[cell] = (float(p.value) if p is not None and p.value is not None
                              else "oom" if p is not None and p.oom else "crash")
        if any(isinstance(v, float) for v in outcomes.values()):
            out.append(Landscape(group[:-1], str(group[-1]), tuple(zip(axes, values, strict=True)), outcomes))
    return out


def _product(values: Sequence[Sequence[Any]]) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = [()]
    for axis in values:
        out = [(*prefix, v) for prefix in out for v in axis]
    return out


def walk(outcomes: Mapping[tuple[Any, ...], Outcome], search: OptunaSearch, budget: int, metric: str,
         stop_at: float | None = None) -> list[Outcome]:
    """The outcomes of the new configurations the search measures, in order, up to `budget` of them (fewer
    when the grid is exhausted, or once one reaches `stop_at`). A point missing from `outcomes` failed
    unmeasured ("crash"); as in the sweep runner, a suggestion measured before is told its stored outcome
    and costs no trial."""
    told: dict[tuple[Any, ...], Outcome] = {}
    for _ in range(budget * 50):
        if search.exhausted() or len(told) >= budget:
            break
        trial, config = search.ask()
        key = tuple(config[a.name] for a in search.profile.axes)
        outcome = told.get(key, outcomes.get(key, "crash"))
        value = float(outcome) if isinstance(outcome, (int, float)) else None
        search.tell(trial, value is not None, {metric: value}, None if value is not None else str(outcome))
        told.setdefault(key, outcome)
        if stop_at is not None and value is not None and value >= stop_at:
            break
    return list(told.values())


def trials_to_reach(measured: Sequence[Outcome], goal: float) -> int | None:
    """How many of the measured configurations it took to reach `goal` (None: not reached)."""
    return next((i for i, v in enumerate(measured, 1) if isinstance(v, (int, float)) and v >= goal), None)


@dataclasses.dataclass(frozen=True)
class ReplayRow:
    """One landscape over many seeds: trials to 98 % of the best (None where a seed did not reach it within
    the budget), the best found within the budget as a share of the grid's best, and uniform random
    sampling's exact expectation of trials to the goal, (N + 1) / (K + 1) for K goal points among N."""

    landscape: Landscape
    budget: int
    trials: tuple[int | None, ...]
    shares: tuple[float, ...]
    random_expected: float

    @property
    def reached(self) -> int:
        return sum(t is not None for t in self.trials)

    def trials_quantiles(self) -> tuple[float, float, float] | None:
        """10th, 50th and 90th percentile of trials to the goal over the seeds that reached it."""
        hit = sorted(t for t in self.trials if t is not None)
        return _quantiles(hit) if hit else None

    def share_quantiles(self) -> tuple[float, float, float]:
        return _quantiles(sorted(self.shares))


def _quantiles(values: Sequence[float]) -> tuple[float, float, float]:
    if len(values) == 1:
        return (values[0],) * 3  # type: ignore[return-value]
    q = statistics.quantiles(values, n=10, method="inclusive")
    return q[0], statistics.median(values), q[-1]


def replay(landscape: Landscape, metric: str, seeds: int, budget: int | None = None) -> ReplayRow:
    """The search replayed on `landscape` with seeds 0 … seeds-1, each allowed `budget` new configurations
    (default: the whole grid)."""
    size = len(landscape.outcomes)
    budget = size if budget is None else min(budget, size)
    goal = GOAL * landscape.best
    trials, shares = [], []
    for seed in range(seeds):
        measured = walk(landscape.outcomes, OptunaSearch(landscape.profile(metric, seed)), budget, metric)
        trials.append(trials_to_reach(measured, goal))
        shares.append(max((v for v in measured if isinstance(v, float)), default=0.0) / landscape.best)
    return ReplayRow(landscape, budget, tuple(trials), tuple(shares), (size + 1) / (landscape.goal_points() + 1))


def random_trials(landscape: Landscape, seed: int) -> int:
    """Draws without replacement until a goal point (uniform over the grid's points)."""
    order = list(landscape.outcomes.values())
    random.Random(seed).shuffle(order)
    goal = GOAL * landscape.best
    return next(i for i, v in enumerate(order, 1) if isinstance(v, float) and v >= goal)

