"""`run_profile`: run a sweep in the caller's thread, one worker reused while it stays healthy.

Each trial's result is written to the store (one transaction) the moment it ends, so a stop, a crash
or a kill loses at most the trial in flight. A result the store fails to write goes to a recovery file
(`app.store.recovery`; the `trial-finished` event names it, with `run_id` None) and the sweep goes on.
A failed trial is stored with its cause and the sweep goes on; after a crash/OOM/timeout the next
trial gets a fresh worker. `stop` cancels the trial in flight (`WorkerClient.cancel`, from a watcher
thread) and ends the sweep; `pause` holds it after the current trial. `resume` continues the newest
sweep of the same name: finished trials (same flat config, status ok or failed) are skipped and the
sweep's persisted Optuna study (`app.sweeps.study_journal`) continues. On a stop_after_oom axis, a
grid or random trial that a stored out-of-memory failure stops (`planning.stopped_by_oom`: a smaller
value, every other option equal) is not run nor stored: a `trial-skipped` event with its `reason` says
so, and a resumed sweep decides the same from the stored failures.
An Optuna sweep given `first` measures that configuration's axis values first (a re-tune's transferred
configuration, `app.study.retune`); `origin` is kept with the sweep's stored profile (key "origin").

The workers run where `transport` says (default: child processes of `python` here). A trial whose
connection drops is failed with cause `connection-lost` and the next trial reconnects; when the
reconnect itself fails the sweep stops (status failed) with that cause. A resumed sweep runs the
trials that failed on a lost connection again.
With `cluster` set (`auto` or a Ray address) the trials run in parallel on a Ray cluster instead
(`app.sweeps.cluster`); events and store writes stay in the caller's thread.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from optuna.trial import Trial

from app.core.transport import Transport, make_transport
from app.core.worker_client import WorkerClient, WorkerStartError
from app.store import Store
from app.store.records import RunSummary
from app.store.recovery import WRITE_ERRORS, add_run_or_recover
from app.sweeps import best
from app.sweeps.optuna_search import RETRIED_CAUSES, OptunaSearch
from app.sweeps.planning import (
    axis_params,
    config_identity,
    identity_or_none,
    normalized_or_as_is,
    plan_grid,
    plan_random,
    stopped_by_oom,
)
from app.sweeps.profile import Profile
from app.sweeps.study_journal import journal_path, journal_storage, study_name
from engine.causes import FailureCause
from engine.config import TrialConfig
from engine.errors import ConfigError
from engine.results import TrialResult

Event = dict[str, Any]
log = logging.getLogger("inferlab.sweeps.runner")
# Causes after which the worker process is not trusted again.
FRESH_WORKER_CAUSES = (FailureCause.CRASH, FailureCause.OOM, FailureCause.TIMEOUT, FailureCause.WORKER_EXIT,
                       FailureCause.KILLED, FailureCause.HEARTBEAT_LOST, FailureCause.PROTOCOL,
                       FailureCause.CONNECTION_LOST)
DONE_STATUSES = ("ok", "failed")
MAX_REPEATED_ASKS = 50  # Optuna suggestions in a row that were all measured already: space exhausted


def run_profile(profile: Profile, store: Store, *, on_event: Callable[[Event], None] | None = None,
                stop: threading.Event | None = None, pause: threading.Event | None = None,
                resume: bool = False, python: str | None = None, transport: Transport | None = None,
                cluster: str | None = None, first: Mapping[str, Any] | None = None,
                origin: Mapping[str, Any] | None = None) -> int:
    """Run the profile's trials and return the sweep id (see module docs for events, `first` and `origin`)."""
    transport = transport or make_transport(None, python)
    kind: type[SweepRun] = SweepRun
    if cluster is not None:
        if transport.host != "local":
            raise ValueError(f"a sweep runs either on a Ray cluster or on the SSH host {transport.host}, not both")
        from app.sweeps.cluster import ClusterSweepRun, connect  # Ray is an optional extra

        connect(cluster)
        kind = ClusterSweepRun
    return kind(profile, store, on_event, stop or threading.Event(), pause, transport, first, origin).run(resume)


