"""Trial orchestration inside the worker: validate, load or reuse, warm up, measure, aggregate.

The `Runner` keeps one loaded backend; a trial whose `TrialConfig.load_key()` equals the loaded one
reuses it (load_time_s 0, reported as reused), any other key unloads first. Every failure becomes a
TrialResult with status failed/cancelled and a FailureCause (`engine.causes`); the runner itself
never raises out of `run`.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import threading
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from engine import environment, registry, rules, speedup, workloads
from engine.backends.base import Backend, LoadInfo, Request, prompt_text
from engine.causes import FailureCause
from engine.config import TrialConfig
from engine.errors import CancelledError, EngineError, OutOfMemoryError, UnsupportedError, is_out_of_memory
from engine.meters import devices, nvml
from engine.meters.energy import EnergyMeter
from engine.meters.latency import (
    Repetition,
    batch_median_metric,
    count_metrics,
    latency_metrics,
    mark_estimated,
    throughput_metrics,
)
from engine.meters.memory import MemoryMeter
from engine.quality import QualityGuard
from engine.results import Measurement, TrialResult
from engine.telemetry import Sampler

log = logging.getLogger("inferlab.engine")
Emit = Callable[..., None]  # emit(type_, **fields) sends one protocol message


class Runner:
    """Runs trials one at a time, keeping the model loaded across trials with equal load keys."""

    def __init__(self, emit: Emit) -> None:
        self.emit = emit
        self.backend: Backend | None = None
        self.key: Any = None
        self.load_info: LoadInfo | None = None
        self.checkpoint_quantization: str | None = None
        self.quality = QualityGuard(self._load_reference)
        _configure_threads()

    # -- loading -------------------------------------------------------------------------------
    def ensure_loaded(self, config: TrialConfig, before_load: Callable[[], None] | None = None
                      ) -> tuple[float, bool]:
        """Load (or reuse) the backend for `config`; returns (load_time_s, reused). `before_load` runs
        after any previous model is unloaded and before this one loads (not when reused)."""
        cls = registry.backend_class(config.engine)
        ok, reason = registry.availability(config.engine)
        if not ok:
            raise UnsupportedError("engine", f"{config.engine} is not available here: {reason}")
        self.checkpoint_quantization = rules.check_checkpoint(config)
        cls.check(config)
        _require_gpus(config, cls)
        if self.backend is not None and self.key == config.load_key():
            self.backend.config = config
            return 0.0, True
        self.unload()
        if before_load is not None:
            before_load()
        backend = cls(config)
        t = time.perf_counter()
        self.load_info = backend.load()
        load_time_s = time.perf_counter() - t
        self.backend, self.key = backend, config.load_key()
        return load_time_s, False

    def unload(self) -> None:
        if self.backend is not None:
            backend, self.backend, self.key, self.load_info = self.backend, None, None, None
            backend.unload()

    def _load_reference(self, config: TrialConfig) -> Backend:
        backend = registry.backend_class(config.engine)(config)
        backend.load()
        return backend

    def load_only(self, msg_id: str, flat: Mapping[str, Any]) -> None:
        """Handle a `load` message (pre-warm): answers `loaded` or `error`."""
        try:
            config = TrialConfig.from_flat(flat)
            load_time_s, reused = self.ensure_loaded(config)
            self.emit("loaded", id=msg_id, load_time_s=load_time_s, reused=reused)
        except Exception as exc:  # reported, never fatal to the worker
            cause, message = classify(exc)
            self.emit("error", id=msg_id, cause=cause, message=message, field=getattr(exc, "field", None),
                      traceback=traceback.format_exc())

    # -- one trial -----------------------------------------------------------------------------
    def run(self, trial_id: str, flat: Mapping[str, Any], cancel: threading.Event) -> TrialResult:
        """Run one trial; always returns a TrialResult."""
        result = TrialResult(trial_id, dict(flat), "failed", started_at=time.time())
        timed_out = threading.Event()
        timer: threading.Timer | None = None
        try:
            config = TrialConfig.from_flat(flat)
            result.config = config.to_flat()
            timer = threading.Timer(config.common.timeout_s, lambda: (timed_out.set(), cancel.set()))
            timer.daemon = True
            timer.start()
            _Trial(self, trial_id, config, cancel, result).execute()
            result.status = "ok"
        except CancelledError as exc:
            if timed_out.is_set():
                result.failure_cause, result.failure_message = FailureCause.TIMEOUT, "trial exceeded timeout_s"
            else:
                result.status, result.failure_cause = "cancelled", FailureCause.CANCELLED
                result.failure_message = str(exc)
        except Exception as exc:  # every failure is reported as a structured result
            result.failure_cause, result.failure_message = classify(exc)
            if result.failure_cause in (FailureCause.CRASH, FailureCause.OOM):
                log.error("trial %s failed:\n%s", trial_id, traceback.format_exc())
                if isinstance(exc, OutOfMemoryError):
                    result.notes.extend(f"out-of-memory evidence: {line}" for line in exc.evidence)
                result.notes.append("traceback: " + traceback.format_exc(limit=8))
                self.unload()  # a backend that crashed mid-run is not trusted for the next trial
        finally:
            if timer is not None:
                timer.cancel()
            result.finished_at = time.time()
            result.environment = {**environment.record(), **result.environment}
        return result


class _Trial:
    """The steps of one trial, sharing its config, meters and result."""

    def __init__(self, runner: Runner, trial_id: str, config: TrialConfig, cancel: threading.Event,
                 result: TrialResult) -> None:
        self.runner, self.id, self.config, self.cancel, self.result = runner, trial_id, config, cancel, result
        self.c = config.common

    def progress(self, phase: str, total: int, started: float, offset: int = 0) -> Callable[[int], None]:
        """A progress callback; tokens_per_s is a live estimate (fixed lengths only), not a result."""
        def report(done: int) -> None:
            elapsed = time.perf_counter() - started
            rate = done * self.c.output_tokens / elapsed if elapsed > 0 and self.c.ignore_eos else None
            self.runner.emit("progress", id=self.id, phase=phase, done=offset + done, total=total,
                             tokens_per_s=rate)
        return report

    def execute(self) -> None:
        runner, c = self.runner, self.c
        check_cancel(self.cancel)
        energy = EnergyMeter(self.planned_gpus())
        load_time_s, reused = runner.ensure_loaded(self.config, lambda: self.idle(energy, "before the model load"))
        if reused:
            self.idle(energy, "with the model loaded (reused from the previous trial)")
        runner.emit("loaded", id=self.id, load_time_s=load_time_s, reused=reused)
        check_cancel(self.cancel)
        backend = runner.backend
        assert backend is not None and runner.load_info is not None
        self.describe_load(backend, runner.load_info, load_time_s, reused)
        tokenizer = backend.tokenizer()
        measured = workloads.build(self.config, tokenizer, c.num_requests)
        warmup = workloads.build(self.config, tokenizer, c.warmup_requests, seed_offset=1)
        device = _device(self.config, runner.load_info)
        if device != "cuda":
            energy.drop_gpus("the trial runs on the CPU" if device == "cpu" else
                             f"the trial runs on {device!r}, not on a GPU of this machine")
        gpus = energy.devices
        self.result.environment["devices"] = gpus.to_dict()
        memory = MemoryMeter(device, gpus)
        sampler = Sampler(c.telemetry_hz, lambda s: runner.emit("telemetry", id=self.id, sample=s), gpus.gpus)
        backend.begin_trial()
        with sampler:
            if warmup:
                backend.run(self.config, warmup, -1, time.perf_counter(), self.cancel,
                            self.progress("warmup", len(warmup), time.perf_counter()))
            memory.begin()
            reps, gaps_ms = self.measure(backend, measured, energy)
        self.result.metrics.update(throughput_metrics(reps))
        self.result.metrics.update(batch_median_metric(reps, self.config.engine))
        self.result.metrics.update(latency_metrics(reps, gaps_ms, backend.ttft_method))
        output_counting, estimated = backend.output_token_counting()
        self.result.metrics.update(count_metrics(reps, output_counting))
        self.result.metrics.update(memory.metrics(sampler.samples))
        self.result.metrics.update(energy.metrics())
        self.result.metrics.update(backend.extra_metrics())
        if estimated:
            mark_estimated(self.result.metrics, output_counting)
        self.result.requests = [r for rep in reps for r in rep.records]
        self.result.sample_outputs = backend.sample_outputs()
        if c.quality_guard:
            runner.emit("progress", id=self.id, phase="quality", done=0, total=1, tokens_per_s=None)
            texts = [prompt_text(tokenizer, r.prompt) for r in measured]
            self.result.metrics.update(runner.quality.evaluate(backend, self.config, texts))
        if c.speedup_baseline:
            runner.emit("progress", id=self.id, phase="baseline", done=0, total=1, tokens_per_s=None)
            self.result.metrics.update(speedup.measure(runner._load_reference, self.config, warmup, measured,
                                                       [rep.records for rep in reps], self.cancel))
        self.describe_workload()
        self.result.notes.append("TTFT/ITL: " + backend.ttft_method)

    def planned_gpus(self) -> devices.DeviceSet:
        """The GPUs the trial will use, known before anything loads (so idle power can be read first)."""
        if self.c.device == "cpu":
            return devices.none("the trial runs on the CPU")
        return registry.backend_class(self.config.engine).gpus(self.config)

    def idle(self, energy: EnergyMeter, when: str) -> None:
        """Measure the idle baseline, reporting it as the trial's 'idle' phase."""
        if self.c.idle_baseline_s > 0:
            self.runner.emit("progress", id=self.id, phase="idle", done=0, total=1, tokens_per_s=None)
            energy.idle_baseline(self.c.idle_baseline_s, when)
        self.runner.emit("progress", id=self.id, phase="load", done=0, total=1, tokens_per_s=None)

    def measure(self, backend: Backend, requests: Sequence[Request], energy: EnergyMeter
                ) -> tuple[list[Repetition], list[float]]:
        reps: list[Repetition] = []
        gaps_ms: list[float] = []
        total = len(requests) * self.c.repetitions
        for rep in range(self.c.repetitions):
            report = self.progress("measure", total, time.perf_counter(), offset=rep * len(requests))
            energy.begin()
            t0 = time.perf_counter()
            records = backend.run(self.config, requests, rep, t0, self.cancel, report)
            wall_s = time.perf_counter() - t0
            energy.end(sum(r.output_tokens for r in records if r.ok))
            reps.append(Repetition(records, wall_s, tuple(backend.batch_sizes())))
            gaps_ms.extend(backend.inter_token_gaps_ms())
            for record in records:
                self.runner.emit("request", id=self.id, record=record.to_dict())
        return reps, gaps_ms

    def describe_load(self, backend: Backend, info: LoadInfo, load_time_s: float, reused: bool) -> None:
        m = self.result.metrics
        if reused:
            m["load_time_s"] = Measurement.unavailable("s", "model reused from the previous trial (not reloaded)")
            self.result.notes.append("model reused from the previous trial (same load options)")
        else:
            m["load_time_s"] = Measurement.measured(load_time_s, "s", "perf_counter around the backend's load")
        if info.weights_bytes is not None:
            m["model_weights_bytes"] = Measurement.measured(info.weights_bytes, "B", "bytes of the loaded "
                                                            "parameters and buffers (after quantization)")
        else:
            m["model_weights_bytes"] = Measurement.unavailable("B", "the backend does not expose its weights")
        self.result.notes.extend(info.notes)
        checkpoint = self.runner.checkpoint_quantization
        self.result.environment = {"model": {**info.resolved, "checkpoint_quantization": checkpoint or
                                             "unavailable: the server loads the model (its files are not read)"},
                                   "runtime": backend.runtime_settings()}

    def describe_workload(self) -> None:
        c = self.c
        stop = (f"fixed output length: exactly {c.output_tokens} tokens per request (EOS ignored)" if c.ignore_eos
                else f"natural stopping at EOS, at most {c.output_tokens} tokens per request")
        self.result.notes.append(f"workload {c.workload}; {stop}; {c.num_requests} requests × "
                                 f"{c.repetitions} repetitions after {c.warmup_requests} warm-up requests; "
                                 f"batch_size {c.batch_size}; prompt order {c.prompt_order}")


