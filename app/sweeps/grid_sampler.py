"""TPE over a finite grid that never spends a trial on a point whose outcome is already known.

The sampler keeps its own view of the search (a private in-memory study): measured points with their
values, and failed points, including those an out-of-memory failure implies without running them,
as infeasible. TPE is fitted on that view, so failures push it away instead of teaching it nothing
(Optuna's TPE ignores FAIL trials). The real study still records every measured failure as FAIL.
Each ask returns the unexplored point TPE's acquisition l(x)/g(x) ranks first, so a point is never
asked twice and there is always something new to try until the grid is exhausted. Start-up points
come from a seeded Latin hypercube over the grid positions, so the first trials cover every axis's
range. Measured with bench/infpop_replay.py (40 landscapes × 10 seeds, new configs to 98 % of the best
vs random sampling): 0.54 as built; 0.63 with random start-up points; 0.61 without OOM bounds; about
0.64 taking TPE's own suggestion and the nearest unexplored point when it repeats; 3, 4, 6 or 8
start-up points instead of 5 on the 44-point grids: 0.56 to 0.58; probing the batch just below
each OOM every 2nd or 3rd ask: 0.59 or 0.58 (better on the worst landscape, worse on average); TPE's
prior weight 0.5 or 2: 0.55 or 0.54. With trials running in parallel (a sweep on a cluster), the
points of the study's running trials are left out of each ask, the grid's equivalent of a constant
liar: two trials in flight never measure the same point.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import optuna
from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler, TPESampler
from optuna.samplers._tpe.sampler import _split_trials, default_gamma, default_gamma_multiobjective
from optuna.study import Study, StudyDirection
from optuna.trial import FrozenTrial, TrialState

from app.sweeps.search_space import GridSpace, Key, Params

INFEASIBLE = {"failed or out of memory": 1.0}


class GridTPESampler(BaseSampler):
    """TPE restricted to the unexplored points of a finite grid (see module docs)."""

    def __init__(self, space: GridSpace, directions: Sequence[StudyDirection], seed: int,
                 n_startup_trials: int) -> None:
        self.space = space
        self.n_startup_trials = n_startup_trials
        self.tpe = TPESampler(seed=seed, multivariate=True, constant_liar=False)  # its Parzen estimators
        self.rng = random.Random(seed)
        self.view = optuna.create_study(directions=list(directions), sampler=self.tpe)
        self.known: set[Key] = set()  # measured or ruled out
        self.measured_keys: set[Key] = set()
        self.unexplored: dict[Key, Params] = {space.key(p): p for p in space.points()}
        self.design = self._latin_hypercube()

    # -- what the search has learnt ---------------------------------------------------------------
    def observe(self, params: Mapping[str, Any], values: Sequence[float] | None,
                constraints: Mapping[str, float], out_of_memory: bool) -> list[Params]:
        """Record a measured point; returns the unexplored points an out-of-memory failure rules out.
        (A point measured after being ruled out, e.g. by a sweep resumed from another strategy, is
        added as measured too.)"""
        key = self.space.key(params)
        if key in self.measured_keys:
            return []
        self.measured_keys.add(key)
        self._add(params, values, constraints)
        if values is None and out_of_memory:
            implied = self.space.implied_oom(params, list(self.unexplored.values()))
            for point in implied:
                self._add(point, None, INFEASIBLE)
            return implied
        return []

    def _add(self, params: Mapping[str, Any], values: Sequence[float] | None,
             constraints: Mapping[str, float]) -> None:
        key = self.space.key(params)
        self.known.add(key)
        self.unexplored.pop(key, None)
        feasible = values is not None
        self.view.add_trial(optuna.trial.create_trial(
            state=TrialState.COMPLETE if feasible else TrialState.PRUNED, values=values,
            params={n: params[n] for n in self.space.names}, distributions=self.space.distributions,
            constraints=dict(constraints) if feasible else INFEASIBLE))

    def exhausted(self) -> bool:
        return not self.unexplored

    # -- Optuna's sampler interface ---------------------------------------------------------------
    def infer_relative_search_space(self, study: Study, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        return dict(self.space.distributions)

    def sample_relative(self, study: Study, trial: FrozenTrial,
                        search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        open_points = self.open_points(study)
        if not open_points:
            return {}
        if len(self.measured_keys) < self.n_startup_trials:
            return self._next_design_point(open_points)
        return self._best_by_acquisition(open_points)

    def open_points(self, study: Study) -> dict[Key, Params]:
        """The unexplored points that no running trial of `study` is measuring."""
        running = {self.space.key(t.params) for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
                   if t.params.keys() >= set(self.space.names)}
        return {key: point for key, point in self.unexplored.items() if key not in running}

    def sample_independent(self, study: Study, trial: FrozenTrial, param_name: str,
                           param_distribution: BaseDistribution) -> Any:
        return self.tpe.sample_independent(self.view, trial, param_name, param_distribution)

    # -- choosing points --------------------------------------------------------------------------
    def _latin_hypercube(self) -> list[Params]:
        """`n_startup_trials` points, each axis's positions split into that many strata."""
        n = max(1, self.n_startup_trials)
        columns = []
        for name in self.space.names:
            choices = self.space.choices[name]
            strata = [choices[min(len(choices) - 1, int((i + self.rng.random()) * len(choices) / n))]
                      for i in range(n)]
            self.rng.shuffle(strata)
            columns.append(strata)
        return [dict(zip(self.space.names, row, strict=True)) for row in zip(*columns, strict=True)]

    def _next_design_point(self, open_points: Mapping[Key, Params]) -> Params:
        while self.design:
            point = self.design.pop(0)
            if self.space.key(point) in open_points:
                return point
        return self.rng.choice(list(open_points.values()))

    def _best_by_acquisition(self, open_points: Mapping[Key, Params]) -> Params:
        """The unexplored point with the highest TPE acquisition l(x)/g(x), ties broken at random.

        TPE's own `sample_relative` draws 24 candidates from l(x); on a grid of a few dozen points
        most land on measured points, so every unexplored point is scored instead, with TPE's own
        split and Parzen estimators (private Optuna 5 API: pyproject pins optuna < 6).
        """
        trials = self.view.get_trials(deepcopy=False)
        gamma = default_gamma if len(self.view.directions) == 1 else default_gamma_multiobjective
        below, above = _split_trials(self.view, trials, gamma(len(trials)))
        space = dict(self.space.distributions)
        l_below = self.tpe._build_parzen_estimator(self.view, space, below, handle_below=True)
        l_above = self.tpe._build_parzen_estimator(self.view, space, above, handle_below=False)
        candidates = list(open_points.values())
        samples = {name: np.asarray([dist.to_internal_repr(c[name]) for c in candidates])
                   for name, dist in space.items()}
        acquisition = l_below.log_pdf(samples) - l_above.log_pdf(samples)
        top = np.flatnonzero(acquisition >= acquisition.max() - 1e-12)
        return candidates[int(top[self.rng.randrange(len(top))])]
