"""The best runs of a sweep, read from the store: the feasible optimum, or the feasible Pareto set.

A run is feasible when it finished ok, has every objective measured and meets every constraint.
"""

from __future__ import annotations

from collections.abc import Sequence

from app.pareto import pareto_front
from app.store.records import RunSummary
from app.sweeps.profile import Constraint, Objective


def feasible(run: RunSummary, objectives: Sequence[Objective], constraints: Sequence[Constraint]) -> bool:
    if run.status != "ok" or any(run.value(o.metric) is None for o in objectives):
        return False
    return all(c.violation(run.value(c.metric)) <= 0 for c in constraints)


def best_runs(runs: Sequence[RunSummary], objectives: Sequence[Objective],
              constraints: Sequence[Constraint] = ()) -> list[RunSummary]:
    """The feasible Pareto set (one run, or ties, for a single objective), best first by the first objective."""
    if not objectives:
        return []
    candidates = [r for r in runs if feasible(r, objectives, constraints)]
    maximize = [o.direction == "maximize" for o in objectives]
    front = [candidates[i] for i in pareto_front([[r.value(o.metric) for o in objectives] for r in candidates],
                                                   maximize)]
    first, sign = objectives[0].metric, 1.0 if maximize[0] else -1.0
    return sorted(front, key=lambda r: -sign * float(r.value(first)))  # type: ignore[arg-type]
