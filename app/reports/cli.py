"""`inferlab export` and `inferlab import`, registered on the headless CLI's subparsers."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app.cli.exit_codes import Exit
from app.reports.export import FORMATS
from app.reports.importers import LOADERS

_SUFFIX_FORMATS = {".html": "html", ".htm": "html", ".pdf": "pdf", ".csv": "csv", ".json": "json", ".md": "md"}


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `export` and `import` subcommands."""
    exp = subparsers.add_parser("export", help="Write a comparison report of stored runs.",
                                description="Write a comparison report of stored runs (HTML, PDF, CSV, JSON "
                                            "or Markdown).")
    exp.add_argument("runs", nargs="+", metavar="RUNS", help="Run ids, or ranges such as 3-40.")
    exp.add_argument("--format", "-f", choices=FORMATS, help="Report format (default: from the -o suffix).")
    exp.add_argument("-o", "--output", required=True, type=Path, metavar="FILE", help="Report file to write.")
    exp.add_argument("--title", default="", help="What is compared.")
    exp.add_argument("--notes", default="", help="Why, and anything a reader must know.")
    exp.add_argument("--store", default=None, metavar="URL", help="Store URL (default: the user's store).")
    exp.set_defaults(func=run_export)

    imp = subparsers.add_parser("import", help="Import another tool's benchmark result as a run.",
                                description="Import a vLLM benchmark JSON or an optimum-benchmark report.")
    imp.add_argument("file", type=Path, metavar="FILE")
    imp.add_argument("--from", dest="kind", required=True, choices=tuple(LOADERS), help="Which tool wrote FILE.")
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

    fmt = args.format or _SUFFIX_FORMATS.get(args.output.suffix.lower())
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
    from app.reports.importers import load_result
    from app.store import Store, StoreError, StoreOpenError
    from app.sweeps.profile import MAX_TAG_CHARS
    from engine.errors import ConfigError
    from engine.schema import check_text

    try:
        for tag in args.tag:  # the store's rule for tags, checked before anything is read or written
            check_text(tag, "--tag", MAX_TAG_CHARS)
        result = load_result(args.file, args.kind)  # read and checked before the store opens
        with Store(args.store) as store:
            run_id = store.add_run(result, source=args.kind, tags=tuple(args.tag))
    except (ValueError, ConfigError) as exc:  # ImportFormatError, StoreURLError, a bad --tag
        print(f"error: {exc}", file=sys.stderr)
        return Exit.USAGE
    except (OSError, StoreError, StoreOpenError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return Exit.STORE_OR_IO
    print(f"imported {args.file} as run {run_id} (source {args.kind})")
    return Exit.OK
