"""The CLI's own subcommands: run, sweep, runs, show (each `func(args) -> exit code`)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import signal
import sys
import threading
import tomllib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from app.cli import output
from app.cli.exit_codes import Exit
from app.cli.progress import Progress
from app.core.transport import make_transport
from app.reports.export import export_runs
from app.reports.formats import REPORT_FORMATS, format_for_suffix
from app.shipped import shipped_dir
from app.store import Store, StoreError, env_fields
from app.sweeps import Profile, ProfileError, load_profile, parse_profile, run_profile
from app.sweeps.best import best_runs
from app.sweeps.cluster import ClusterUnavailable, connect
from app.sweeps.fairness import fairness_warnings
from app.sweeps.planning import config_identity
from app.sweeps.profile import Axis
from app.sweeps.profile_dump import dump_profile
from engine.config import all_options
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


def with_overrides(profile: Profile, values: dict[str, Any], label: str) -> Profile:
    """The profile with `values` as fixed options (an axis given a value is fixed too), re-validated like
    a profile file; `label` names the overrides in errors."""
    if not values:
        return profile
    axes = _axes_left(profile, values)
    engine = values.get("engine")
    base, own = dict(profile.base), {e: dict(table) for e, table in profile.engine_options.items()}
    for key, value in values.items():
        having = [e for e in profile.engines if key in all_options(e)]
        if key != "engine" and engine is None and having and len(having) < len(profile.engines):
            for e in having:  # an option only some engines have is theirs alone
                own.setdefault(e, {})[key] = value
        else:
            base[key] = value
            for table in own.values():
                table.pop(key, None)
    edited = dataclasses.replace(profile, base=base, axes=axes, engine_options=own)
    if not axes:
        edited = dataclasses.replace(edited, strategy="grid", n_trials=None)
    try:
        return parse_profile(dump_profile(edited), f"{profile.source} with {label}")
    except ProfileError as exc:
        raise UsageError(f"{exc.source}: {exc.key}: {exc.message}") from exc


def _axes_left(profile: Profile, values: dict[str, Any]) -> tuple[Axis, ...]:
    """The axes `values` leave swept: not fixed, and (when the engine is fixed) applying to that engine."""
    engine = values.get("engine")
    return tuple(a for a in profile.axes
                 if a.name not in values and (engine is None or engine in a.when.get("engine", (engine,))))


def set_values(overrides: Sequence[str]) -> dict[str, Any]:
    """The --set KEY=VALUE items as a dict (TOML value syntax; a bare word is a string)."""
    return dict(_parse_set(item) for item in overrides)


def single_trial_profile(profile: Profile, overrides: Sequence[str]) -> Profile:
    """The profile with --set overrides as fixed options; refused if an axis is left unset."""
    values = set_values(overrides)
    left = [a.name for a in _axes_left(profile, values)]
    if left:
        raise UsageError(f"{profile.source}: the profile sweeps {', '.join(left)}; use `inferlab sweep`, "
                         f"or fix each with --set {left[0]}=VALUE")
    if not values:  # a profile without axes
        return dataclasses.replace(profile, strategy="grid", n_trials=None)
    return with_overrides(profile, values, f"--set {brief(' '.join(overrides))}")  # no axis left: one grid trial


def one_shot_profile(engine: str, model: str) -> Profile:
    """A profile of one trial from --engine and --model alone (the options are the engine's defaults)."""
    return parse_profile(f"name = \"one-shot\"\nengine = {json.dumps(engine)}\nmodel = {json.dumps(model)}\n",
                         "--engine/--model")


def _profile(args: argparse.Namespace) -> Profile:
    """The PROFILE argument's profile, or (without one) the --engine/--model one-shot profile."""
    if args.profile is None:
        if not args.engine or not args.model:
            raise UsageError("give a PROFILE, or --engine and --model for a one-shot run")
        return one_shot_profile(args.engine, args.model)
    if args.engine or args.model:
        raise UsageError("--engine/--model: only without a PROFILE (override a profile's with --set)")
    return load_profile(resolve_profile_path(args.profile))


def _output_format(args: argparse.Namespace) -> str | None:
    """The report format for -o/--output, from its suffix; refused before any trial runs."""
    if args.output is None:
        return None
    fmt = format_for_suffix(args.output)
    if fmt is None:
        raise UsageError(f"-o/--output: cannot tell the format from {args.output.name!r}; use a suffix of "
                         + ", ".join(s for f in REPORT_FORMATS for s in f.suffixes))
    return fmt.name


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


Summary = Callable[[Store, int], tuple[str, dict[str, Any]]]


def execute(profile: Profile, args: argparse.Namespace, resume: bool, *, first: Mapping[str, Any] | None = None,
            origin: Mapping[str, Any] | None = None, summary: Summary | None = None) -> int:
    """Run a sweep with progress on stderr and its runs on stdout; `first` and `origin` go to `run_profile`,
    and `summary(store, sweep_id)` adds text after the runs and fields to the JSON (`inferlab study retune`)."""
    fmt = _output_format(args)
    if args.python and not (os.path.isfile(args.python) and os.access(args.python, os.X_OK)):
        raise UsageError(f"--python: {brief(args.python)} is not an executable file")
    stop = threading.Event()
    headline = profile.objectives[0].metric if profile.objectives else "output_tokens_per_s"
    progress = Progress(headline_metric=headline)
    recovered: list[str] = []
    not_run: list[str] = []  # trials an out-of-memory failure stopped (stop_after_oom)

    def on_event(event: dict[str, Any]) -> None:
        progress(event)
        if event.get("recovery_file"):
            recovered.append(event["recovery_file"])
        if event.get("type") == "trial-skipped" and event.get("reason"):
            not_run.append(event["reason"])

    with Store(args.store) as store, _Interrupt(stop):
        host, cluster = args.host or profile.host, getattr(args, "cluster", None)
        if host and cluster:
            raise UsageError(f"a sweep runs either on a Ray cluster (--cluster) or on the SSH host {host}, not both")
        transport = make_transport(host, args.python, ssh_config=Path(args.ssh_config) if args.ssh_config else None)
        try:
            if cluster:
                connect(cluster, args.cluster_timeout)  # bounded here; run_profile then finds Ray joined
            sweep_id = run_profile(profile, store, on_event=on_event, stop=stop, resume=resume, transport=transport,
                                   cluster=cluster, first=first, origin=origin)
        except ClusterUnavailable as exc:
            raise UsageError(str(exc)) from exc
        runs = store.list_runs(sweep_id=sweep_id, sort="id")
        best = best_runs(runs, profile.objectives, profile.constraints)
        sweep = store.get_sweep(sweep_id)
        extra_text, extra = summary(store, sweep_id) if summary else ("", {})
        if fmt is not None and runs:
            path = export_runs(store, [r.id for r in runs], fmt, args.output)
            print(f"wrote {path} ({fmt}, {len(runs)} run(s))", file=sys.stderr)
    if args.json:
        print(output.to_json({"sweep_id": sweep_id, "status": sweep.status, "runs": runs,
                              "best_run_ids": [r.id for r in best], **extra}))
    else:
        print(output.runs_table(runs, [o.metric for o in profile.objectives] or output.DEFAULT_COLUMNS))
        if best:
            label = "Pareto set" if len(profile.objectives) > 1 else "best"
            print(f"\n{label} (feasible): runs {', '.join(str(r.id) for r in best)}")
        if extra_text:
            print(f"\n{extra_text}")
    if not_run:
        print(f"\n{len(not_run)} trial(s) not run: an out-of-memory failure stopped their axis (stop_after_oom)",
              file=sys.stderr)
    if recovered:
        print(f"\n{len(recovered)} result(s) could not be written to the store and were saved to:\n  "
              + "\n  ".join(recovered) + "\nbring them back with `inferlab import --recover`", file=sys.stderr)
    if stop.is_set():
        return Exit.INTERRUPTED
    if recovered:
        return Exit.STORE_OR_IO
    return Exit.TRIALS_FAILED if _unresolved(runs) else Exit.OK


def _unresolved(runs: Sequence[Any]) -> bool:
    """Whether some configuration's newest run is not ok: a trial that failed or was cancelled and that a
    resume then ran again successfully no longer counts (its record stays, with its true cause)."""
    newest = {config_identity(r.config): r.status for r in sorted(runs, key=lambda r: r.id)}
    return any(status != "ok" for status in newest.values())


def cmd_run(args: argparse.Namespace) -> int:
    return execute(single_trial_profile(_profile(args), args.set), args, resume=False)


def cmd_sweep(args: argparse.Namespace) -> int:
    profile = _profile(args)
    profile = with_overrides(profile, set_values(args.set), f"--set {brief(' '.join(args.set))}")
    for line in fairness_warnings(profile):
        print(f"warning: {profile.source}: {line}", file=sys.stderr)
    return execute(profile, args, resume=args.resume)


def cmd_runs(args: argparse.Namespace) -> int:
    try:
        environment = [env_fields.parse_condition(text) for text in args.where]
    except ValueError as exc:
        raise UsageError(f"--where: {exc}") from exc
    filters = {"status": args.status, "engine": args.engine, "model": args.model, "sweep_id": args.sweep,
               "tag": args.tag, "text": args.text, "environment": environment}
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
