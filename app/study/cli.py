"""`inferlab study best|improvement|across|report|replay|retune`: the study's tables from stored runs, as text, JSON, an
HTML/PDF report, an offline replay of the search over a stored grid, or a re-tune of a sweep's best here."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.cli.exit_codes import Exit
from app.cli.output import table, to_json
from app.study.stats import TestResult
from app.study.tables import (
    ALL_PAIRS_UP_TO,
    AcrossRow,
    BestRow,
    ImprovementRow,
    across,
    best_per_group,
    improvement,
    option_of,
    varying_options,
)

if TYPE_CHECKING:
    from app.store.records import RunSummary
    from app.study.replay import ReplayRow
    from app.study.report import StudySpec


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `study` command and its `best` and `improvement` tables."""
    study = subparsers.add_parser("study", help="answer the study's questions from stored runs",
                                  description="Tables over stored runs pooled into configuration points.")
    tables = study.add_subparsers(dest="table", required=True, metavar="TABLE")
    best = tables.add_parser("best", help="best configuration per group and compared value, with ratios",
                             description="For each group (e.g. model), the best configuration of each compared "
                                         "value (e.g. engine) by a metric, and the ratio between their bests.")
    best.add_argument("--compare", default="engine", help="option whose values are compared (default: engine)")
    best.add_argument("--minimize", action="store_true", help="lower is better (latency, energy)")
    best.set_defaults(func=cmd_best)
    gain = tables.add_parser("improvement", help="paired gain of one value over another on matching configs",
                             description="How much A gains over B (e.g. two engines, two GPUs) over the "
                                         "configurations both measured, per group and overall: median and "
                                         "mean gain, Wilcoxon signed-rank test, Cliff's delta.")
    gain.add_argument("--between", default="engine", help="option that takes the values A and B")
    gain.add_argument("a", metavar="A", help="the value whose gain is reported (e.g. vllm)")
    gain.add_argument("b", metavar="B", help="the value it is measured against (e.g. hf-pipeline)")
    gain.set_defaults(func=cmd_improvement)
    spread = tables.add_parser("across", help="does the metric differ across one option's values, per group",
                               description="Per group (--group and --compare, default model and engine), one "
                                           "sample per value of --across (its ok runs, every other option "
                                           "pooled): Kruskal-Wallis H and one-way ANOVA F with p, then Tukey "
                                           "HSD p, Mann-Whitney U p and Cliff's delta for every pair of values "
                                           f"(up to {ALL_PAIRS_UP_TO} values, else each value with the next).")
    spread.add_argument("--across", default="num_gpus", metavar="OPTION",
                        help="option whose values are the samples (default: num_gpus)")
    spread.add_argument("--compare", default="engine", help="also group by this (default: engine)")
    spread.set_defaults(func=cmd_across)
    report = tables.add_parser("report", help="the study report (HTML or PDF) of a selection of runs",
                               description="Best per group and improvement tables with n, p and Cliff's delta, "
                                           "landscapes with OOM cells, fair-comparison warnings, and every "
                                           "figure's method and source.")
    report.add_argument("runs", nargs="*", metavar="RUNS", help="run ids or ranges such as 3-40 (default: every "
                                                                "run the --sweep/--tag filters select)")
    report.add_argument("-o", "--output", required=True, type=Path, metavar="FILE", help="study.html or study.pdf")
    report.add_argument("--compare", default="engine", help="option whose values are compared (default: engine)")
    report.add_argument("--rows", default="batch_size", help="landscape rows (default: batch_size)")
    report.add_argument("--columns", default="num_gpus", help="landscape columns (default: num_gpus)")
    report.add_argument("--minimize", action="store_true", help="lower is better (latency, energy)")
    report.add_argument("--across", default="num_gpus", metavar="OPTION",
                        help="option the across table tests the metric over (default: num_gpus)")
    report.add_argument("--series-x", default=None, metavar="OPTION",
                        help="x option of the grouped series chart (default: --rows)")
    report.add_argument("--series-by", action="append", metavar="KEY",
                        help="a series line per value of this (engine, model, dtype, gpu_name, num_gpus, host or "
                             "any option; repeatable; default: --compare)")
    report.add_argument("--panels", default="model", metavar="KEY",
                        help="a series panel per value of this (default: model; 'none': one panel)")
    report.add_argument("--free-y", action="store_true", help="each series panel scales its own y axis "
                                                              "(default: one y scale shared by every panel)")
    report.add_argument("--title", default="", help="what the study asks")
    report.add_argument("--notes", default="", help="anything a reader must know")
    report.add_argument("--replay-seeds", type=int, default=0, metavar="N",
                        help="also replay the Optuna search over each --columns x --rows landscape with seeds "
                             "0 … N-1, as a table and box plots (default 0: no replay)")
    report.add_argument("--replay-budget", type=int, default=None, metavar="N",
                        help="new configurations each replayed search may measure (default: the grid)")
    report.set_defaults(func=cmd_report)
    replay = tables.add_parser("replay", help="replay the Optuna search over stored grids with many seeds",
                               description="For each group's measured grid (e.g. GPU count x batch size), run "
                                           "the sweep's Optuna search against the stored outcomes with many "
                                           "seeds: trials to 98% of the grid's best, and the share of the best "
                                           "found within --budget new configurations.")
    replay.add_argument("--axis", action="append", metavar="OPTION",
                        help="a grid axis (repeatable; default: num_gpus and batch_size)")
    replay.add_argument("--seeds", type=int, default=10, help="seeds 0 … N-1 (default 10)")
    replay.add_argument("--budget", type=int, help="new configurations each search may measure (default: the grid)")
    replay.set_defaults(func=cmd_replay)
    _register_retune(tables)
    for parser in (best, gain, spread, report, replay):
        parser.add_argument("--metric", default="output_tokens_per_s", help="metric (default: output_tokens_per_s)")
        parser.add_argument("--group", action="append", metavar="OPTION",
                            help="group by this option, engine, model or source (repeatable; default: model)")
        parser.add_argument("--sweep", type=int, metavar="ID", help="only the runs of this sweep")
        parser.add_argument("--tag", help="only runs with this tag")
        parser.add_argument("--store", default=None, metavar="URL",
                            help="SQLAlchemy URL of the results store (default: the user's SQLite store)")
    for parser in (best, gain, spread, replay):
        parser.add_argument("--json", action="store_true", help="print JSON on stdout (for scripts)")


