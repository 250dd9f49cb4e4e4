"""`inferlab doctor [--json] [--cuda] [--python PATH]`: the first-run checks, headless; and
`inferlab engine-pyz [-o DIR]`: write the engine as one file for another Python (`app.core.engine_artifact`)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

MARKS = {"ok": "[ok]", "warning": "[warning]", "error": "[error]"}


def register(subparsers: Any) -> None:
    """Add the `doctor` subcommand to the CLI's subparsers."""
    parser = subparsers.add_parser(
        "doctor", help="check GPUs, Python environments, the demo model and the store",
        description="Run InferLab's first-run checks and say how to fix what failed. Exit code 1 if a "
                    "check is an error.")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    parser.add_argument("--cuda", action="store_true",
                        help="also import torch in each environment to test CUDA (slower)")
    parser.add_argument("--python", action="append", default=[], metavar="PATH",
                        help="probe this interpreter too (repeatable)")
    parser.set_defaults(func=doctor)
    pyz = subparsers.add_parser(
        "engine-pyz", help="write the engine worker as one file (inferlab-engine-<hash>.pyz)",
        description="Write the engine as a zipapp that any Python with torch/transformers or vLLM runs as "
                    "the worker, without installing InferLab there: `PYTHON FILE --check` says what it can run.")
    pyz.add_argument("-o", "--output", default=".", metavar="DIR", help="folder to write it to (default: .)")
    pyz.set_defaults(func=engine_pyz)


def engine_pyz(args: argparse.Namespace) -> int:
    from pathlib import Path

    from app.core.engine_artifact import build

    print(build().write(Path(args.output)))
    return 0


def doctor(args: argparse.Namespace) -> int:
    from app.envs.doctor import run_doctor

    report = run_doctor(cuda=args.cuda, extra_pythons=tuple(args.python))
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        for check in report.checks:
            print(f"{MARKS[check.status]:10} {check.summary}")
            for line in check.details:
                print(f"{'':12}{line}")
            if check.fix and check.status != "ok":
                print(f"{'':12}fix: {check.fix}")
    return 0 if report.ok else 1


def main(argv: list[str] | None = None) -> int:
    """Run `doctor` on its own (`python -m app.envs.cli doctor`), e.g. where the full CLI is absent."""
    parser = argparse.ArgumentParser(prog="inferlab")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
