"""The CLI's own subcommands: run, sweep, runs, show (each `func(args) -> exit code`)."""

from __future__ import annotations

import argparse
import dataclasses
import os
import signal
import sys
import threading
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from app.cli import output
from app.cli.exit_codes import Exit
from app.cli.progress import Progress
from app.shipped import shipped_dir
from app.store import Store, StoreError
from app.sweeps import Profile, ProfileError, load_profile, parse_profile, run_profile
from app.sweeps.best import best_runs
from app.sweeps.profile_dump import dump_profile
from engine.errors import ConfigError
from engine.schema import brief, check_text

MAX_KEY_CHARS = 64  # option names are short identifiers
SHIPPED_PROFILES = shipped_dir("profiles")


class UsageError(Exception):
    """Bad arguments or profile: printed, exit code 2 (Exit.USAGE)."""


def resolve_profile_path(name: str) -> Path:
    """A profile file, or the name of a shipped one (`cpu-smoke` → profiles/cpu-smoke.toml)."""
    path = Path(name)
    if path.exists() or path.suffix == ".toml":
        return path
    shipped = SHIPPED_PROFILES / f"{name}.toml"
    return shipped if shipped.exists() else path


def _parse_set(item: str) -> tuple[str, Any]:
    key, sep, raw = item.partition("=")
    key = key.strip()
    if not sep or not key:
        raise UsageError(f"--set {brief(item)}: expected key=value")
    try:
        check_text(key, "--set key", MAX_KEY_CHARS)
        check_text(raw, f"--set {key}")  # one line, no longer than any option value may be
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    try:
        value = tomllib.loads(f"v = {raw}")["v"]  # numbers, booleans, quoted strings as in a profile
    except tomllib.TOMLDecodeError:
        value = raw  # a bare word: a string
    except (RecursionError, ValueError):  # nested too deeply; an integer of over 4300 digits
        raise UsageError(f"--set {key}: not a single value: {brief(raw)}") from None
    return key, value


def single_trial_profile(profile: Profile, overrides: Sequence[str]) -> Profile:
    """The profile with --set overrides as fixed options; refused if an axis is left unset."""
    values = dict(_parse_set(item) for item in overrides)
    left = [a.name for a in profile.axes if a.name not in values]
    if left:
        raise UsageError(f"{profile.source}: the profile sweeps {', '.join(left)}; use `inferlab sweep`, "
                         f"or fix each with --set {left[0]}=VALUE")
    # Re-parse the edited profile so every override is validated like a profile key.
    base = {**profile.base, **values}
    edited = dataclasses.replace(profile, base=base, axes=(), strategy="grid", n_trials=None)
    text = dump_profile(edited)
    try:
        return parse_profile(text, f"{profile.source} with --set {brief(' '.join(overrides))}")
    except ProfileError as exc:
        raise UsageError(f"{exc.source}: {exc.key}: {exc.message}") from exc


@dataclasses.dataclass
class _Interrupt:
    """SIGINT sets `stop` (the runner cancels the trial in flight); a second SIGINT aborts at once."""

    stop: threading.Event

    def __enter__(self) -> _Interrupt:
        self.previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, _signum: int, _frame: Any) -> None:
        if self.stop.is_set():
            raise KeyboardInterrupt
        print("\ninterrupted: cancelling the running trial (Ctrl-C again to abort)", file=sys.stderr)
        self.stop.set()

    def __exit__(self, *exc: object) -> None:
        signal.signal(signal.SIGINT, self.previous)


def _execute(profile: Profile, args: argparse.Namespace, resume: bool) -> int:
    if args.python and not (os.path.isfile(args.python) and os.access(args.python, os.X_OK)):
        raise UsageError(f"--python: {brief(args.python)} is not an executable file")
    stop = threading.Event()
    headline = profile.objectives[0].metric if profile.objectives else "output_tokens_per_s"
    progress = Progress(headline_metric=headline)
    recovered: list[str] = []

    def on_event(event: dict[str, Any]) -> None:
        progress(event)
        if event.get("recovery_file"):
            recovered.append(event["recovery_file"])

    with Store(args.store) as store, _Interrupt(stop):
        sweep_id = run_profile(profile, store, on_event=on_event, stop=stop, resume=resume, python=args.python)
        runs = store.list_runs(sweep_id=sweep_id, sort="id")
        best = best_runs(runs, profile.objectives, profile.constraints)
        sweep = store.get_sweep(sweep_id)
    if args.json:
        print(output.to_json({"sweep_id": sweep_id, "status": sweep.status, "runs": runs,
                              "best_run_ids": [r.id for r in best]}))
    else:
        print(output.runs_table(runs, [o.metric for o in profile.objectives] or output.DEFAULT_COLUMNS))
        if best:
            label = "Pareto set" if len(profile.objectives) > 1 else "best"
            print(f"\n{label} (feasible): runs {', '.join(str(r.id) for r in best)}")
    if recovered:
        print(f"\n{len(recovered)} result(s) could not be written to the store and were saved to:\n  "
              + "\n  ".join(recovered) + "\nbring them back with `inferlab import --recover`", file=sys.stderr)
    if stop.is_set():
        return Exit.INTERRUPTED
    if recovered:
        return Exit.STORE_OR_IO
    return Exit.TRIALS_FAILED if any(r.status != "ok" for r in runs) else Exit.OK


def cmd_run(args: argparse.Namespace) -> int:
    profile = single_trial_profile(load_profile(resolve_profile_path(args.profile)), args.set)
    return _execute(profile, args, resume=False)


def cmd_sweep(args: argparse.Namespace) -> int:
    return _execute(load_profile(resolve_profile_path(args.profile)), args, resume=args.resume)


def cmd_runs(args: argparse.Namespace) -> int:
    filters = {"status": args.status, "engine": args.engine, "model": args.model, "sweep_id": args.sweep,
               "tag": args.tag, "text": args.text}
    with Store(args.store) as store:
        runs = store.list_runs(**filters, limit=args.limit, sort=args.sort)
    if args.json:
        print(output.to_json(runs))
    elif runs:
        print(output.runs_table(runs, args.metric or output.DEFAULT_COLUMNS))
    else:
        print("no runs match", file=sys.stderr)
    return Exit.OK


def cmd_show(args: argparse.Namespace) -> int:
    with Store(args.store) as store:
        try:
            detail = store.get_run(args.run)
        except StoreError as exc:
            raise UsageError(str(exc)) from exc
    print(output.to_json(detail) if args.json else output.run_text(detail))
    return Exit.OK
