"""The Pareto front: the one definition of "non-dominated" used by the compare charts, the reports and
a sweep's best runs."""

from __future__ import annotations

from collections.abc import Sequence


def pareto_front(points: Sequence[Sequence[float]], maximize: Sequence[bool]) -> list[int]:
    """Indices (in input order) of the non-dominated points.

    A point is dominated if another is at least as good on every axis and strictly better on one;
    axis k is better higher where `maximize[k]`, lower otherwise. Equal points are all kept.
    """
    signs = [1.0 if m else -1.0 for m in maximize]
    scored = [[s * float(v) for s, v in zip(signs, p, strict=True)] for p in points]
    return [i for i, p in enumerate(scored) if not any(_dominates(q, p) for q in scored)]


def _dominates(a: Sequence[float], b: Sequence[float]) -> bool:
    return all(x >= y for x, y in zip(a, b, strict=True)) and any(x > y for x, y in zip(a, b, strict=True))