def _register_retune(tables: argparse._SubParsersAction) -> None:
    retune = tables.add_parser(
        "retune", help="run a sweep's best configuration here, then search here: the re-tuning gain",
        description="Take sweep SWEEP_ID's best configuration (by its objective and constraints), run it here "
                    "(the transferred configuration), then search the sweep's space here with Optuna for "
                    "--budget new configurations, the transferred one told first; prints the gain of the "
                    "re-tuned best over the transferred one. The new sweep is linked to SWEEP_ID (its runs "
                    "are tagged retune-of-sweep-SWEEP_ID) and shows in `inferlab study report`.")
    retune.add_argument("sweep", type=int, metavar="SWEEP_ID", help="the sweep whose best configuration moves here")
    retune.add_argument("--budget", type=int, required=True, metavar="N",
                        help="new configurations the search measures after the transferred one")
    retune.add_argument("--objective", default=None, metavar="METRIC",
                        help="metric that picks the best (default: the sweep's first objective)")
    retune.add_argument("--minimize", action="store_true", help="with --objective: lower is better")
    retune.add_argument("--host", default=None, metavar="HOST", help="run the workers on this SSH host "
                        "(default: this computer)")
    retune.add_argument("--ssh-config", default=None, metavar="FILE", help="ssh client config file (ssh -F)")
    retune.add_argument("--python", default=None, metavar="PATH", help="interpreter that runs the engine worker")
    retune.add_argument("--store", default=None, metavar="URL",
                        help="SQLAlchemy URL of the results store (default: the user's SQLite store)")
    retune.add_argument("--json", action="store_true", help="print JSON on stdout (for scripts)")
    retune.set_defaults(func=cmd_retune, output=None)


