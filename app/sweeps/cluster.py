"""Run a sweep's trials in parallel on a Ray cluster (the optional `inferlab[cluster]` extra).

Each trial asks Ray for its GPU count (`gpus_for`), so Ray places it on a node with free GPUs and
sets its `CUDA_VISIBLE_DEVICES`; a trial that needs no GPU takes one CPU trial slot per node, since
a CPU trial uses every core of its node. Trials go to `TrialActor`s (`app.sweeps.cluster_actor`),
each owning one engine worker; a trial goes to an idle actor that already holds its load key when
there is one, so the model stays loaded. Grid and random sweeps keep every free slot busy; Optuna
asks for several trials at once (`OptunaSearch(parallel=True)`).

The driver (this process: the CLI or the GUI) stays the only writer of the store: one reader thread
per trial in flight turns the actor's stream into messages on one queue, and the sweep thread emits
the events and stores each result as it arrives. An actor that dies mid-trial (its process killed,
its node gone) fails that trial with cause `node-lost` and the sweep goes on with a fresh actor.
"""

from __future__ import annotations

import dataclasses
import os
import queue
import socket
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from optuna.trial import TrialState

from app.sweeps.planning import config_identity, identity_or_none, normalize, plan_grid, plan_random
from app.sweeps.runner import MAX_REPEATED_ASKS, SweepRun, measured_values
from engine import registry
from engine.causes import FailureCause
from engine.config import TrialConfig
from engine.errors import ConfigError
from engine.results import TrialResult

OnDone = Callable[["_InFlight", "int | None", str, dict], None]


class ClusterUnavailable(RuntimeError):
    """Ray is not installed or the cluster cannot be reached."""


CONNECT_TIMEOUT_S = 15.0  # Ray itself retries an address that does not answer for minutes


