"""The study report: the study's tables over a selection of stored runs, as a `Report` the HTML and PDF
writers render (app/reports/html_export.py, pdf_export.py).

Sections: where the runs come from; best configuration per group and compared value with the ratios;
the paired improvement of each compared value over the first, with n, Wilcoxon p and Cliff's δ; one
landscape per group (rows × columns, by default batch size × GPU count), OOM cells marked; the
fair-comparison warnings (options that should be equal across compared values but are not); and the
method and source of every figure. Every number is read from the store's summaries through
app/study/tables.py, never recomputed differently here.
"""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

from app.reports.model import Report, format_number, format_option, inferlab_version, metric_header
from app.reports.tables import Cell, Table
from app.store.records import RunSummary
from app.study.stats import cliffs_magnitude
from app.study.tables import (
    ImprovementRow,
    Point,
    best_of,
    improvement_of,
    option_of,
    points,
    value_order,
    varying_options,
)
from engine import registry
from engine.config import all_options
from engine.metric_names import info

# Options that must hold the same values for every compared value of a group, or the comparison is
# not like for like: sampling, precision, workload and the number of new tokens.
FAIR_FIELDS = ("temperature", "top_p", "seed", "dtype", "quantization", "kv_cache_dtype", "workload",
               "prompt_file", "input_tokens", "num_requests", "output_tokens", "ignore_eos")
_NOT_RECORDED = object()
POINT_METHOD = "A configuration point pools the runs that differ only in their repetition; its value is the " \
               "median of its ok runs' {metric}. A point whose runs all failed, one at least out of memory, is OOM."


@dataclasses.dataclass(frozen=True)
class StudySpec:
    """What the report compares: the metric, the grouping, the compared option and the landscape axes."""

    metric: str = "output_tokens_per_s"
    group_by: tuple[str, ...] = ("model",)
    compare: str = "engine"
    rows: str = "batch_size"
    columns: str = "gpu_count"
    maximize: bool = True


def build_study_report(runs: Sequence[RunSummary], spec: StudySpec, *, title: str = "", notes: str = "",
                       now: float) -> Report:
    """The study report of `runs` (a store listing), generated at `now` (unix time)."""
    pts = points(runs, spec.metric)
    sections = [_sources_table(runs), _best_table(pts, spec), _improvement_table(pts, spec),
                _fairness_table(runs, spec), *_landscape_tables(pts, spec), _methods_table(runs, spec)]
    return Report(title or "InferLab study", notes, now, f"InferLab {inferlab_version()}", [], {}, [spec.metric],
                  [], [], sections, subject=f"{len(runs)} run(s) in {len(pts)} configuration point(s)")


def _group_text(group: Sequence[Any]) -> str:
    return " · ".join(format_option(g) for g in group)


def _value_cell(point: Point | None) -> Cell:
    if point is None:
        return Cell("—", kind="missing", tip="not measured")
    runs = f"{point.ok_runs} ok run(s), {point.failed_runs} failed; runs {_ids(point.run_ids)}"
    if point.value is not None:
        return Cell(format_number(point.value), tip=f"median of {runs}")
    return Cell("OOM" if point.oom else "failed", kind="failed", tip=runs)


def _ids(ids: Sequence[int]) -> str:
    shown = ", ".join(f"#{i}" for i in ids[:8])
    return shown + (f" … ({len(ids)} in all)" if len(ids) > 8 else "")


def _sources_table(runs: Sequence[RunSummary]) -> Table:
    by_source: dict[str, list[RunSummary]] = defaultdict(list)
    for run in runs:
        by_source[run.source].append(run)
    rows = []
    for source, members in sorted(by_source.items()):
        causes = Counter(r.failure_cause or "unknown" for r in members if r.status == "failed")
        sweeps = sorted({r.sweep_id for r in members if r.sweep_id is not None})
        rows.append([Cell(source), Cell(str(len(members))), Cell(str(sum(r.status == "ok" for r in members))),
                     Cell(", ".join(f"{c} {n}" for c, n in sorted(causes.items())) or "none"),
                     Cell(", ".join(sorted({r.engine for r in members}))),
                     Cell(", ".join(map(str, sweeps)) or "—")])
    return Table("sources", "Runs and their sources", ["Source", "Runs", "ok", "Failed (cause n)", "Engines",
                                                        "Sweeps"], rows,
                 note="Source: 'inferlab' for runs measured here, else the importer's label.")


