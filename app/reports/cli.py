"""`inferlab export` and `inferlab import`, registered on the headless CLI's subparsers."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app.cli.exit_codes import Exit
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

    imp = subparsers.add_parser("import", help="Import a recovery file, other tools' results, or a table, as runs.",
                                description="Import an InferLab recovery file (a result the store could not "
                                            "write; detected by its format), all pending ones (--recover), a "
                                            "vLLM benchmark JSON or optimum-benchmark report (--from), or a "
                                            "CSV/Parquet table of results through a column mapping (--map).")
    imp.add_argument("file", type=Path, nargs="?", metavar="FILE",
                     help="the file to import (a recovery file, a --from tool's output, or a --map table)")
    source = imp.add_mutually_exclusive_group()
    source.add_argument("--from", dest="kind", choices=tuple(LOADERS), help="Which tool wrote FILE.")
    source.add_argument("--map", type=Path, metavar="MAPPING",
                        help="A TOML column mapping for a CSV/Parquet table (see profiles/imports/).")
    source.add_argument("--recover", action="store_true",
                        help="import every pending recovery file from the data dir's recovery/ folder")
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
    from app.store import Store, StoreOpenError

    by_suffix = format_for_suffix(args.output)
    fmt = args.format or (by_suffix.name if by_suffix else None)
    if fmt is None:
        print(f"error: --format: cannot tell it from {args.output.name!r}; give one of {', '.join(FORMATS)}",
              file=sys.stderr)
        return Exit.USAGE
    try:
        ids = parse_run_ids(args.runs)
        with Store(args.store) as store:
            path = export_runs(store, ids, fmt, args.output, title=args.title, notes=args.notes)
    except (ValueError, LookupError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return Exit.USAGE
    except (OSError, StoreOpenError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return Exit.STORE_OR_IO
    print(f"wrote {path} ({fmt}, {len(ids)} run(s))")
    return Exit.OK


def run_import(args: argparse.Namespace) -> int:
    from app.store import recovery

    if args.recover or (args.file is not None and args.kind is None and args.map is None
                        and recovery.is_recovery_file(args.file)):
        if args.recover and args.file is not None:
            print("error: --recover imports every pending recovery file; give no FILE with it", file=sys.stderr)
            return Exit.USAGE
        return _import_recovery([args.file] if args.file is not None else recovery.pending(), args.store)
    if args.file is None or (args.kind is None and args.map is None):
        print("error: give FILE with --from (vllm-bench or optimum-benchmark) or --map (a table), an InferLab "
              "recovery FILE, or --recover" + (f"; {args.file} is not a recovery file" if args.file is not None
                                                else ""), file=sys.stderr)
        return Exit.USAGE
    return _import_other(args)


def _import_other(args: argparse.Namespace) -> int:
    """A benchmark file (--from) or a table (--map): read and checked whole before the store opens."""
    from app.reports.importers import import_into
    from app.store import StoreError, StoreOpenError
    from app.store.store import MAX_TAG_CHARS
    from engine.errors import ConfigError
    from engine.schema import check_text

    try:
        for tag in args.tag:  # the store's rule for tags, checked before anything is read or written
            check_text(tag, "--tag", MAX_TAG_CHARS)
        ids, source = import_into(args.store, args.file, kind=args.kind, mapping_path=args.map,
                                  tags=tuple(args.tag))
    except (ValueError, ConfigError) as exc:  # ImportFormatError, StoreURLError, a bad --tag
        print(f"error: {exc}", file=sys.stderr)
        return Exit.USAGE
    except (OSError, StoreError, StoreOpenError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return Exit.STORE_OR_IO
    what = f"run {ids[0]}" if len(ids) == 1 else f"{len(ids)} run(s) " + (f"{ids[0]}-{ids[-1]}" if ids else "(none)")
    print(f"imported {args.file} as {what} (source {source})")
    return Exit.OK


def _import_recovery(paths: list[Path], store_url: str | None) -> int:
    """Import recovery files one by one; a file the store fails to take is kept (exit 3)."""
    from app.store import Store, recovery

    if not paths:
        print(f"no pending recovery files in {recovery.recovery_dir()}")
        return 0
    code = 0
    with Store(store_url) as store:
        for path in paths:
            try:
                run_id = recovery.import_recovery(store, path)
            except ValueError as exc:
                print(f"error: {exc}", file=sys.stderr)
                code = code or Exit.USAGE
            except recovery.WRITE_ERRORS as exc:
                print(f"error: {path}: the store could not take it, the file is kept: {exc}", file=sys.stderr)
                code = Exit.STORE_OR_IO
            else:
                print(f"recovered {path} as run {run_id}")
    return code
