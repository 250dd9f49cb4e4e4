"""Re-tuning gain (the study's HPO question): take a sweep's best configuration, run it here (the
"transferred" configuration), let the sweep's Optuna search look for a better one here under a budget,
and report how much the re-tuned best gains over the transferred one.

A re-tune is an ordinary Optuna sweep over the source sweep's search space, run by the sweep runner,
whose first trial is the transferred configuration (`run_profile(first=...)`), then `budget` new
configurations. Its stored profile carries `origin` (the source sweep, its best run, the transferred axis
values), and its runs the tag `retune-of-sweep-N`, so the gain is read back from the store at any time
(`retune_gain`; the study report's "Re-tuning gains" section).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from app.store import Store, StoreError
from app.store.records import RunSummary, SweepSummary
from app.sweeps.best import best_runs
from app.sweeps.errors import ProfileError
from app.sweeps.planning import axis_params
from app.sweeps.profile import MAX_NAME_CHARS, Axis, Constraint, Objective, Profile
from app.sweeps.profile_dump import dump_profile
from app.sweeps.profile_parse import parse_profile

ORIGIN_KIND = "retune"
DEFAULT_METRIC = "output_tokens_per_s"


class RetuneError(ValueError):
    """A re-tune that cannot start: no such sweep, no axes to search, no feasible best, a bad budget."""


@dataclasses.dataclass(frozen=True)
class RetunePlan:
    """What a re-tune runs: its profile, the configuration measured first and the link to its source."""

    source_sweep: int
    source_best: RunSummary
    transferred: dict[str, Any]  # the source best's axis values
    profile: Profile
    origin: dict[str, Any]


def tag_of(sweep_id: int) -> str:
    """The tag every run of a re-tune of sweep `sweep_id` carries."""
    return f"retune-of-sweep-{sweep_id}"


def stored_profile(sweep: SweepSummary) -> Profile:
    """The validated profile a sweep ran, rebuilt from its stored form (RetuneError if it no longer validates)."""
    d = sweep.profile
    try:
        axes = tuple(Axis(**{**a, **({"values": tuple(a["values"])} if "values" in a else {}),
                             "when": {k: tuple(v) for k, v in a.get("when", {}).items()}}) for a in d["axes"])
        profile = Profile(d["name"], d["description"], d["base"], axes, d["strategy"], d["n_trials"],
                          d["timeout_s"], d["seed"], tuple(Objective(**o) for o in d["objectives"]),
                          _constraints(d["constraints"]),
                          tuple(d.get("tags", ())), host=d.get("host"))
        return parse_profile(dump_profile(profile), f"sweep {sweep.id}'s stored profile")
    except (KeyError, TypeError, ValueError) as exc:  # ProfileError is a ValueError
        detail = str(exc) if isinstance(exc, ProfileError) else f"{type(exc).__name__}: {exc}"
        raise RetuneError(f"sweep {sweep.id}: its stored profile cannot be read back ({detail})") from exc


def _constraints(texts: Sequence[str]) -> tuple[Constraint, ...]:
    """Constraints from their stored text (`str(Constraint)`: "metric op bound")."""
    return tuple(Constraint(m, op, float(b)) for m, op, b in (c.split() for c in texts))


def plan_retune(store: Store, sweep_id: int, budget: int, *, metric: str | None = None, minimize: bool = False,
                host: str | None = None) -> RetunePlan:
    """The re-tune of sweep `sweep_id`: its best feasible run by `metric` (default: the sweep's first
    objective, else output_tokens_per_s) and constraints, searched again here (or on `host`) with
    `budget` new configurations after the transferred one. Refused before any work (RetuneError)."""
    if budget < 1:
        raise RetuneError(f"--budget: {budget}: a re-tune needs at least 1 new configuration")
    try:
        sweep = store.get_sweep(sweep_id)
    except StoreError:
        raise RetuneError(f"SWEEP_ID: no sweep {sweep_id} in the store") from None
    source = stored_profile(sweep)
    if not source.axes:
        raise RetuneError(f"sweep {sweep_id} ({sweep.name}) sweeps no option: there is nothing to re-tune")
    objective = _objective(source, metric, minimize)
    runs = store.list_runs(sweep_id=sweep_id, sort="id")
    best = best_runs(runs, (objective,), source.constraints)
    if not best:
        limits = f" meeting {', '.join(map(str, source.constraints))}" if source.constraints else ""
        raise RetuneError(f"sweep {sweep_id} ({sweep.name}) has no ok run with {objective.metric}{limits} "
                          f"among its {len(runs)} run(s): no best configuration to transfer")
    transferred = axis_params(source, best[0].config)
    name = f"retune of sweep {sweep_id}: {source.name}"[:MAX_NAME_CHARS]
    profile = dataclasses.replace(
        source, name=name, strategy="optuna", n_trials=budget + 1, timeout_s=None, objectives=(objective,),
        tags=tuple(dict.fromkeys((*source.tags, tag_of(sweep_id)))), host=host,
        description=f"Sweep {sweep_id}'s best configuration (run {best[0].id}) run here, then {budget} new "
                    "configuration(s) searched with Optuna.")
    try:
        profile = parse_profile(dump_profile(profile), f"the re-tune of sweep {sweep_id}")
    except ProfileError as exc:
        raise RetuneError(str(exc)) from exc
    origin = {"kind": ORIGIN_KIND, "source_sweep": sweep_id, "source_run": best[0].id, "transferred": transferred,
              "budget": budget}
    return RetunePlan(sweep_id, best[0], transferred, profile, origin)


def _objective(profile: Profile, metric: str | None, minimize: bool) -> Objective:
    if metric is None:
        return profile.objectives[0] if profile.objectives else Objective(DEFAULT_METRIC, "maximize")
    return Objective(metric, "minimize" if minimize else "maximize")


@dataclasses.dataclass(frozen=True)
class RetuneGain:
    """A stored re-tune's outcome: the transferred run here, the re-tuned best, and the gain of one over
    the other (None with `reason` where it cannot be computed)."""

    sweep_id: int
    source_sweep: int
    source_run: int
    metric: str
    maximize: bool
    transferred: RunSummary | None
    best: RunSummary | None
    trials: int          # new configurations the search measured after the transferred one
    budget: int
    ratio: float | None  # > 1: the re-tuned best is better (best / transferred, inverted when minimized)
    reason: str          # why there is no ratio, else ""
    noise: str           # whether the difference is within the 95% CIs of the medians
    hardware_source: str
    hardware_here: str

    @property
    def gain_pct(self) -> float | None:
        return None if self.ratio is None else (self.ratio - 1) * 100

    def as_dict(self) -> dict[str, Any]:
        """The gain as plain JSON fields."""
        before, after = self.transferred, self.best
        return {"sweep_id": self.sweep_id, "source_sweep": self.source_sweep, "source_run": self.source_run,
                "metric": self.metric, "direction": "maximize" if self.maximize else "minimize",
                "transferred_run": before.id if before else None,
                "transferred_value": before.value(self.metric) if before else None,
                "best_run": after.id if after else None, "best_value": after.value(self.metric) if after else None,
                "ratio": self.ratio, "gain_pct": self.gain_pct, "unavailable_reason": self.reason or None,
                "noise": self.noise, "new_configurations": self.trials, "budget": self.budget,
                "hardware_source": self.hardware_source, "hardware_here": self.hardware_here}

    def text(self) -> str:
        """The gain for people: both runs with their values and hardware, the ratio and %, the noise."""
        gain = (f"unavailable: {self.reason}" if self.ratio is None
                else f"x{self.ratio:.4g} ({self.gain_pct:+.1f} %); {self.noise}")
        ratio_of = "re-tuned / transferred" if self.maximize else "transferred / re-tuned (lower is better)"
        return "\n".join([
            f"re-tuning gain (sweep {self.sweep_id}, a re-tune of sweep {self.source_sweep}, whose best was run "
            f"{self.source_run}):",
            f"  source hardware: {self.hardware_source}",
            f"  here:            {self.hardware_here}",
            "  " + self._run_line("transferred", self.transferred),
            "  " + self._run_line("re-tuned best", self.best),
            f"  new configurations searched: {self.trials} of a budget of {self.budget}",
            f"  gain ({ratio_of}): {gain}"])

    def _run_line(self, label: str, run: RunSummary | None) -> str:
        if run is None:
            return f"{label}: none"
        value = run.value(self.metric)
        if value is None:
            return f"{label}: run {run.id}, no {self.metric} ({run.status}: {run.failure_cause or 'not measured'})"
        return f"{label}: run {run.id}, {self.metric} = {value:.4g}"


def retune_gain(store: Store, sweep: SweepSummary) -> RetuneGain | None:
    """The gain of a re-tune sweep, read from the store (None if `sweep` is no re-tune)."""
    origin = sweep.profile.get("origin")
    if not isinstance(origin, dict) or origin.get("kind") != ORIGIN_KIND:
        return None
    objective = Objective(**sweep.profile["objectives"][0])
    constraints = _constraints(sweep.profile["constraints"])
    runs = store.list_runs(sweep_id=sweep.id, sort="id")
    wanted = origin["transferred"]
    transferred = next((r for r in runs if all(r.config.get(k) == v for k, v in wanted.items())), None)
    found = best_runs(runs, (objective,), constraints)
    best = found[0] if found else None
    maximize = objective.direction == "maximize"
    ratio, reason = _ratio(transferred, best, objective.metric, maximize)
    here = _hardware(store, transferred.id) if transferred else "unknown: the transferred run is not in the store"
    return RetuneGain(sweep.id, origin["source_sweep"], origin["source_run"], objective.metric, maximize,
                      transferred, best, max(0, len(runs) - (transferred is not None)), origin["budget"], ratio,
                      reason, _noise(transferred, best, objective.metric) if ratio is not None else "—",
                      _hardware(store, origin["source_run"]), here)


def _ratio(transferred: RunSummary | None, best: RunSummary | None, metric: str,
           maximize: bool) -> tuple[float | None, str]:
    if transferred is None:
        return None, "the transferred configuration was not run (stopped before its trial)"
    before = transferred.value(metric)
    if transferred.status != "ok" or before is None:
        why = transferred.failure_cause or f"no {metric}"
        return None, f"the transferred configuration failed here (run {transferred.id}: {why})"
    if best is None:
        return None, "no feasible run here"
    after = best.value(metric)
    assert after is not None  # best_runs keeps only runs with the metric
    if min(before, after) <= 0:
        return None, f"{metric} is not positive (transferred {before:g}, re-tuned {after:g})"
    return (after / before if maximize else before / after), ""


def _noise(transferred: RunSummary | None, best: RunSummary | None, metric: str) -> str:
    """Whether the re-tuned best's and the transferred run's 95% CIs of the median overlap."""
    assert transferred is not None and best is not None
    if best.id == transferred.id:
        return "no difference: the transferred configuration stayed the best"
    a, b = transferred.metrics[metric], best.metrics[metric]
    for run, m in ((transferred, a), (best, b)):
        if m.ci95_low is None or m.ci95_high is None:
            return f"unknown: run {run.id} has no interval ({m.ci_description or 'none recorded'})"
    assert a.ci95_low is not None and a.ci95_high is not None and b.ci95_low is not None and b.ci95_high is not None
    if a.ci95_low <= b.ci95_high and b.ci95_low <= a.ci95_high:
        return f"within noise: the 95% CIs overlap (run {transferred.id} {a.ci95_low:.4g}–{a.ci95_high:.4g}, " \
               f"run {best.id} {b.ci95_low:.4g}–{b.ci95_high:.4g})"
    return f"beyond noise: the 95% CIs do not overlap (run {transferred.id} {a.ci95_low:.4g}–{a.ci95_high:.4g}, " \
           f"run {best.id} {b.ci95_low:.4g}–{b.ci95_high:.4g})"


def _hardware(store: Store, run_id: int) -> str:
    """Where a run ran: its host, CPU model and GPUs, from its environment record's fields."""
    fields = store.environment_fields([run_id]).get(run_id)
    if fields is None:
        return f"unknown: run {run_id} is no longer in the store"
    return ", ".join([str(fields.get("host") or "host not recorded"),
                      str(fields.get("cpu_model") or "CPU not recorded"),
                      str(fields.get("gpu_name") or "GPUs not recorded")])


def retune_gains(store: Store, runs: Sequence[RunSummary]) -> list[RetuneGain]:
    """The gains of the re-tune sweeps among `runs`' sweeps, in sweep order."""
    ids = sorted({r.sweep_id for r in runs if r.sweep_id is not None})
    sweeps = {s.id: s for s in store.list_sweeps()}
    gains = (retune_gain(store, sweeps[i]) for i in ids if i in sweeps)
    return [g for g in gains if g is not None]
