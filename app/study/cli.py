"""`inferlab study best|improvement`: the study's tables from stored runs, as text or JSON."""

from __future__ import annotations

import argparse
from typing import Any

from app.cli.output import table, to_json
from app.study.tables import BestRow, ImprovementRow, best_per_group, improvement


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
    for parser in (best, gain):
        parser.add_argument("--metric", default="output_tokens_per_s", help="metric (default: output_tokens_per_s)")
        parser.add_argument("--group", action="append", metavar="OPTION",
                            help="group by this option, engine, model or source (repeatable; default: model)")
        parser.add_argument("--sweep", type=int, metavar="ID", help="only the runs of this sweep")
        parser.add_argument("--tag", help="only runs with this tag")
        parser.add_argument("--store", default=None, metavar="URL",
                            help="SQLAlchemy URL of the results store (default: the user's SQLite store)")
        parser.add_argument("--json", action="store_true", help="print JSON on stdout (for scripts)")


def _runs(args: argparse.Namespace) -> list[Any]:
    from app.store import Store

    with Store(args.store) as store:
        return store.list_runs(sweep_id=args.sweep, tag=args.tag, limit=None)


def _fmt(value: float | None, spec: str = ".4g") -> str:
    return "-" if value is None else format(value, spec)


def cmd_best(args: argparse.Namespace) -> int:
    rows = best_per_group(_runs(args), args.metric, args.group or ["model"], args.compare,
                          maximize=not args.minimize)
    print(to_json(rows) if args.json else best_text(rows, args.compare))
    return 0


def best_text(rows: list[BestRow], compare: str) -> str:
    """One line per group: each compared value's best (with the options that differ between the bests), then
    the ratio of every other value's best to the first's."""
    values = sorted({v for r in rows for v in r.best}, key=repr)
    bests = [p for r in rows for p in r.best.values()]
    shown = sorted({k for p in bests for k, _ in p.options if len({repr(q.option(k)) for q in bests}) > 1}
                   - {compare, "model"})
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
    rows = improvement(_runs(args), args.metric, args.between, _typed(args.a), _typed(args.b),
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
             _fmt(r.mean_gain_pct, ".1f"), _fmt(r.test.p, ".2g") if r.test.p is not None else r.test.reason,
             _fmt(r.cliffs_delta, ".2f")] for r in rows]
    return table([head, *body])