def _best_table(pts: Sequence[Point], spec: StudySpec) -> Table:
    table = best_of(pts, spec.group_by, spec.compare, maximize=spec.maximize)
    bests = [p for row in table for p in row.best.values()]
    shown = [k for k in varying_options(bests) if k not in {spec.compare, *spec.group_by}]
    rows = []
    for row in table:
        first = next(iter(row.best))
        for value, point in row.best.items():
            ratio = row.ratios.get((value, first))
            rows.append([Cell(_group_text(row.group)), Cell(format_option(value)), _value_cell(point),
                         Cell(str(point.ok_runs)),
                         Cell(", ".join(f"{k}={format_option(point.option(k))}" for k in shown) or "—"),
                         Cell("1" if value == first else "—" if ratio is None else f"{ratio:.3g}")])
    direction = "highest" if spec.maximize else "lowest"
    return Table("best", f"Best configuration per {' · '.join(spec.group_by)} and {spec.compare}",
                 [" · ".join(spec.group_by), spec.compare, metric_header(spec.metric), "n (ok runs)",
                  "Configuration", f"Ratio to the first {spec.compare}"], rows,
                 note=f"The {direction} configuration point of each {spec.compare} in each group; "
                      + POINT_METHOD.format(metric=spec.metric) + " Ratio: this best / the first value's best.")


def _improvement_table(pts: Sequence[Point], spec: StudySpec) -> Table:
    values = sorted({p.option(spec.compare) for p in pts if p.value is not None}, key=repr)
    rows = []
    for i, b in enumerate(values):
        for a in values[i + 1:]:
            found = improvement_of(pts, spec.compare, a, b, spec.group_by)
            rows += [_improvement_cells(r, f"{format_option(a)} over {format_option(b)}")
                     for r in found if found[-1].pairs]
    return Table("improvement", f"Paired improvement between {spec.compare} values",
                 [" · ".join(spec.group_by), "Comparison", "n (pairs)", "Median gain %", "Mean gain %",
                  "Wilcoxon W", "p (two-sided)", "Cliff's delta"], rows,
                 note=f"Pairs: configuration points equal in every option but {spec.compare}; values with no "
                      f"pair are left out. Gain: a/b - 1 of their {spec.metric}. Wilcoxon signed-rank test "
                      "(scipy) on the pairs; Cliff's delta over all pairs of values (Romano's magnitude). Row "
                      "'all': every group's pairs pooled.")


def _improvement_cells(r: ImprovementRow, comparison: str) -> list[Cell]:
    test = r.test
    return [Cell(_group_text(r.group)), Cell(comparison),
            Cell(str(r.pairs)), Cell(_pct(r.median_gain_pct)), Cell(_pct(r.mean_gain_pct)),
            Cell("—" if test.statistic is None else f"{test.statistic:.4g}"),
            Cell(f"{test.p:.2g}" if test.p is not None else f"unavailable: {test.reason}",
                 kind="" if test.p is not None else "unavailable"),
            Cell("—" if r.cliffs_delta is None else f"{r.cliffs_delta:.2f} ({cliffs_magnitude(r.cliffs_delta)})")]


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:+.1f}"


def _engine_defaults() -> dict[str, Any]:
    """For each fair field, its default where an engine declares it: what a run InferLab measured used for an
    option its engine does not have (a run stored before hf-pipeline had `kv_cache_dtype` used the default cache)."""
    defaults: dict[str, Any] = {}
    for name in registry.names():
        for field, declared in all_options(name).items():
            if field in FAIR_FIELDS:
                defaults.setdefault(field, declared.default)
    return defaults