def connect(address: str, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
    """Join the Ray cluster at `address` (`auto`: RAY_ADDRESS, a cluster started on this machine with
    `ray start`, else a new local one); a driver that called `ray.init` itself is used as it is.
    A head address (`HOST:PORT`, `ray://HOST:PORT`, or RAY_ADDRESS) must accept a connection within
    `timeout_s` before Ray is asked to join it."""
    try:
        import ray
    except ImportError as exc:
        raise ClusterUnavailable("running a sweep on a cluster needs Ray: pip install 'inferlab[cluster]'") from exc
    if ray.is_initialized():
        return
    head = os.environ.get("RAY_ADDRESS", "") if address == "auto" else address
    if head and head != "auto":
        _check_answers(head, timeout_s)
    try:
        ray.init(address=None if address == "auto" else address, log_to_driver=False)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise ClusterUnavailable(f"cannot join the Ray cluster at {address!r}: {exc}") from exc


def _check_answers(address: str, timeout_s: float) -> None:
    """Raise ClusterUnavailable unless `address` (`[ray://]HOST:PORT`) accepts a TCP connection within
    `timeout_s`; an address without a port is left to Ray."""
    parts = urllib.parse.urlsplit(address if "://" in address else f"//{address}")
    try:
        host, port = parts.hostname, parts.port
    except ValueError as exc:
        raise ClusterUnavailable(f"the Ray address {address!r} has no valid port: {exc}") from exc
    if host is None or port is None:
        return
    try:
        socket.create_connection((host, port), timeout=timeout_s).close()
    except OSError as exc:
        reason = "no answer" if isinstance(exc, TimeoutError) else str(exc)
        raise ClusterUnavailable(
            f"cannot join the Ray cluster at {address!r}: {host}:{port} did not accept a connection within "
            f"{timeout_s:g} s ({reason}); is the head running (`ray start --head`) and the port open? "
            "(--cluster-timeout sets the wait)") from exc


def gpus_for(config: TrialConfig, cluster_gpus: float) -> int:
    """GPUs a trial needs: none on `device = "cpu"`, for a server engine or on a cluster without
    GPUs; else its `num_gpus` (Ray then sets the actor's CUDA_VISIBLE_DEVICES to that many)."""
    if config.common.device == "cpu" or not registry.spec(config.engine).local_model or cluster_gpus < 1:
        return 0
    return config.common.num_gpus


@dataclasses.dataclass
class _Host:
    """An actor, the GPUs it holds, the load key of its last trial and the ticket it runs (None: idle)."""

    actor: Any
    gpus: int
    load_key: tuple[tuple[str, Any], ...] | None = None
    ticket: int | None = None


class TrialPool:
    """The cluster's actors and the trials in flight; messages come back on `messages` as
    `(ticket, kind, payload)` with kind `placement`, `event`, then `result`, `lost` (the actor died) or
    `error` (the actor raised, or its stream ended without a result)."""

    def __init__(self, python: str | None) -> None:
        import ray
        import ray.exceptions

        self.ray, self.python = ray, python
        # the actor's process or its node is gone (an actor error also covers a node that left)
        self.lost_errors = (ray.exceptions.RayActorError, ray.exceptions.NodeDiedError,
                            ray.exceptions.WorkerCrashedError)
        self.messages: queue.Queue[tuple[int, str, Any]] = queue.Queue()
        self.hosts: list[_Host] = []
        nodes = [n for n in ray.nodes() if n.get("Alive")]
        self.gpus_total = int(sum(n["Resources"].get("GPU", 0) for n in nodes))
        self.cpus_per_trial = min((n["Resources"].get("CPU", 1) for n in nodes), default=1)
        self.cpu_slots = max(1, len(nodes))

    def busy(self) -> list[_Host]:
        return [h for h in self.hosts if h.ticket is not None]

    def fits(self, gpus: int) -> bool:
        """Whether a trial needing `gpus` can start now."""
        busy = self.busy()
        if gpus == 0:
            return sum(h.gpus == 0 for h in busy) < self.cpu_slots
        return sum(h.gpus for h in busy) + gpus <= self.gpus_total

    def submit(self, ticket: int, config: TrialConfig, gpus: int, trial_id: str) -> None:
        """Start a trial on the best idle actor (same load key, else same GPU count, else a new one)."""
        host = self._host_for(config.load_key(), gpus)
        host.ticket, host.load_key = ticket, config.load_key()
        stream = host.actor.run_trial.options(num_returns="streaming").remote(config.to_flat(), trial_id)
        threading.Thread(target=self._read, args=(ticket, stream), name=f"cluster-trial-{ticket}",
                         daemon=True).start()

    def _host_for(self, load_key: tuple[tuple[str, Any], ...], gpus: int) -> _Host:
        idle = [h for h in self.hosts if h.ticket is None and h.gpus == gpus]
        if idle:
            return min(idle, key=lambda h: h.load_key != load_key)  # False (same key) sorts first
        for host in [h for h in self.hosts if h.ticket is None]:  # idle actors holding GPUs of another size
            self._retire(host)
        from app.sweeps.cluster_actor import TrialActor

        resources = {"num_gpus": gpus, "num_cpus": 0} if gpus else {"num_cpus": self.cpus_per_trial}
        host = _Host(TrialActor.options(**resources).remote(self.python), gpus)
        self.hosts.append(host)
        return host

    def _read(self, ticket: int, stream: Iterator[Any]) -> None:
        try:
            kind = ""
            for ref in stream:
                item = self.ray.get(ref)
                kind = next(iter(item))
                self.messages.put((ticket, kind, item[kind]))
            if kind != "result":
                self.messages.put((ticket, "error", RuntimeError("the actor's stream ended without a result")))
        except self.lost_errors as exc:
            self.messages.put((ticket, "lost", exc))
        except Exception as exc:  # the actor raised: a bug, reported on the trial, never lost silently
            self.messages.put((ticket, "error", exc))

    def finished(self, ticket: int, lost: bool) -> None:
        """Free the actor that ran `ticket` (dropped if it was lost)."""
        host = next(h for h in self.hosts if h.ticket == ticket)
        host.ticket = None
        if lost:
            self._retire(host)

    def _retire(self, host: _Host) -> None:
        self.hosts.remove(host)
        self.ray.kill(host.actor)

    def cancel_all(self) -> None:
        for host in self.busy():
            host.actor.cancel.remote()

    def close(self) -> None:
        """Shut every actor's worker down, then the actors."""
        closing = [h.actor.close.remote() for h in self.hosts]
        try:
            self.ray.get(closing, timeout=30)
        except (*self.lost_errors, self.ray.exceptions.GetTimeoutError):
            pass  # an actor already gone (or stuck) is killed just below either way
        for host in list(self.hosts):
            self._retire(host)


@dataclasses.dataclass
class _InFlight:
    index: int
    config: dict[str, Any]
    trial_id: str
    trial: Any = None  # the Optuna trial, for Optuna sweeps


class ClusterSweepRun(SweepRun):
    """`SweepRun` with the trial loop spread over a Ray cluster (see module docs)."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.pool = TrialPool(getattr(self.transport, "python", None))
        self.in_flight: dict[int, _InFlight] = {}
        self.tickets = 0

    def _run_planned(self) -> None:
        configs = plan_grid(self.profile) if self.profile.strategy == "grid" else plan_random(self.profile)
        self.emit({"type": "sweep-started", "sweep_id": self.sweep_id, "total": len(configs)})
        todo = iter(enumerate(configs))

        def next_trial() -> _InFlight | None:
            for index, config in todo:
                stored = self.done.get(config_identity(config))
                if stored is not None:
                    self.emit({"type": "trial-skipped", "index": index, "total": len(configs), "run_id": stored.id})
                elif not self._skip_after_oom(index, len(configs), config):  # trials in flight may still OOM
                    return _InFlight(index, config, "")
            return None

        self._drive(len(configs), next_trial, lambda trial, run_id, status, metrics: None)

    def _run_optuna(self) -> None:
        search = self._new_search(parallel=True)
        total, asked = self.profile.n_trials or 0, len(self.done)
        self.emit({"type": "sweep-started", "sweep_id": self.sweep_id, "total": total})
        in_flight_keys: set[str] = set()

        def next_trial() -> _InFlight | None:
            nonlocal asked
            for _ in range(MAX_REPEATED_ASKS):
                if asked >= total or search.exhausted() or not search.can_ask_new():
                    return None
                trial, config = search.ask()
                key = identity_or_none(config)
                stored = self.done.get(key) if key else None
                if stored is not None:
                    search.tell(trial, stored.status == "ok", measured_values(stored.metrics),
                                stored.failure_cause)
                elif key in in_flight_keys:
                    search.study.tell(trial, state=TrialState.PRUNED)  # being measured now: not a new point
                else:
                    asked += 1
                    in_flight_keys.add(key or "")
                    return _InFlight(asked - 1, config, "", trial)
            self.emit({"type": "log", "level": "info", "message": "every suggestion was measured already or is "
                       "being measured: the search space is exhausted"})
            return None

        def on_done(item: _InFlight, run_id: int | None, status: str, metrics: dict) -> None:
            in_flight_keys.discard(identity_or_none(item.config) or "")
            if status != "cancelled":
                self._tell_outcome(search, item.trial, item.config, run_id, status, metrics)

        self._drive(total, next_trial, on_done)
        if search.exhausted():
            self.emit({"type": "log", "level": "info", "message": "every point of the grid is measured or "
                       "ruled out by an out-of-memory failure: the search space is exhausted"})

    # -- the parallel loop ----------------------------------------------------------------------------
    def _drive(self, total: int, next_trial: Callable[[], _InFlight | None], on_done: OnDone) -> None:
        """Keep every free slot busy with `next_trial()` until it returns None, the budget ends or the
        user stops; store each result as it comes back."""
        started_at, waiting, more, paused = time.monotonic(), None, True, False
        while True:
            paused = self._note_pause(paused)
            while more and not paused:
                if not self._trials_left(started_at):
                    more = False
                    break
                waiting = waiting or next_trial()
                if waiting is None:
                    more = False
                elif not self._start(total, waiting, on_done):
                    break  # no room: wait for a trial to end
                else:
                    waiting = None
            if not self.in_flight and not more:
                return
            try:
                ticket, kind, payload = self.pool.messages.get(timeout=0.25)
            except queue.Empty:
                continue
            self._handle(ticket, kind, payload, on_done)

    def _note_pause(self, paused: bool) -> bool:
        now = self.pause is not None and self.pause.is_set() and not self.stop.is_set()
        if now != paused:
            self.emit({"type": "sweep-paused" if now else "sweep-resumed", "sweep_id": self.sweep_id})
        return now

    def _start(self, total: int, item: _InFlight, on_done: OnDone) -> bool:
        """Submit a trial if a slot fits it (False: not now); a config Ray can never place fails at once."""
        item.trial_id = uuid.uuid4().hex
        try:
            config = TrialConfig.from_flat(normalize(item.config))
        except ConfigError as exc:
            self.emit({"type": "trial-started", "index": item.index, "total": total, "config": dict(item.config)})
            on_done(item, *self._finish_trial(item, TrialResult.failed(item.trial_id, item.config,
                                                            FailureCause.INVALID_CONFIG, str(exc))))
            return True
        gpus = gpus_for(config, self.pool.gpus_total)
        refusal = (f"the trial needs {gpus} GPUs; the cluster has {self.pool.gpus_total} in all"
                   if gpus > self.pool.gpus_total else
                   "gpu_devices names GPUs of one machine; on a Ray cluster Ray chooses each trial's GPUs "
                   "(set num_gpus only)" if config.common.gpu_devices is not None else None)
        if refusal is not None:
            self.emit({"type": "trial-started", "index": item.index, "total": total, "config": dict(item.config)})
            on_done(item, *self._finish_trial(item, TrialResult.failed(
                item.trial_id, item.config, FailureCause.UNSUPPORTED, refusal)))
            return True
        if not self.pool.fits(gpus):
            return False
        self.emit({"type": "trial-started", "index": item.index, "total": total, "config": dict(item.config)})
        ticket = self.tickets = self.tickets + 1
        self.in_flight[ticket] = item
        self.pool.submit(ticket, config, gpus, item.trial_id)
        return True

    def _handle(self, ticket: int, kind: str, payload: Any, on_done: OnDone) -> None:
        item = self.in_flight[ticket]
        if kind == "placement":
            self.emit({"type": "trial-placed", "index": item.index, **payload})
            return
        if kind == "event":
            self.emit({**payload, "index": item.index})
            return
        if kind == "result":
            result = TrialResult.from_dict(payload)
        elif kind == "lost":
            result = TrialResult.failed(item.trial_id, item.config, FailureCause.NODE_LOST,
                             f"the cluster lost the trial's Ray worker or node: {type(payload).__name__}: "
                             f"{str(payload).splitlines()[0] if str(payload) else ''}")
        else:
            result = TrialResult.failed(item.trial_id, item.config, FailureCause.CRASH,
                             f"the cluster actor raised {type(payload).__name__}: {payload}")
        del self.in_flight[ticket]
        self.pool.finished(ticket, lost=kind != "result")
        run_id, status, metrics = self._finish_trial(item, result)
        on_done(item, run_id, status, metrics)

    def _finish_trial(self, item: _InFlight, result: TrialResult) -> tuple[int | None, str, dict]:
        if self.stop.is_set() and result.status == "failed" and result.failure_cause == FailureCause.NODE_LOST:
            result = dataclasses.replace(result, status="cancelled", failure_cause=FailureCause.CANCELLED,
                                         failure_message=f"stopped by the user; {result.failure_message}")
        return self._record(item.index, result)

    def _cancel_in_flight(self) -> None:
        self.pool.cancel_all()

    def _close_client(self) -> None:
        self.pool.close()

