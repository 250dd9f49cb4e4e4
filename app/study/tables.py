"""Best-per-group tables over stored runs: the study's "which engine, and by how much" answer.

Runs are pooled only when every option but the repetition is the same (one *configuration point*); a
point's value is the median of its ok runs' metric. A point where every run failed out of memory is an
OOM point: it is kept (it is the edge of the feasible region) but never a best. Within each group (say a
model), the best point of each compared value (say each engine) is found, and the ratio between the
compared values' bests is given. `across` asks, per group, whether the metric differs across the
values of one option (say GPU count), over the runs themselves rather than the points.
"""

from __future__ import annotations

import dataclasses
import statistics
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from app.store.records import RunSummary
from app.study.stats import (
    TestResult,
    cliffs_delta,
    kruskal_wallis,
    mann_whitney,
    one_way_anova,
    tukey_hsd,
    wilcoxon_paired,
)

# Keys a run's configuration may differ in without being another configuration: bookkeeping, not options.
NOT_OPTIONS = frozenset({"repetition", "trial_index"})
# Above this many values of the `across` option, only adjacent values are compared pairwise (all pairs of 7
# values are 21 rows per group).
ALL_PAIRS_UP_TO = 6


def option_of(run: RunSummary, key: str) -> Any:
    """`engine`, `model`, `source` or any config option of the run (None when it has none)."""
    if key in ("engine", "model", "source"):
        return getattr(run, key)
    return run.config.get(key)


def value_order(value: Any) -> tuple[int, Any]:
    """Sort key for an axis's values: numbers by size first, then anything else by its repr."""
    return (0, value) if isinstance(value, (int, float)) and not isinstance(value, bool) else (1, repr(value))


@dataclasses.dataclass(frozen=True)
class Point:
    """One configuration: its options, its runs' median value (None when none is ok) and what its runs were."""

    options: tuple[tuple[str, Any], ...]
    value: float | None
    ok_runs: int
    failed_runs: int
    oom: bool             # every run failed, at least one out of memory
    run_ids: tuple[int, ...]

    def option(self, key: str) -> Any:
        return dict(self.options).get(key)


def points(runs: Sequence[RunSummary], metric: str) -> list[Point]:
    """Runs pooled into configuration points (sorted by their options)."""
    pooled: dict[tuple[tuple[str, Any], ...], list[RunSummary]] = defaultdict(list)
    for run in runs:
        options = {"engine": run.engine, "model": run.model, **run.config}
        key = tuple(sorted((k, v) for k, v in options.items() if k not in NOT_OPTIONS))
        pooled[key].append(run)
    out = []
    for key, members in pooled.items():
        values = [v for r in members if r.status == "ok" and (v := r.value(metric)) is not None]
        failed = [r for r in members if r.status == "failed"]
        oom = not values and any(r.failure_cause == "oom" for r in failed)
        out.append(Point(key, statistics.median(values) if values else None, len(values), len(failed), oom,
                         tuple(r.id for r in members)))
    return sorted(out, key=lambda p: repr(p.options))


def varying_options(pts: Sequence[Point]) -> list[str]:
    """The options that take more than one value (compared by repr) among `pts`, sorted."""
    seen: dict[str, set[str]] = defaultdict(set)
    having: dict[str, int] = defaultdict(int)
    for p in pts:
        for k, v in p.options:
            seen[k].add(repr(v))
            having[k] += 1
    for k, n in having.items():  # a point without the option holds None, as Point.option says
        if n < len(pts):
            seen[k].add(repr(None))
    return sorted(k for k, values in seen.items() if len(values) > 1)


@dataclasses.dataclass(frozen=True)
class BestRow:
    """One group's best point per compared value, and the ratio of the first compared value's best to each."""

    group: tuple[Any, ...]
    best: dict[Any, Point]                 # compared value -> its best point
    ratios: dict[tuple[Any, Any], float]   # (a, b) -> best[a].value / best[b].value, for every ordered pair


def best_per_group(runs: Sequence[RunSummary], metric: str, group_by: Sequence[str], compare: str,
                   maximize: bool = True) -> list[BestRow]:
    """For each group (values of `group_by`), the best point of each value of `compare` by `metric`."""
    return best_of(points(runs, metric), group_by, compare, maximize)


def best_of(pooled: Sequence[Point], group_by: Sequence[str], compare: str, maximize: bool = True) -> list[BestRow]:
    """`best_per_group` over points already pooled (by `points`)."""
    by_group: dict[tuple[Any, ...], dict[Any, list[Point]]] = defaultdict(lambda: defaultdict(list))
    for point in pooled:
        if point.value is None:
            continue
        group = tuple(point.option(k) for k in group_by)
        by_group[group][point.option(compare)].append(point)
    rows = []
    for group in sorted(by_group, key=repr):
        pick = max if maximize else min
        best = {value: pick(candidates, key=lambda p: p.value)  # type: ignore[arg-type,return-value]
                for value, candidates in sorted(by_group[group].items(), key=lambda kv: repr(kv[0]))}
        ratios = {(a, b): best[a].value / best[b].value  # type: ignore[operator]
                  for a in best for b in best if a != b and best[b].value}
        rows.append(BestRow(group, best, ratios))
    return rows


