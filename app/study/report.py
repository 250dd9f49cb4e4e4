"""The study report: the study's tables over a selection of stored runs, as a `Report` the HTML and PDF
writers render (app/reports/html_export.py, pdf_export.py).

Sections: where the runs come from; best configuration per group and compared value with the ratios;
the paired improvement of each compared value over the first, with n, Wilcoxon p and Cliff's δ; whether
the metric differs across one option's values (Kruskal–Wallis, ANOVA, Tukey HSD, Mann–Whitney, Cliff's δ); one
landscape per group (rows × columns, by default batch size × GPU count), OOM cells marked; the
fair-comparison warnings (options that should be equal across compared values but are not); the
re-tuning gains of the re-tune sweeps in the selection (app/study/retune.py); optionally the offline
replay of the search over each landscape (app/study/replay.py), as a table and two box plots; and the
method and source of every figure. A grouped series chart (a metric against one option, a line per group,
a panel per model) comes from `app.compare.series`, the Compare view's Series tab's own points. Every
number is read from the store's summaries through app/study/tables.py, never recomputed differently here.
"""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from app import compare
from app.reports.model import (
    Distribution,
    Report,
    SeriesFigure,
    format_number,
    format_option,
    inferlab_version,
    metric_header,
)
from app.reports.tables import Cell, Table
from app.store.records import RunSummary
from app.study.stats import TestResult, cliffs_magnitude
from app.study.tables import (
    ALL_PAIRS_UP_TO,
    ImprovementRow,
    Point,
    across,
    best_of,
    improvement_of,
    option_of,
    points,
    value_order,
    varying_options,
)
from app.sweeps.fairness import FAIR_FIELDS, fair_defaults
from engine.metric_names import info

if TYPE_CHECKING:
    from app.study.replay import ReplayRow
    from app.study.retune import RetuneGain

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
    columns: str = "num_gpus"
    maximize: bool = True
    series_x: str | None = None      # the grouped series' x option; None: the landscape's rows
    series_by: tuple[str, ...] = ()  # a line per value of these; (): the compared key
    panels: str | None = "model"     # a panel per value of this (None: one panel)
    shared_y: bool = True            # one y scale for every panel, else one per panel
    across: str = "num_gpus"         # the option the across table tests the metric over

    @property
    def series_keys(self) -> tuple[str, tuple[str, ...], str | None]:
        """(x option, line keys, panel key) of the grouped series, defaults resolved."""
        return self.series_x or self.rows, self.series_by or (self.compare,), self.panels


def build_study_report(runs: Sequence[RunSummary], spec: StudySpec, *, title: str = "", notes: str = "",
                       now: float, retunes: Sequence[RetuneGain] = (), replays: Sequence[ReplayRow] = (),
                       environments: Mapping[int, Mapping[str, Any]] | None = None) -> Report:
    """The study report of `runs` (a store listing), generated at `now` (unix time); `retunes` are the
    gains of the re-tune sweeps among them (`app.study.retune.retune_gains`), `replays` the search replayed
    over their landscapes (`app.study.replay.replay`; no section without them); `environments`
    (`Store.environment_fields` of the runs) lets the series group by GPU name, host and the like."""
    pts = points(runs, spec.metric)
    sections = [_sources_table(runs), _best_table(pts, spec), _improvement_table(pts, spec),
                _across_table(runs, spec), _fairness_table(runs, spec), *_landscape_tables(pts, spec), _retune_table(retunes),
                *([_replay_table(replays, spec.metric)] if replays else []), _methods_table(runs, spec)]
    return Report(title or "InferLab study", notes, now, f"InferLab {inferlab_version()}", [], {}, [spec.metric],
                  [], [], sections, subject=f"{len(runs)} run(s) in {len(pts)} configuration point(s)",
                  distributions=_replay_distributions(replays), series=[_series_figure(runs, spec, environments)])


def _series_figure(runs: Sequence[RunSummary], spec: StudySpec,
                   environments: Mapping[int, Mapping[str, Any]] | None) -> SeriesFigure:
    """The grouped series, computed as the Compare view's Series tab computes it (`app.compare.series`);
    only the environment fields the series names are added to the runs' options, so they split nothing else."""
    x, by, panels = spec.series_keys
    named = {x, *by, *([panels] if panels else [])}
    if environments:
        runs = compare.with_environment_options(
            runs, {i: {k: v for k, v in fields.items() if k in named} for i, fields in environments.items()})
    data = compare.series(runs, spec.metric, x, by, panels)
    return SeriesFigure(data, spec.shared_y, POINT_METHOD.format(metric=spec.metric))


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
            _delta_cell(r.cliffs_delta)]


def _across_table(runs: Sequence[RunSummary], spec: StudySpec) -> Table:
    groups = (*spec.group_by, spec.compare)
    rows = []
    for r in across(runs, spec.metric, spec.across, groups):
        first = [Cell(_group_text(r.group)),
                 Cell(", ".join(f"{format_option(v)}: {n}" for v, n in zip(r.values, r.n, strict=True))),
                 _test_cell(r.kruskal), _test_cell(r.anova)]
        rows += [[*first, Cell(f"{format_option(p.a)} vs {format_option(p.b)}"), _test_cell(p.tukey),
                  _test_cell(p.mann_whitney), _delta_cell(p.cliffs_delta)] for p in r.pairs]
    return Table("across", f"{spec.metric} across {spec.across} per {' · '.join(groups)}",
                 [" · ".join(groups), f"n (ok runs) per {spec.across}", "Kruskal-Wallis H, p", "ANOVA F, p",
                  "Pair", "Tukey HSD diff, p", "Mann-Whitney U, p", "Cliff's delta"], rows,
                 note=f"One sample per value of {spec.across}: the group's ok runs with that value, every other "
                      "option (batch size, tokens …) pooled, so a difference may come from how the other options "
                      "were spread over the values. Kruskal-Wallis and one-way ANOVA (scipy) across the samples; "
                      f"Tukey HSD (p adjusted for every pair), two-sided Mann-Whitney U and Cliff's delta for each "
                      f"pair of values, every pair up to {ALL_PAIRS_UP_TO} values, else each value with the next. "
                      f"Groups with fewer than two values of {spec.across} are left out.")