def cmd_retune(args: argparse.Namespace) -> int:
    from app.cli.commands import UsageError, execute
    from app.store import Store
    from app.study.retune import RetuneError, plan_retune, retune_gain

    if args.minimize and args.objective is None:
        raise UsageError("--minimize: only with --objective (the sweep's own objective keeps its direction)")
    with Store(args.store) as store:
        try:
            plan = plan_retune(store, args.sweep, args.budget, metric=args.objective, minimize=args.minimize,
                               host=args.host)
        except RetuneError as exc:
            raise UsageError(str(exc)) from exc

    def summary(store: Store, sweep_id: int) -> tuple[str, dict[str, Any]]:
        found = retune_gain(store, store.get_sweep(sweep_id))
        assert found is not None  # the sweep was made with its origin
        return found.text(), {"retune": found.as_dict()}

    return execute(plan.profile, args, resume=False, first=plan.transferred, origin=plan.origin, summary=summary)


def _runs(args: argparse.Namespace, keys: Sequence[str | None] = ()) -> list[Any]:
    """The selected runs; where `keys` (the grouping, compared and axis keys) name environment fields
    (gpu_name, host, torch, …), each run's config also holds those fields, so two GPUs or two library
    versions can be compared like two options (only the named fields: nothing else is split by them)."""
    from app.compare import with_environment_options
    from app.store import Store
    from app.store.env_fields import FIELDS

    named = {k for k in keys if k in FIELDS}
    with Store(args.store) as store:
        runs = store.list_runs(sweep_id=args.sweep, tag=args.tag, limit=None)
        if not named:
            return runs
        found = store.environment_fields([r.id for r in runs])
    return with_environment_options(runs, {i: {k: v for k, v in env.items() if k in named}
                                           for i, env in found.items()})


def _fmt(value: float | None, spec: str = ".4g") -> str:
    return "-" if value is None else format(value, spec)


def cmd_best(args: argparse.Namespace) -> int:
    rows = best_per_group(_runs(args, [*(args.group or []), args.compare]), args.metric, args.group or ["model"],
                          args.compare,
                          maximize=not args.minimize)
    print(to_json(rows) if args.json else best_text(rows, args.compare))
    return 0


def best_text(rows: list[BestRow], compare: str) -> str:
    """One line per group: each compared value's best (with the options that differ between the bests), then
    the ratio of every other value's best to the first's."""
    values = sorted({v for r in rows for v in r.best}, key=repr)
    bests = [p for r in rows for p in r.best.values()]
    shown = [k for k in varying_options(bests) if k not in {compare, "model"}]
    head = ["group", *(f"best {v}" for v in values), *(f"{b}/{values[0]}" for b in values[1:])]
    body = []
    for row in rows:
        cells = [" · ".join(map(str, row.group))]
        for v in values:
            p = row.best.get(v)
            cells.append("-" if p is None else
                         f"{_fmt(p.value)} ({', '.join(f'{k}={p.option(k)}' for k in shown)})")
        cells += [_fmt(row.ratios.get((b, values[0])), ".3g") for b in values[1:]]
        body.append(cells)
    return table([head, *body]) if body else "no ok run with that metric"


def cmd_improvement(args: argparse.Namespace) -> int:
    rows = improvement(_runs(args, [*(args.group or []), args.between]), args.metric, args.between, _typed(args.a),
                       _typed(args.b),
                       args.group or ["model"])
    print(to_json(rows) if args.json else improvement_text(rows))
    return 0