@dataclasses.dataclass(frozen=True)
class ImprovementRow:
    """`a` over `b` across the configuration points of one group that both measured (matched on every other
    option): the median and mean gain in percent, with the paired test and the effect size."""

    group: tuple[Any, ...]
    pairs: int
    median_gain_pct: float | None
    mean_gain_pct: float | None
    test: TestResult
    cliffs_delta: float | None


def improvement(runs: Sequence[RunSummary], metric: str, between: str, a: Any, b: Any,
                group_by: Sequence[str]) -> list[ImprovementRow]:
    """Per group and overall (group `("all",)`), how much `a` gains over `b` on matching points."""
    return improvement_of(points(runs, metric), between, a, b, group_by)


def improvement_of(pooled: Sequence[Point], between: str, a: Any, b: Any,
                   group_by: Sequence[str]) -> list[ImprovementRow]:
    """`improvement` over points already pooled (by `points`).

    Points are matched on the options both sides record (an option only one engine has, such as
    hf-generate's `torch_compile`, cannot differ between them); where that leaves several points of one
    side on the same match, none of them is paired (which one would be is not defined)."""
    sides = {v: [p for p in pooled if p.value is not None and p.option(between) == v] for v in (a, b)}
    recorded = [{k for p in side for k, _ in p.options} for side in sides.values()]
    shared = (recorded[0] & recorded[1]) - {between}
    matched: dict[tuple[tuple[str, Any], ...], dict[Any, list[Point]]] = defaultdict(lambda: defaultdict(list))
    for value, side in sides.items():
        for point in side:
            matched[tuple(kv for kv in point.options if kv[0] in shared)][value].append(point)
    pairs: dict[tuple[Any, ...], list[tuple[float, float]]] = defaultdict(list)
    for rest, both in matched.items():
        if len(both[a]) == 1 and len(both[b]) == 1:
            group = tuple(dict(rest).get(k) for k in group_by)
            pairs[group].append((both[a][0].value, both[b][0].value))  # type: ignore[arg-type]
    every = [pair for group in sorted(pairs, key=repr) for pair in pairs[group]]
    return [_improvement(group, pairs[group]) for group in sorted(pairs, key=repr)] + [_improvement(("all",), every)]


def _improvement(group: tuple[Any, ...], pairs: Sequence[tuple[float, float]]) -> ImprovementRow:
    gains = [(x / y - 1.0) * 100.0 for x, y in pairs if y]
    xs, ys = [x for x, _ in pairs], [y for _, y in pairs]
    return ImprovementRow(group, len(pairs), statistics.median(gains) if gains else None,
                          statistics.fmean(gains) if gains else None, wilcoxon_paired(xs, ys), cliffs_delta(xs, ys))


@dataclasses.dataclass(frozen=True)
class AcrossPair:
    """Two values of the `across` option within one group: Tukey HSD (mean difference a − b, adjusted p),
    Mann–Whitney U and Cliff's δ of a's runs against b's."""

    a: Any
    b: Any
    tukey: TestResult
    mann_whitney: TestResult
    cliffs_delta: float | None


@dataclasses.dataclass(frozen=True)
class AcrossRow:
    """Whether a metric differs across the values of one option within a group: one sample per value (its
    ok runs, every other option pooled), Kruskal–Wallis and one-way ANOVA over them, and the pairwise tests."""

    group: tuple[Any, ...]
    values: tuple[Any, ...]    # the option's values, in value order
    n: tuple[int, ...]         # ok runs per value
    kruskal: TestResult
    anova: TestResult
    pairs: tuple[AcrossPair, ...]


def across(runs: Sequence[RunSummary], metric: str, option: str, group_by: Sequence[str]) -> list[AcrossRow]:
    """Per group (values of `group_by`) with two values of `option` or more, the tests across those values.

    A run without the option, or not ok, or without the metric, is in no sample. Pairs: every pair when
    there are at most ALL_PAIRS_UP_TO values, else each value with the next."""
    samples: dict[tuple[Any, ...], dict[Any, list[float]]] = defaultdict(lambda: defaultdict(list))
    for run in runs:
        value = option_of(run, option)
        if run.status == "ok" and value is not None and (v := run.value(metric)) is not None:
            samples[tuple(option_of(run, k) for k in group_by)][value].append(v)
    rows = []
    for group in sorted(samples, key=repr):
        by_value = samples[group]
        values = tuple(sorted(by_value, key=value_order))
        if len(values) < 2:
            continue
        data = [by_value[v] for v in values]
        tukey = tukey_hsd(data, None if len(values) <= ALL_PAIRS_UP_TO else
                          [(i, i + 1) for i in range(len(values) - 1)])
        pairs = tuple(AcrossPair(values[i], values[j], test, mann_whitney(data[i], data[j]),
                                 cliffs_delta(data[i], data[j])) for (i, j), test in tukey.items())
        rows.append(AcrossRow(group, values, tuple(map(len, data)), kruskal_wallis(data), one_way_anova(data),
                              pairs))
    return rows
