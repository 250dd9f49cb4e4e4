"""`inferlab export` and `inferlab import`, registered on the headless CLI's subparsers."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app.reports.formats import FORMATS, REPORT_FORMATS, format_for_suffix
from app.reports.importers import LOADERS


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `export` and `import` subcommands."""
    exp = subparsers.add_parser("export", help="Write a comparison report of stored runs.",
                                description="Write a comparison report of stored runs ("
                                            + ", ".join(f.label for f in REPORT_FORMATS) + ").")
    exp.add_argument("runs", nargs="+", metavar="RUNS", help="Run ids, or ranges such as 3-40.")
    exp.add_argument("--format", "-f", choices=FORMATS, help="Report format (default: from the -o suffix).")
    exp.add_argument("-o", "--output", required=True, type=Path, metavar="FILE", help="Report file to write.")
    exp.add_argument("--title", default="", help="What is compared.")
    exp.add_argument("--notes", default="", help="Why, and anything a reader must know.")
    exp.add_argument("--store", default=None, metavar="URL", help="Store URL (default: the user's store).")
    exp.set_defaults(func=run_export)

    imp = subparsers.add_parser("import", help="Import other tools' results (benchmark JSON, or a table) as runs.",
                                description="Import a vLLM benchmark JSON or an optimum-benchmark report (--from), "
                                            "or a CSV/Parquet table of results through a column mapping (--map).")
    imp.add_argument("file", type=Path, metavar="FILE")
    source = imp.add_mutually_exclusive_group(required=True)
    source.add_argument("--from", dest="kind", choices=tuple(LOADERS), help="Which tool wrote FILE.")
    source.add_argument("--map", type=Path, metavar="MAPPING",
                        help="A TOML column mapping for a CSV/Parquet table (see profiles/imports/).")
    imp.add_argument("--tag", action="append", default=[], help="Tag the imported run (repeatable).")
    imp.add_argument("--store", default=None, metavar="URL", help="Store URL (default: the user's store).")
    imp.set_defaults(func=run_import)


def parse_run_ids(items: list[str]) -> list[int]:
    """'3', '5-8' → [3, 5, 6, 7, 8]; ValueError naming the bad item."""
    ids: list[int] = []
    for item in items:
        for part in item.split(","):
            lo, sep, hi = part.partition("-")
            try:
                first, last = int(lo), int(hi) if sep else int(lo)
            except ValueError:
                raise ValueError(f"runs: {part!r} is not a run id or a range like 3-40") from None
            if last < first:
                raise ValueError(f"runs: range {part!r} runs backwards")
            ids.extend(range(first, last + 1))
    return ids


def run_export(args: argparse.Namespace) -> int:
    from app.reports.export import export_runs
    from app.store import Store

    by_suffix = format_for_suffix(args.output)
    fmt = args.format or (by_suffix.name if by_suffix else None)
    if fmt is None:
        print(f"error: --format: cannot tell it from {args.output.name!r}; give one of {', '.join(FORMATS)}",
              file=sys.stderr)
        return 2
    try:
        ids = parse_run_ids(args.runs)
        with Store(args.store) as store:
            path = export_runs(store, ids, fmt, args.output, title=args.title, notes=args.notes)
    except (ValueError, LookupError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {path} ({fmt}, {len(ids)} run(s))")
    return 0


def run_import(args: argparse.Namespace) -> int:
    from app.reports.importers import import_file, import_table
    from app.store import Store

    try:
        with Store(args.store) as store:
            if args.map is not None:
                ids, source = import_table(store, args.file, args.map, tags=tuple(args.tag))
                print(f"imported {args.file} as {len(ids)} run(s) {_id_span(ids)} (source {source})")
                return 0
            run_id = import_file(store, args.file, args.kind, tags=tuple(args.tag))
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"imported {args.file} as run {run_id} (source {args.kind})")
    return 0


def _id_span(ids: list[int]) -> str:
    return f"{ids[0]}-{ids[-1]}" if ids else "(none)"