def _typed(text: str) -> Any:
    """A value given on the command line as the option holds it: 4 → int, 0.5 → float, else text."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


def improvement_text(rows: list[ImprovementRow]) -> str:
    head = ["group", "pairs", "median gain %", "mean gain %", "Wilcoxon p", "Cliff's delta"]
    body = [[" · ".join(map(str, r.group)), str(r.pairs), _fmt(r.median_gain_pct, ".1f"),
             _fmt(r.mean_gain_pct, ".1f"), _p(r.test),
             _fmt(r.cliffs_delta, ".2f")] for r in rows]
    return table([head, *body])


def cmd_across(args: argparse.Namespace) -> int:
    rows = across(_runs(args, [*(args.group or []), args.compare, args.across]), args.metric, args.across,
                  [*(args.group or ["model"]), args.compare])
    if not rows:
        print(f"error: no group has ok runs with {args.metric} at two values of {args.across} or more",
              file=sys.stderr)
        return Exit.USAGE
    print(to_json(rows) if args.json else across_text(rows))
    return Exit.OK


def across_text(rows: list[AcrossRow]) -> str:
    """One line per pair of values in each group, the group's Kruskal-Wallis and ANOVA p on each."""
    head = ["group", "n per value", "Kruskal-Wallis p", "ANOVA p", "pair", "Tukey p", "Mann-Whitney p",
            "Cliff's delta"]
    body = [[" · ".join(map(str, r.group)), ", ".join(f"{v}: {n}" for v, n in zip(r.values, r.n, strict=True)),
             _p(r.kruskal), _p(r.anova), f"{p.a} vs {p.b}", _p(p.tukey), _p(p.mann_whitney),
             _fmt(p.cliffs_delta, ".2f")] for r in rows for p in r.pairs]
    return table([head, *body])


def _p(test: TestResult) -> str:
    return _fmt(test.p, ".2g") if test.p is not None else test.reason


_FORMATS = {".html": "html", ".htm": "html", ".pdf": "pdf"}


def cmd_report(args: argparse.Namespace) -> int:
    from app.reports.cli import parse_run_ids
    from app.reports.export import write_report
    from app.store import Store
    from app.store.env_fields import FIELDS
    from app.study.report import StudySpec, build_study_report
    from app.study.retune import retune_gains

    fmt = _FORMATS.get(args.output.suffix.lower())
    if fmt is None:
        print(f"error: -o: {args.output.name!r} must end in .html or .pdf", file=sys.stderr)
        return Exit.USAGE
    try:
        wanted = parse_run_ids(args.runs)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return Exit.USAGE
    if not wanted and args.sweep is None and args.tag is None:
        print("error: RUNS: give run ids, --sweep or --tag", file=sys.stderr)
        return Exit.USAGE
    runs = _runs(args, [*(args.group or []), args.compare, args.rows, args.columns])
    if wanted:
        by_id = {r.id: r for r in runs}
        missing = [i for i in wanted if i not in by_id]
        if missing:
            print(f"error: runs: no run with id {missing[0]} in the store"
                  + (" (within --sweep/--tag)" if args.sweep is not None or args.tag else ""), file=sys.stderr)
            return Exit.USAGE
        runs = [by_id[i] for i in dict.fromkeys(wanted)]
    if not runs:
        print("error: no run matches --sweep/--tag", file=sys.stderr)
        return Exit.USAGE
    spec = StudySpec(args.metric, tuple(args.group or ["model"]), args.compare, args.rows, args.columns,
                     not args.minimize, args.series_x, tuple(args.series_by or ()),
                     None if args.panels == "none" else args.panels, not args.free_y, args.across)
    with Store(args.store) as store:
        x, by, panels = spec.series_keys
        named = [k for k in (x, *by, panels) if k is not None]
        environments = store.environment_fields([r.id for r in runs]) if set(named) & set(FIELDS) else {}
        given = [k for k in (args.series_x, *(args.series_by or ()), panels) if k is not None]
        unknown = [k for k in given if not any(option_of(r, k) is not None or k in environments.get(r.id, {})
                                               for r in runs)]
        if unknown:
            print(f"error: series: no selected run has {unknown[0]!r} (an option, engine, model, source or an "
                  f"environment field: {', '.join(FIELDS)})", file=sys.stderr)
            return Exit.USAGE
        gains = retune_gains(store, runs)
    try:
        replays = _report_replays(runs, spec, args.replay_seeds, args.replay_budget)
    except ValueError as exc:
        print(f"error: --replay-seeds: {exc}", file=sys.stderr)
        return Exit.USAGE
    report = build_study_report(runs, spec, title=args.title, notes=args.notes, now=time.time(), retunes=gains,
                                replays=replays, environments=environments)
    try:
        path = write_report(report, fmt, args.output)
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return Exit.STORE_OR_IO
    print(f"wrote {path} ({fmt}, {len(runs)} run(s))")
    return Exit.OK