def _fairness_table(runs: Sequence[RunSummary], spec: StudySpec) -> Table:
    seen: dict[tuple[Any, ...], dict[str, dict[Any, dict[str, Any]]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(dict)))  # group -> option -> compared value -> {repr: value}
    defaults = _engine_defaults()
    for run in runs:
        group = tuple(option_of(run, k) for k in spec.group_by)
        compared = option_of(run, spec.compare)
        for field in FAIR_FIELDS:  # an imported run's missing option is not recorded
            missing = defaults.get(field, _NOT_RECORDED) if run.source == "inferlab" else _NOT_RECORDED
            value = run.config.get(field, missing)
            seen[group][field][compared][repr(value)] = value
    rows = []
    for group in sorted(seen, key=repr):
        for field in FAIR_FIELDS:
            per_value = seen[group][field]
            if len({frozenset(v) for v in per_value.values()}) > 1:  # the sets of reprs differ
                rows.append([Cell(_group_text(group)), Cell(field, kind="failed"),
                             Cell("; ".join(f"{format_option(k)}: {_shown(v)}"
                                            for k, v in sorted(per_value.items(), key=lambda kv: repr(kv[0]))))])
    note = (f"Options that should be identical for every {spec.compare} of a group (sampling, precision, "
            f"workload, new tokens) and are not: the {spec.compare} values are not compared like for like."
            if rows else f"None: every {spec.compare} of each group ran the same {', '.join(FAIR_FIELDS)}.")
    return Table("fairness", "Fair-comparison warnings", [" · ".join(spec.group_by), "Option",
                                                          f"Values per {spec.compare}"], rows, note=note)


def _shown(values: dict[str, Any]) -> str:
    """The recorded values of an option, readable ("not recorded" for runs without it)."""
    return ", ".join(sorted("not recorded" if v is _NOT_RECORDED else format_option(v) for v in values.values()))


def _landscape_tables(pts: Sequence[Point], spec: StudySpec) -> list[Table]:
    """One rows × columns table per group and compared value, split by every other option that varies
    within it."""
    keys = [*spec.group_by, spec.compare]
    by_group: dict[tuple[Any, ...], list[Point]] = defaultdict(list)
    for p in pts:
        by_group[tuple(p.option(k) for k in keys)].append(p)
    grids: dict[tuple[tuple[str, Any], ...], dict[tuple[Any, Any], Point]] = defaultdict(dict)
    for group, members in by_group.items():
        varying = [k for k in varying_options(members) if k not in {spec.rows, spec.columns, *keys}]
        for p in members:
            caption = (*zip(keys, group, strict=True), *((k, p.option(k)) for k in varying))
            grids[caption][(p.option(spec.rows), p.option(spec.columns))] = p
    out = []
    for n, key in enumerate(sorted(grids, key=repr)):
        grid = grids[key]
        row_values = sorted({r for r, _ in grid}, key=value_order)
        col_values = sorted({c for _, c in grid}, key=value_order)
        rows = [[Cell(_axis_text(r))] + [_value_cell(grid.get((r, c))) for c in col_values] for r in row_values]
        caption = "Landscape: " + " · ".join(f"{k}={format_option(v)}" for k, v in key)
        out.append(Table(f"landscape-{n + 1}", caption,
                         [f"{spec.rows} \\ {spec.columns}", *(_axis_text(c) for c in col_values)], rows,
                         note=f"{metric_header(spec.metric)} per point (hover for its runs). OOM: every run "
                              "failed, at least one out of memory; failed: every run failed otherwise; "
                              "—: not measured."))
    return out


def _axis_text(value: Any) -> str:
    return "(not set)" if value is None else format_option(value)


def _methods_table(runs: Sequence[RunSummary], spec: StudySpec) -> Table:
    methods: Counter[tuple[str, str, str, str]] = Counter()
    for run in runs:
        if spec.metric in run.metrics:
            m = run.metrics[spec.metric]
            methods[(run.source, run.engine, m.status, m.method)] += 1
    rows = [[Cell(s), Cell(e), Cell(st, kind=st if st != "measured" else ""), Cell(method), Cell(str(n))]
            for (s, e, st, method), n in sorted(methods.items())]
    return Table("methods", f"Method and source of every {info(spec.metric).label.lower()} figure",
                 ["Source", "Engine", "Status", "Method (as recorded with each run)", "Runs"], rows,
                 note=f"{spec.metric}: {info(spec.metric).meaning} " + POINT_METHOD.format(metric=spec.metric))