class SweepRun:
    def __init__(self, profile: Profile, store: Store, on_event: Callable[[Event], None] | None,
                 stop: threading.Event, pause: threading.Event | None, transport: Transport,
                 first: Mapping[str, Any] | None = None, origin: Mapping[str, Any] | None = None) -> None:
        self.profile, self.store, self.stop, self.pause = profile, store, stop, pause
        self.transport, self.first, self.origin = transport, first, origin
        self.unreachable = False  # a reconnect failed: the sweep stops
        self.on_event = on_event or (lambda event: None)
        self.client: WorkerClient | None = None
        self.client_lock = threading.Lock()
        self.sweep_id = 0
        self.done: dict[str, RunSummary] = {}
        self.ooms: list[dict[str, Any]] = []  # flat configs of this sweep's trials that ran out of memory

    def emit(self, event: Event) -> None:
        self.on_event(event)

    # -- the sweep ------------------------------------------------------------------------------------
    def run(self, resume: bool) -> int:
        previous = self.store.latest_sweep(self.profile.name) if resume else None
        if previous is None:
            stored = self.profile.to_dict() | ({"origin": dict(self.origin)} if self.origin else {})
            self.sweep_id = self.store.create_sweep(self.profile.name, stored, self.profile.strategy)
        else:
            self.sweep_id = previous.id
            self.store.set_sweep_status(self.sweep_id, "running")
            self.done = self._finished_runs()
            self.ooms = [normalized_or_as_is(r.config) for r in self.done.values() if r.failure_cause == FailureCause.OOM]
        finished = threading.Event()
        watcher = threading.Thread(target=self._watch_stop, args=(finished,), name="sweep-stop", daemon=True)
        watcher.start()
        status = "failed"
        try:
            if self.profile.strategy == "optuna":
                self._run_optuna()
            else:
                self._run_planned()
            status = "stopped" if self.stop.is_set() else "failed" if self.unreachable else "finished"
        finally:
            finished.set()
            self._close_client()
            self._finish(status)
        return self.sweep_id

    def _finish(self, status: str) -> None:
        """Record the sweep's end; a store that fails even this is reported, the results being safe."""
        try:
            self.store.set_sweep_status(self.sweep_id, status)
            runs = self.store.list_runs(sweep_id=self.sweep_id)
        except WRITE_ERRORS as exc:
            self.emit({"type": "log", "level": "error", "message": f"the store could not record the end of sweep "
                       f"{self.sweep_id} ({type(exc).__name__}: {str(exc).splitlines()[0]}); it stays marked "
                       "'running' there"})
            runs = []
        best_ids = [r.id for r in best.best_runs(runs, self.profile.objectives, self.profile.constraints)]
        self.emit({"type": "sweep-finished", "sweep_id": self.sweep_id, "status": status, "best_run_ids": best_ids})

    def _finished_runs(self) -> dict[str, RunSummary]:
        out: dict[str, RunSummary] = {}
        for run in self.store.list_runs(sweep_id=self.sweep_id, sort="id"):
            if run.status in DONE_STATUSES and run.failure_cause not in RETRIED_CAUSES:
                out[config_identity(normalized_or_as_is(run.config))] = run
        return out

    def _trials_left(self, started_at: float) -> bool:
        if self.stop.is_set() or self.unreachable:
            return False
        timeout = self.profile.timeout_s
        if timeout is not None and time.monotonic() - started_at > timeout:
            self.emit({"type": "log", "level": "info", "message": f"sweep budget of {timeout:g} s reached"})
            return False
        return True

    def _run_planned(self) -> None:
        configs = plan_grid(self.profile) if self.profile.strategy == "grid" else plan_random(self.profile)
        self.emit({"type": "sweep-started", "sweep_id": self.sweep_id, "total": len(configs)})
        started_at = time.monotonic()
        for index, config in enumerate(configs):
            if not self._trials_left(started_at):
                return
            stored = self.done.get(config_identity(config))
            if stored is not None:
                self.emit({"type": "trial-skipped", "index": index, "total": len(configs), "run_id": stored.id})
                continue
            if self._skip_after_oom(index, len(configs), config):
                continue
            self._run_trial(index, len(configs), config)
            self._hold_while_paused()

    def _skip_after_oom(self, index: int, total: int, config: Mapping[str, Any]) -> bool:
        """Emit `trial-skipped` with the reason when an out-of-memory failure stops this trial's axis."""
        reason = stopped_by_oom(self.profile, config, self.ooms)
        if reason is not None:
            self.emit({"type": "trial-skipped", "index": index, "total": total, "run_id": None,
                       "config": dict(config), "reason": reason})
        return reason is not None

    def _new_search(self, parallel: bool = False) -> OptunaSearch:
        """The Optuna search, with the trials of a resumed sweep told."""
        # A resumed study gets a shifted seed, so its start-up trials do not replay the first ones.
        journal = journal_path(self.store.url, self.sweep_id)
        search = OptunaSearch(dataclasses.replace(self.profile, seed=self.profile.seed + len(self.done)),
                              storage=journal_storage(journal), study_name=study_name(self.sweep_id), parallel=parallel)
        if not search.resumed:  # a sweep from before studies were persisted: rebuild it from the store
            for run in self.done.values():
                search.add_stored(normalized_or_as_is(run.config), run.status == "ok", measured_values(run.metrics),
                                  run.failure_cause)
        if self.first is not None and not search.resumed and not self.done and not search.enqueue(self.first):
            self.emit({"type": "log", "level": "warning", "message": "the configuration to measure first lies "
                       f"outside the search space: {axis_params(self.profile, self.first)}"})
        return search

    def _run_optuna(self) -> None:
        search = self._new_search()
        total, measured, repeats = self.profile.n_trials or 0, len(self.done), 0
        self.emit({"type": "sweep-started", "sweep_id": self.sweep_id, "total": total})
        self.emit({"type": "log", "level": "info", "message": f"Optuna study {study_name(self.sweep_id)}: "
                   f"{journal_path(self.store.url, self.sweep_id)}"})
        started_at = time.monotonic()
        while measured < total and self._trials_left(started_at):
            if search.exhausted():
                self.emit({"type": "log", "level": "info", "message": "every point of the grid is measured or "
                           "ruled out by an out-of-memory failure: the search space is exhausted"})
                return
            trial, config = search.ask()
            key = identity_or_none(config)
            stored = self.done.get(key) if key else None
            if stored is not None:  # measured before in this sweep: tell the stored figures, run nothing
                search.tell(trial, stored.status == "ok", measured_values(stored.metrics), stored.failure_cause)
                repeats += 1
                if repeats >= MAX_REPEATED_ASKS:
                    self.emit({"type": "log", "level": "info", "message": "every suggestion was measured "
                               "already: the search space is exhausted"})
                    return
                continue
            repeats = 0
            run_id, status, metrics = self._run_trial(measured, total, config)
            measured += 1
            if status == "cancelled":
                return
            self._tell_outcome(search, trial, config, run_id, status, metrics)
            self._hold_while_paused()

    def _tell_outcome(self, search: OptunaSearch, trial: Trial, config: Mapping[str, Any], run_id: int | None,
                      status: str, metrics: Mapping[str, float | None]) -> None:
        """Tell the search a recorded trial; a stored one joins `done` (a recovery file's is told as known)."""
        if run_id is None:
            search.tell(trial, status == "ok", metrics)
            return
        summary = self.store.get_run(run_id).summary
        self._tell(search, trial, config, summary, metrics)
        key = identity_or_none(config)
        if key:
            self.done[key] = summary

    def _tell(self, search: OptunaSearch, trial: Trial, config: Mapping[str, Any], summary: RunSummary,
              metrics: Mapping[str, float | None]) -> None:
        """Tell the search a trial's outcome and log the configurations an out-of-memory failure rules out."""
        ruled_out = len(search.ruled_out)
        search.tell(trial, summary.status == "ok", metrics, summary.failure_cause)
        if len(search.ruled_out) > ruled_out:
            self.emit({"type": "log", "level": "info", "message": (
                f"out of memory at {axis_params(self.profile, config)}: {len(search.ruled_out) - ruled_out} "
                "configurations needing at least as much memory are ruled out without running them")})

    # -- one trial ------------------------------------------------------------------------------------
    def _run_trial(self, index: int, total: int, config: Mapping[str, Any]) -> tuple[int | None, str, dict]:
        self.emit({"type": "trial-started", "index": index, "total": total, "config": dict(config)})

        def forward(event: Event) -> None:
            self.emit({**event, "index": index})

        result = self._execute(config, forward)
        if result.status == "failed" and result.failure_cause in FRESH_WORKER_CAUSES:
            self._close_client()
            if self.stop.is_set():  # e.g. Ctrl-C reached the worker too: the user stopped this trial
                result = dataclasses.replace(result, status="cancelled", failure_cause=FailureCause.CANCELLED,
                                             failure_message=f"stopped by the user; {result.failure_message}")
        return self._record(index, result)

    def _record(self, index: int, result: TrialResult) -> tuple[int | None, str, dict]:
        """Store a finished trial (or save it to a recovery file) and emit `trial-finished`."""
        # the telemetry samples travel on the result (WorkerClient collects them from the stream)
        saved = add_run_or_recover(self.store, result, sweep_id=self.sweep_id, sweep_name=self.profile.name,
                                   tags=self.profile.tags)
        metrics = measured_values(result.metrics)
        if result.failure_cause == FailureCause.OOM:
            self.ooms.append(dict(result.config))
        event = {"type": "trial-finished", "index": index, "run_id": saved.run_id, "status": result.status,
                 "failure_cause": result.failure_cause, "metrics": metrics}
        if saved.recovery_file is not None:
            event |= {"recovery_file": str(saved.recovery_file), "store_error": saved.store_error}
        self.emit(event)
        return saved.run_id, result.status, metrics

    def _execute(self, config: Mapping[str, Any], forward: Callable[[Event], None]) -> TrialResult:
        trial_id = uuid.uuid4().hex
        try:
            trial = TrialConfig.from_flat(config)
            return self._ensure_client(trial.worker_env()).run_trial(trial.to_flat(), on_event=forward,
                                                                     trial_id=trial_id)
        except ConfigError as exc:
            log.warning("trial %s: invalid config: %s", trial_id, exc)
            return TrialResult.failed(trial_id, config, FailureCause.INVALID_CONFIG, str(exc))
        except WorkerStartError as exc:  # record it, keep the sweep going; any other error is a bug and ends it
            log.exception("trial %s: worker failed to start", trial_id)
            self._close_client()
            if exc.cause is FailureCause.CONNECTION_LOST:
                self.unreachable = True
                self.emit({"type": "log", "level": "error", "message": f"the sweep stops: {exc}"})
            return TrialResult.failed(trial_id, config, exc.cause, f"worker failed to start: {exc}")

    def _ensure_client(self, env: dict[str, str]) -> WorkerClient:
        """The sweep's worker, started afresh when it died or was started with another environment (a trial
        with other `gpu_devices` needs a worker that sees those GPUs)."""
        with self.client_lock:
            if self.client is None or not self.client.alive or self.client.env != env:
                if self.client is not None:
                    self.client.close()
                self.client = WorkerClient(transport=self.transport, env=env)
                self.client.start()
            return self.client

    def _close_client(self) -> None:
        with self.client_lock:
            client, self.client = self.client, None
        if client is not None:
            client.close()

    def _watch_stop(self, finished: threading.Event) -> None:
        """Cancel the trial in flight as soon as `stop` is set (the sweep thread is blocked in it)."""
        while not finished.is_set():
            if self.stop.wait(0.25):
                self._cancel_in_flight()
                return

    def _cancel_in_flight(self) -> None:
        with self.client_lock:
            if self.client is not None:
                self.client.cancel()

    def _hold_while_paused(self) -> None:
        if self.pause is None or not self.pause.is_set():
            return
        self.emit({"type": "sweep-paused", "sweep_id": self.sweep_id})
        while self.pause.is_set() and not self.stop.wait(0.25):
            pass
        self.emit({"type": "sweep-resumed", "sweep_id": self.sweep_id})


def measured_values(metrics: Mapping[str, Any]) -> dict[str, float | None]:
    """Each metric's value (None where unavailable), as the search and the best-run picker take them."""
    return {name: m.value for name, m in metrics.items()}