def _report_replays(runs: list[RunSummary], spec: StudySpec, seeds: int, budget: int | None) -> list[ReplayRow]:
    """The replay rows the report shows (none for 0 seeds); ValueError names what stops them."""
    from app.study.replay import landscapes, replay

    if seeds == 0:
        return []
    if seeds < 0 or (budget is not None and budget < 1):
        raise ValueError("seeds must be at least 0 and --replay-budget at least 1")
    if not spec.maximize:
        raise ValueError("the replayed search maximizes the metric; drop --minimize")
    grids = landscapes(runs, spec.metric, [spec.columns, spec.rows], spec.group_by)
    if not grids:
        raise ValueError(f"no group has an ok run with {spec.metric} on the axes {spec.columns} x {spec.rows}")
    return [replay(land, spec.metric, seeds, budget) for land in grids]


def cmd_replay(args: argparse.Namespace) -> int:
    from app.study.replay import landscapes, replay

    if args.seeds < 1 or (args.budget is not None and args.budget < 1):
        print("error: --seeds and --budget must be at least 1", file=sys.stderr)
        return Exit.USAGE
    try:
        grids = landscapes(_runs(args), args.metric, args.axis or ["num_gpus", "batch_size"],
                           args.group or ["model"])
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return Exit.USAGE
    if not grids:
        print(f"error: no group has an ok run with {args.metric} on the axes {', '.join(args.axis or ['num_gpus', 'batch_size'])}",
              file=sys.stderr)
        return Exit.USAGE
    rows = [replay(land, args.metric, args.seeds, args.budget) for land in grids]
    print(to_json([_replay_dict(r) for r in rows]) if args.json else replay_text(rows))
    return Exit.OK


def _replay_dict(row: Any) -> dict[str, Any]:
    land = row.landscape
    return {"group": list(land.group), "engine": land.engine, "grid_points": len(land.outcomes),
            "best": land.best, "budget": row.budget, "trials_to_98pct": list(row.trials),
            "share_of_best_within_budget": list(row.shares), "random_expected_trials": row.random_expected}


def replay_text(rows: list[Any]) -> str:
    """One line per landscape: trials to 98 % of the best (p10/median/p90 over the seeds that reached it)
    and the share of the best found within the budget (p10/median/p90 over every seed)."""
    head = ["landscape", "engine", "points", "budget", "reached", "trials p10/p50/p90", "random expected",
            "share of best p10/p50/p90"]
    body = []
    for r in rows:
        q = r.trials_quantiles()
        s = r.share_quantiles()
        body.append([r.landscape.name, r.landscape.engine, str(len(r.landscape.outcomes)), str(r.budget),
                     f"{r.reached}/{len(r.trials)}", "-" if q is None else "/".join(f"{v:.3g}" for v in q),
                     f"{r.random_expected:.3g}", "/".join(f"{v:.1%}" for v in s)])
    return table([head, *body])
