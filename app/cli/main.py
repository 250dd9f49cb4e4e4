"""The headless CLI: `inferlab run|sweep|runs|show`, plus `export`/`import` (reports) and `doctor` (envs).

Exit codes: the table in `app.cli.exit_codes` (Ctrl-C: the running trial is cancelled and recorded as
cancelled, exit 130). Progress goes to stderr, results to stdout (`--json`
for scripts). Every subcommand takes `--store URL` (default: INFERLAB_STORE_URL or the data dir's
SQLite file).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import sqlalchemy as sa

from app import __version__
from app.cli import commands, exit_codes
from app.cli.exit_codes import Exit
from app.envs import cli as envs_cli
from app.envs.settings import ENGINE_PYTHON_ENV
from app.reports import cli as reports_cli
from app.reports.formats import FORMATS
from app.store import StoreOpenError, StoreURLError, env_fields
from app.study import cli as study_cli
from app.sweeps import ProfileError
from app.sweeps.cluster import CONNECT_TIMEOUT_S
from engine.errors import ConfigError

EPILOG = exit_codes.epilog()
RAW = argparse.RawDescriptionHelpFormatter


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store", default=None, metavar="URL",
                        help="SQLAlchemy URL of the results store (default: the user's SQLite store)")
    parser.add_argument("--json", action="store_true", help="print JSON on stdout (for scripts)")


def _trial_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("profile", metavar="PROFILE", nargs="?", default=None,
                        help="a profile .toml file, or a shipped profile's name (omit it: --engine/--model)")
    parser.add_argument("--engine", default=None, help="without a PROFILE: the engine of a one-shot profile")
    parser.add_argument("--model", default=None,
                        help="without a PROFILE: the model (a path, a hub id or 'demo') of a one-shot profile")
    parser.add_argument("--python", default=None, metavar="PATH",
                        help="interpreter that runs the engine worker (e.g. a vLLM environment's python; "
                        f"with --host, its path on that host, default there the one saved for that host (GUI Machine "
                        f"picker), else python3; here, default: "
                        f"{ENGINE_PYTHON_ENV}, else the saved choice, else this Python)")
    parser.add_argument("--host", default=None, metavar="HOST",
                        help="run the worker on this SSH host (as ssh names it: ~/.ssh/config applies); "
                        "the engine is copied there once per version")
    parser.add_argument("--ssh-config", default=None, metavar="FILE",
                        help="ssh client config file to use instead of ~/.ssh/config (ssh -F; default: "
                        "INFERLAB_SSH_CONFIG when set)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a trial option (TOML value syntax; repeatable); on `sweep`, a value "
                        "given to an axis fixes it")
    parser.add_argument("-o", "--output", type=Path, default=None, metavar="FILE",
                        help="also write the runs to FILE, in the format its suffix names "
                        f"({', '.join(FORMATS)}; e.g. results.json, results.csv)")
    _common(parser)


def _gui_elsewhere(_args: argparse.Namespace) -> int:
    raise commands.UsageError("the GUI is started by the `inferlab` launcher (python -m app.main gui)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="inferlab", description="Profile LLM inference from the command "
                                     "line.", epilog=EPILOG,
                                     formatter_class=RAW)
    parser.add_argument("--version", action="version", version=f"inferlab {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    # Listed for --help only: app.main routes `inferlab gui` to the GUI before this parser sees it.
    gui = sub.add_parser("gui", help="start the desktop app (also: `inferlab` with no arguments)")
    gui.set_defaults(func=_gui_elsewhere)

    run = sub.add_parser("run", help="run one trial", epilog=EPILOG, formatter_class=RAW,
                         description="Run one trial: a profile without axes, or fix each axis with --set.")
    _trial_options(run)
    run.set_defaults(func=commands.cmd_run)

    sweep = sub.add_parser("sweep", help="run a profile's sweep", epilog=EPILOG, formatter_class=RAW,
                           description="Run every trial of a profile (grid, random or Optuna).")
    _trial_options(sweep)
    sweep.add_argument("--resume", action="store_true",
                       help="continue the newest sweep of this profile's name, skipping finished trials")
    sweep.add_argument("--cluster", default=None, metavar="auto|ADDRESS",
                       help="run trials in parallel on a Ray cluster (needs inferlab[cluster]): 'auto' joins "
                       "RAY_ADDRESS or the cluster `ray start` made on this machine, else starts a local one; "
                       "or a Ray address such as ray://head:10001")
    sweep.add_argument("--cluster-timeout", type=float, default=CONNECT_TIMEOUT_S, metavar="SECONDS",
                       help="how long the --cluster head address may take to accept a connection "
                       f"(default {CONNECT_TIMEOUT_S:g})")
    sweep.set_defaults(func=commands.cmd_sweep)

    runs = sub.add_parser("runs", help="list stored runs", description="List and filter stored runs.")
    runs.add_argument("--status", choices=("ok", "failed", "cancelled"), help="only runs with this status")
    runs.add_argument("--engine", help="only runs of this engine (e.g. hf-generate)")
    runs.add_argument("--model", help="only runs of this model")
    runs.add_argument("--sweep", type=int, metavar="ID", help="only the runs of this sweep")
    runs.add_argument("--tag", help="only runs with this tag")
    runs.add_argument("--text", help="case-insensitive text in model, engine, config or notes")
    runs.add_argument("--where", action="append", default=[], metavar="KEY=VALUE",
                      help="only runs whose environment field KEY equals VALUE, or contains it (any case) with "
                      f"KEY~=VALUE; repeatable, all must hold. Keys: {', '.join(env_fields.FIELDS)}")
    runs.add_argument("--limit", type=int, default=50, help="most runs to list (default 50)")
    runs.add_argument("--sort", default="-id", help="column, metric or config.OPTION name (config.batch_size); "
                      "descending with a '-' prefix, written --sort=-NAME")
    runs.add_argument("--metric", action="append", metavar="NAME", help="metric column to show (repeatable)")
    _common(runs)
    runs.set_defaults(func=commands.cmd_runs)

    show = sub.add_parser("show", help="show one run", description="Show a stored run in full.")
    show.add_argument("run", type=int, metavar="RUN", help="the run's id (as `inferlab runs` lists it)")
    _common(show)
    show.set_defaults(func=commands.cmd_show)

    reports_cli.register(sub)
    study_cli.register(sub)
    envs_cli.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse `argv` and run the subcommand; returns the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        return int(exc.code or 0)
    try:
        return int(args.func(args))
    except (commands.UsageError, ProfileError, ConfigError, StoreURLError) as exc:
        print(f"inferlab {args.command}: {exc}", file=sys.stderr)
        return Exit.USAGE
    except StoreOpenError as exc:
        print(f"inferlab {args.command}: {exc}", file=sys.stderr)
        return Exit.STORE_OR_IO
    except sa.exc.SQLAlchemyError as exc:  # the store cannot be written (before or after the trials)
        print(f"inferlab {args.command}: store: {type(exc).__name__}: {str(exc).splitlines()[0]}", file=sys.stderr)
        return Exit.STORE_OR_IO
    except BrokenPipeError:  # stdout closed early (`inferlab runs | head`): not an error
        sys.stderr.close()
        return Exit.OK
    except KeyboardInterrupt:
        print("inferlab: aborted", file=sys.stderr)
        return Exit.INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
