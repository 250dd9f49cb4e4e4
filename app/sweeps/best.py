"""The best runs of a sweep, read from the store: the feasible optimum, or the feasible Pareto set.

A run is feasible when it finished ok, has every objective measured and meets every constraint.
"""

from __future__ import annotations

from collections.abc import Sequence

from app.store.records import RunSummary
from app.sweeps.profile import Constraint, Objective


def feasible(run: RunSummary, objectives: Sequence[Objective], constraints: Sequence[Constraint]) -> bool:
    if run.status != "ok" or any(run.value(o.metric) is None for o in objectives):
        return False
    return all(c.violation(run.value(c.metric)) <= 0 for c in constraints)


def _dominates(a: Sequence[float], b: Sequence[float]) -> bool:
    return all(x >= y for x, y in zip(a, b, strict=True)) and any(x > y for x, y in zip(a, b, strict=True))


def best_runs(runs: Sequence[RunSummary], objectives: Sequence[Objective],
              constraints: Sequence[Constraint] = ()) -> list[RunSummary]:
    """The feasible Pareto set (one run, or ties, for a single objective), best first by the first objective."""
    if not objectives:
        return []
    signs = [1.0 if o.direction == "maximize" else -1.0 for o in objectives]
    points = [(r, [s * float(r.value(o.metric)) for s, o in zip(signs, objectives, strict=True)])  # type: ignore[arg-type]
              for r in runs if feasible(r, objectives, constraints)]
    front = [(r, p) for r, p in points if not any(_dominates(q, p) for _, q in points)]
    return [r for r, _ in sorted(front, key=lambda rp: -rp[1][0])]
