"""Optuna search over a profile's axes: TPE, single- or multi-objective, with hard constraints.

Constraints are Optuna constraints (`Trial.set_constraint`, the Optuna 5 successor of
`constraints_func`; TPE samples from feasible trials first), never penalties folded into the
objective. A failed trial (OOM, crash, timeout, invalid combination) is told as FAIL, its cause kept
as the trial's user attribute `failure_cause`. Given a `storage` (the sweep's journal file,
`app.sweeps.study_journal`) the study is persisted and a resumed sweep loads it: the sampler learns
every finished trial again, and trials left running by a stop or crash are closed as FAIL (their points
are asked again, as are those whose connection was lost). A sweep without a journal re-adds its stored
trials with `study.add_trial` instead.

When every axis is discrete and unconditional the space is a finite grid and `GridTPESampler` drives
the study: no point is asked twice, an out-of-memory failure rules out the points that need at least
as much memory (`ruled_out`), and `exhausted()` says when nothing is left to measure.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, Trial, TrialState

from app.sweeps.grid_sampler import GridTPESampler
from app.sweeps.planning import defaults_of
from app.sweeps.profile import Axis, Profile
from app.sweeps.search_space import GridSpace

optuna.logging.set_verbosity(logging.WARNING)
RETRIED_CAUSES = ("connection-lost", "node-lost")  # failures that say nothing about the point: run again
STARTUP_SHARE = 0.12  # of a finite grid's points; chosen on bench/infpop_replay.py (0.54 × random)


def _ordinal(axis: Axis) -> bool:
    """Numeric value lists (and ranges with `num` points) are searched by position, so TPE can use
    their order; strings and booleans stay categorical."""
    points = axis.grid_points() if axis.values is not None or axis.num is not None else None
    return points is not None and len(points) > 1 and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in points)


def distribution(axis: Axis) -> BaseDistribution:
    """The Optuna distribution of an axis: an index over sorted numeric points, categorical over
    other value lists, or the range itself."""
    if _ordinal(axis):
        return IntDistribution(0, len(axis.grid_points()) - 1)
    if axis.values is not None or axis.num is not None:
        return CategoricalDistribution(axis.grid_points())
    assert axis.low is not None and axis.high is not None
    if axis.integer:
        return IntDistribution(int(axis.low), int(axis.high), log=axis.log, step=int(axis.step or 1))
    return FloatDistribution(axis.low, axis.high, log=axis.log, step=axis.step)


def _grid_of(profile: Profile) -> GridSpace | None:
    """The finite grid of an unconditional profile whose axes are all discrete, else None."""
    if any(axis.when for axis in profile.axes):
        return None
    return GridSpace.of({axis.name: distribution(axis) for axis in profile.axes},
                        frozenset(axis.name for axis in profile.axes if axis.stop_after_oom))


def _value(axis: Axis, param: Any) -> Any:
    """An axis's value for its Optuna parameter (an ordinal axis's parameter is an index)."""
    return sorted(axis.grid_points())[param] if _ordinal(axis) else param


def _suggest(trial: Trial, name: str, dist: BaseDistribution) -> Any:
    if isinstance(dist, CategoricalDistribution):
        return trial.suggest_categorical(name, dist.choices)
    if isinstance(dist, IntDistribution):
        return trial.suggest_int(name, dist.low, dist.high, step=dist.step, log=dist.log)
    assert isinstance(dist, FloatDistribution)
    return trial.suggest_float(name, dist.low, dist.high, step=dist.step, log=dist.log)


class OptunaSearch:
    """Ask for configs, tell measured metrics; `n_startup_trials` start-up trials (random, or a Latin
    hypercube on a finite grid) precede TPE.

    With `parallel` (several trials in flight, asked before earlier ones are told), TPE runs as a
    constant liar and a finite grid leaves running trials' points out (`can_ask_new`).

    Measured trials are expensive, so the random start-up is a sixth of the budget (3 to 10; Optuna's
    default is always 10, which would be a third of a 30-trial sweep); on a finite grid it is also at
    most STARTUP_SHARE of the grid's points (at least 2).
    """

    def __init__(self, profile: Profile, n_startup_trials: int | None = None, *,
                 storage: optuna.storages.BaseStorage | None = None, study_name: str | None = None,
                 parallel: bool = False) -> None:
        self.profile = profile
        n_trials = profile.n_trials or 10
        startup = n_startup_trials if n_startup_trials is not None else max(3, min(10, n_trials // 6))
        directions = [o.direction for o in profile.objectives]
        grid = _grid_of(profile)
        self.ruled_out: list[dict[str, Any]] = []  # axis values of the points an OOM ruled out
        self.sampler: optuna.samplers.BaseSampler
        if grid is not None:
            if n_startup_trials is None:
                startup = max(2, min(startup, round(STARTUP_SHARE * grid.size)))
            self.sampler = GridTPESampler(grid, [StudyDirection[d.upper()] for d in directions],
                                          profile.seed, startup)
        else:
            self.sampler = optuna.samplers.TPESampler(seed=profile.seed, n_startup_trials=startup, multivariate=True,
                                                      constant_liar=parallel)
        self.study = optuna.create_study(directions=directions, sampler=self.sampler, storage=storage,
                                         study_name=study_name, load_if_exists=True)
        self.resumed = self._relearn()

    def _relearn(self) -> int:
        """Teach the sampler the trials of a loaded study and close those left running; returns how
        many finished trials it had."""
        finished = 0
        for trial in self.study.get_trials(deepcopy=False):
            if trial.state == TrialState.RUNNING:
                self.study.tell(trial.number, state=TrialState.FAIL)
            elif trial.state in (TrialState.COMPLETE, TrialState.FAIL):
                finished += 1
                cause = trial.user_attrs.get("failure_cause")
                if cause not in RETRIED_CAUSES:
                    self._observe(trial.params, trial.values, trial.constraints or {}, cause)
        return finished

    def ask(self) -> tuple[Trial, dict[str, Any]]:
        """A new trial and its (not yet normalized) flat config."""
        trial = self.study.ask()
        swept = self.profile.engine_axis
        engine = self.profile.engines[0] if swept is None else _suggest(trial, "engine", distribution(swept))
        config = self.profile.start(engine)
        for axis in self.profile.axes:
            if axis is not swept and axis.active({**defaults_of(engine), **config}):
                config[axis.name] = _value(axis, _suggest(trial, axis.name, distribution(axis)))
        return trial, config

    def objective_values(self, metrics: Mapping[str, float | None]) -> list[float] | None:
        """The objectives' values, or None if any is missing (the trial then counts as failed)."""
        values = [metrics.get(o.metric) for o in self.profile.objectives]
        return None if any(v is None for v in values) else [float(v) for v in values]  # type: ignore[arg-type]

    def constraint_values(self, metrics: Mapping[str, float | None]) -> dict[str, float]:
        return {str(c): c.violation(metrics.get(c.metric)) for c in self.profile.constraints}

    def tell(self, trial: Trial, ok: bool, metrics: Mapping[str, float | None],
             failure_cause: str | None = None) -> TrialState:
        """Report a finished trial (`failure_cause` "oom" bounds its neighbours); returns the state
        Optuna recorded."""
        constraints = self.constraint_values(metrics)
        for key, violation in constraints.items():
            trial.set_constraint(key, violation)
        if failure_cause:
            trial.set_user_attr("failure_cause", str(failure_cause))
        values = self.objective_values(metrics) if ok else None
        self._observe(trial.params, values, constraints, failure_cause)
        if values is None:
            self.study.tell(trial, state=TrialState.FAIL)
            return TrialState.FAIL
        self.study.tell(trial, values)
        return TrialState.COMPLETE

    def _observe(self, params: Mapping[str, Any], values: list[float] | None, constraints: Mapping[str, float],
                 failure_cause: str | None) -> None:
        if isinstance(self.sampler, GridTPESampler) and params.keys() >= set(self.sampler.space.names):
            implied = self.sampler.observe(params, values, constraints, failure_cause == "oom")
            self.ruled_out += [self._axis_values(p) for p in implied]

    def _axis_values(self, params: Mapping[str, Any]) -> dict[str, Any]:
        return {a.name: _value(a, params[a.name]) for a in self.profile.axes}

    def can_ask_new(self) -> bool:
        """Whether an ask can give a point no running trial is measuring (on a finite grid; always elsewhere)."""
        return not isinstance(self.sampler, GridTPESampler) or bool(self.sampler.open_points(self.study))

    def exhausted(self) -> bool:
        """Whether every point of a finite grid is measured or ruled out (never for other spaces)."""
        return isinstance(self.sampler, GridTPESampler) and self.sampler.exhausted()

    def _params(self, config: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, BaseDistribution]] | None:
        """A config's Optuna parameters and their distributions, or None if it lies outside the space."""
        params, dists = {}, {}
        for axis in self.profile.axes:
            if axis.active(config) and axis.name in config:
                value = config[axis.name]
                if _ordinal(axis):
                    points = sorted(axis.grid_points())
                    if value not in points:
                        return None
                    value = points.index(value)
                params[axis.name] = value
                dists[axis.name] = distribution(axis)
        return params, dists

    def enqueue(self, config: Mapping[str, Any]) -> bool:
        """Make the next ask return this config's axis values (a re-tune's transferred configuration,
        measured first; the profile's base completes it); False if it lies outside this profile's space."""
        engine = str(config.get("engine", self.profile.engines[0]))
        found = self._params({**defaults_of(engine), **self.profile.start(engine), **config})
        if found is None:
            return False
        self.study.enqueue_trial(found[0], skip_if_exists=True)
        return True

    def add_stored(self, config: Mapping[str, Any], ok: bool, metrics: Mapping[str, float | None],
                   failure_cause: str | None = None) -> bool:
        """Re-add a trial measured earlier (resume); False if it lies outside this profile's space."""
        found = self._params(config)
        if found is None:
            return False
        params, dists = found
        values = self.objective_values(metrics) if ok else None
        try:
            frozen: FrozenTrial = optuna.trial.create_trial(
                state=TrialState.COMPLETE if values is not None else TrialState.FAIL, values=values,
                params=params, distributions=dists, constraints=self.constraint_values(metrics))
            self.study.add_trial(frozen)
        except ValueError:
            return False
        self._observe(params, values, frozen.constraints, failure_cause)
        return True

    def finished_count(self) -> int:
        return sum(t.state in (TrialState.COMPLETE, TrialState.FAIL) for t in self.study.get_trials(deepcopy=False))