def _test_cell(test: TestResult) -> Cell:
    if test.p is None:
        return Cell(f"unavailable: {test.reason}", kind="unavailable")
    return Cell(f"{test.statistic:.4g}, p={test.p:.2g}", tip=f"{test.test}, n={'/'.join(map(str, test.n))}")


def _delta_cell(delta: float | None) -> Cell:
    return Cell("—" if delta is None else f"{delta:.2f} ({cliffs_magnitude(delta)})")


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:+.1f}"


def _fairness_table(runs: Sequence[RunSummary], spec: StudySpec) -> Table:
    seen: dict[tuple[Any, ...], dict[str, dict[Any, dict[str, Any]]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(dict)))  # group -> option -> compared value -> {repr: value}
    defaults = fair_defaults()
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


def _retune_table(gains: Sequence[RetuneGain]) -> Table:
    rows = []
    for g in gains:
        before = g.transferred.value(g.metric) if g.transferred else None
        after = g.best.value(g.metric) if g.best else None
        rows.append([
            Cell(f"{g.sweep_id}"), Cell(f"{g.source_sweep} (best: run #{g.source_run})", tip=g.hardware_source),
            Cell(g.metric + ("" if g.maximize else " (lower is better)")),
            Cell("—" if g.transferred is None else f"{_fmt_value(before)} (run #{g.transferred.id})",
                 tip=g.hardware_here),
            Cell("—" if g.best is None else f"{_fmt_value(after)} (run #{g.best.id})"),
            Cell(f"unavailable: {g.reason}", kind="unavailable") if g.ratio is None
            else Cell(f"×{g.ratio:.3g} ({g.gain_pct:+.1f} %)"),
            Cell(g.noise), Cell(f"{g.trials} of {g.budget}"),
            Cell(f"source: {g.hardware_source}; here: {g.hardware_here}")])
    note = ("Each re-tune (`inferlab study retune`) ran the source sweep's best configuration here (the "
            "transferred run), then searched the same space with Optuna for a budget of new configurations, "
            "the transferred one told first. Gain: re-tuned best / transferred (transferred / re-tuned for a "
            "metric where lower is better), each a single run's value; within noise when the two runs' 95% "
            "CIs of the median overlap." if gains else
            "No re-tune sweep in this selection (`inferlab study retune SWEEP_ID --budget N` makes one).")
    return Table("retune", "Re-tuning gains", ["Re-tune sweep", "Source sweep", "Metric", "Transferred",
                                               "Re-tuned best", "Gain", "Noise", "New configurations (of budget)",
                                               "Hardware"], rows, note=note)


REPLAY_METHOD = ("Each seed runs the sweep's Optuna search (the runner's OptunaSearch) over the landscape's stored "
                 "outcomes instead of measuring: a point's value, OOM (bounds its larger neighbours) or a failure; "
                 "an unmeasured grid point counts as failed. Random: uniform sampling without replacement, "
                 "(N + 1) / (K + 1) for K points within 98 % of the best among N.")


def _replay_label(row: ReplayRow) -> str:
    return f"{row.landscape.name} · {row.landscape.engine}"


def _replay_table(replays: Sequence[ReplayRow], metric: str) -> Table:
    rows = []
    for r in replays:
        q, s = r.trials_quantiles(), r.share_quantiles()
        rows.append([Cell(_replay_label(r)), Cell(str(len(r.landscape.outcomes))), Cell(str(r.budget)),
                     Cell(f"{r.reached}/{len(r.trials)}"),
                     Cell("none reached" if q is None else " / ".join(f"{v:.3g}" for v in q),
                          kind="" if q is not None else "failed"),
                     Cell(f"{r.random_expected:.3g}"), Cell(" / ".join(f"{v:.1%}" for v in s))])
    return Table("replay", "Search replay over the stored landscapes",
                 ["Landscape", "Grid points", "Budget", "Seeds reaching 98 %", "New configs to 98 % (p10 / p50 / p90)",
                  "Random expected", "Best found within budget, share of the grid's best (p10 / p50 / p90)"], rows,
                 note=f"{REPLAY_METHOD} Metric: {metric}. Percentiles of new configurations are over the seeds "
                      "that reached 98 % of the best within the budget.")


def _replay_distributions(replays: Sequence[ReplayRow]) -> list[Distribution]:
    if not replays:
        return []
    seeds = len(replays[0].trials)
    trials = [(_replay_label(r), [float(t) for t in r.trials if t is not None]) for r in replays]
    left = [f"{_replay_label(r)} ({len(r.trials) - r.reached})" for r in replays if r.reached < len(r.trials)]
    return [Distribution("replay-trials", "Search replay: new configurations to 98 % of the best",
                         "new configurations measured (one dot per seed)", trials,
                         f"{seeds} seeds per landscape; seeds that did not reach 98 % within the budget are left "
                         f"out: {', '.join(left) or 'none'}."),
            Distribution("replay-share", "Search replay: best found within the budget",
                         "% of the grid's best (one dot per seed)",
                         [(_replay_label(r), [100 * v for v in r.shares]) for r in replays],
                         f"{seeds} seeds per landscape; budget per landscape in the replay table.")]


def _fmt_value(value: float | None) -> str:
    return "no value" if value is None else format_number(value)


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