def _require_gpus(config: TrialConfig, cls: type[Backend]) -> None:
    """A trial that asks for several GPUs, or names its GPUs, finds them before anything loads (else
    UnsupportedError with the count seen); one GPU by default on device 'auto' may fall back to the CPU."""
    c = config.common
    if c.device == "cpu" or (c.num_gpus == 1 and c.gpu_devices is None) or not registry.spec(config.engine).local_model:
        return
    started = {name: os.environ.get(name) for name in config.worker_env()}
    if started != config.worker_env():
        raise UnsupportedError("gpu_devices", f"this worker was started with {started}, not {config.worker_env()}: "
                               "InferLab starts a worker per device list; start a worker run by hand with them")
    planned = cls.gpus(config)
    if planned.gpus:
        return
    reason = planned.reason if nvml.gpus()[0] else (f"the trial needs {c.num_gpus} GPU(s) but 0 NVIDIA GPUs are "
                                                    f"seen here ({planned.reason})")
    raise UnsupportedError("num_gpus" if c.gpu_devices is None else "gpu_devices", reason)


def _device(config: TrialConfig, info: LoadInfo) -> str:
    """Where the trial runs: as the backend resolved it, else as configured ('auto': CUDA if NVML sees a GPU)."""
    if info.resolved.get("device") in ("cpu", "cuda"):
        return str(info.resolved["device"])
    if config.common.device != "auto":
        return config.common.device
    return "cuda" if nvml.gpus()[0] else "cpu"


def check_cancel(cancel: threading.Event) -> None:
    if cancel.is_set():
        raise CancelledError("trial cancelled")


def classify(exc: BaseException) -> tuple[FailureCause, str]:
    """(cause, message) for an exception raised during a trial: an out-of-memory error on the device
    (torch.OutOfMemoryError) or the host (MemoryError, a failed CPU allocation) is `oom`."""
    if isinstance(exc, EngineError):
        return exc.cause, str(exc)
    if isinstance(exc, MemoryError) or is_out_of_memory(type(exc).__name__, str(exc)):
        return OutOfMemoryError.cause, f"{type(exc).__name__}: {exc}"
    return FailureCause.CRASH, f"{type(exc).__name__}: {exc}"


def _configure_threads() -> None:
    """One torch compute thread per available core (the worker's other threads mostly sleep), or
    INFERLAB_NUM_THREADS where the user sets it (e.g. on a machine shared with other work)."""
    if importlib.util.find_spec("torch") is None:
        return
    import torch

    torch.set_num_threads(environment.compute_threads())
