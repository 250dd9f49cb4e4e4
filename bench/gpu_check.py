"""GPU check kit: prove InferLab's GPU paths on an NVIDIA machine with no internet, in minutes.

Driven by bench/gpu_check.sh (which installs the carried wheels first). It builds random-weight models
from the configs carried in bench/data/gpu_check/ (the demo model's config and tokenizer, and a ~1B
Llama-family config), runs real hf-generate trials through the real worker (WorkerClient) into a real
SQLite store, reads every figure back through the store API, and checks them against what this
process reads from NVML itself:

- energy: NVML total-energy delta vs the integral of the stored power samples over the same window
  (ratio 0.90–1.10); J/token == energy / counted tokens; mean power within the board's limit;
- memory: peak CUDA allocated ≤ reserved ≤ NVML used, and allocated > weights;
- activity: utilisation and SM clock rise during trials and fall after;
- identity: the GPUs read are the GPUs used (a trial pinned by CUDA_VISIBLE_DEVICES to a non-0 GPU;
  the recorded UUID; the stored power is the used GPU's, not another's);
- overhead: InferLab decode tok/s ≥ 0.97 × a bare hand-timed inference_mode loop (bench/bare_loop.py);
- GPU axis: hf-generate with num_gpus=1 and (with two GPUs or more) num_gpus=2 on the last GPUs, named
  by gpu_devices and started as the sweep runner starts a worker (`TrialConfig.worker_env`): the recorded
  devices, the telemetry and the energy method name exactly those GPUs, and a sharded model holds
  modules on each of them. On one GPU, num_gpus=2 is reported as not tried.

Without an NVIDIA GPU it runs the same path end to end on CPU with tiny models and a few tokens, and
reports every GPU check "skipped: no NVIDIA GPU". Writes OUT/gpu_check.json and OUT/gpu_check.html.

    bench/gpu_check.sh OUT_DIR          # or: python bench/gpu_check.py OUT_DIR

Exit code: 0 when no check failed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import gzip
import html
import json
import os
import shutil
import statistics
import sys
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.core.worker_client import WorkerClient  # noqa: E402
from app.store import Store  # noqa: E402
from bench.bare_loop import BareLoop  # noqa: E402
from engine.config import TrialConfig  # noqa: E402
from engine.meters import nvml  # noqa: E402

DATA = Path(__file__).resolve().parent / "data" / "gpu_check"
NO_GPU = "skipped: no NVIDIA GPU"
CPU_RUN = "skipped: CPU dry run (--cpu)"

# -- the names this kit reads from stored runs: the ONE place to edit when the engine renames a field --
METRICS = {  # kit name -> metric names to try, first found wins
    "energy_j": ("gpu_energy_j",),
    "j_per_token": ("gpu_j_per_output_token", "energy_j_per_output_token"),
    "mean_power_w": ("gpu_mean_power_w",),
    "output_tokens": ("output_tokens_total",),
    "decode_tps": ("decode_tokens_per_s",),
    "allocated": ("peak_cuda_allocated_bytes",),
    "reserved": ("peak_cuda_reserved_bytes",),
    "nvml_used": ("peak_gpu_memory_used_bytes", "peak_nvml_memory_used_bytes"),
    "weights": ("model_weights_bytes",),
}
SAMPLE_GPUS = ("gpus",)                                    # telemetry sample -> list of per-GPU dicts
GPU_FIELDS = {  # per-GPU telemetry entry: kit name -> keys to try (value scaled by the factor)
    "power_w": (("power_w", 1.0), ("power_mw", 1e-3)),
    "util": (("util_percent", 1.0), ("utilization_percent", 1.0), ("gpu_util_percent", 1.0)),
    "sm_clock": (("sm_clock_mhz", 1.0),),
    "index": (("index", 1.0), ("nvml_index", 1.0)),
}
UUID_KEY_PART = "uuid"   # any key containing this, anywhere in the environment record or a GPU sample


def first(mapping: Mapping[str, Any], names: Iterable[str]) -> Any:
    """The value of the first of `names` present (and not None) in `mapping`, else None."""
    return next((mapping[n] for n in names if mapping.get(n) is not None), None)


def gpu_field(entry: Mapping[str, Any], kit_name: str) -> float | None:
    for key, factor in GPU_FIELDS[kit_name]:
        if entry.get(key) is not None:
            return float(entry[key]) * factor
    return None


def uuids_in(obj: Any) -> set[str]:
    """Every string stored under a key containing 'uuid' (recursively)."""
    found: set[str] = set()
    if isinstance(obj, Mapping):
        for k, v in obj.items():
            if UUID_KEY_PART in str(k).lower():
                found |= {v} if isinstance(v, str) else {x for x in v if isinstance(x, str)} \
                    if isinstance(v, list) else set()
            found |= uuids_in(v)
    elif isinstance(obj, list):
        for v in obj:
            found |= uuids_in(v)
    return found


# -- results -------------------------------------------------------------------------------------------
@dataclasses.dataclass
class Check:
    name: str
    status: str            # "pass", "fail" or "skipped: <reason>"
    detail: str
    ratio: float | None = None


class Report:
    def __init__(self, gpu_skip: str) -> None:
        self.gpu_skip = gpu_skip  # how a GPU check reads on a CPU run: NO_GPU, or CPU_RUN where forced
        self.checks: list[Check] = []
        self.trials: list[dict[str, Any]] = []
        self.axis_trials: list[dict[str, Any]] = []  # the GPU-axis runs (num_gpus 1 and 2)

    def add(self, name: str, ok: bool | None, detail: str, ratio: float | None = None, skip: str = "") -> None:
        status = skip or ("pass" if ok else "fail")
        self.checks.append(Check(name, status, detail, ratio))
        shown = f" ratio {ratio:.3f}" if ratio is not None else ""
        print(f"[{status}] {name}:{shown} {detail}", flush=True)

    def within(self, name: str, value: float | None, ref: float | None, low: float, high: float, what: str) -> None:
        if value is None or not ref:
            self.add(name, False, f"{what}: a figure is missing (value {value}, reference {ref})")
            return
        ratio = value / ref
        self.add(name, low <= ratio <= high, f"{what}: {value:.4g} vs {ref:.4g} (target {low}–{high})", ratio)

    @property
    def failed(self) -> bool:
        return any(c.status == "fail" for c in self.checks)


# -- this process's own view of the GPUs ------------------------------------------------------------
class NvmlTrace:
    """Timestamped NVML reads of every GPU (energy counter, util, SM clock) on a thread, at `hz`."""

    def __init__(self, hz: float = 20.0) -> None:
        self.gpus, self.reason = nvml.gpus()
        self.period_s = 1.0 / hz
        self.rows: list[tuple[float, list[dict[str, Any]]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="gpu-check-trace", daemon=True)

    def read(self) -> list[dict[str, Any]]:
        out = []
        for gpu in self.gpus:
            sample = nvml.gpu_sample(gpu)  # None where a read failed, never 0
            out.append({"index": gpu.index, "energy_mj": nvml.energy_mj(gpu)[0], "util": sample["util_percent"],
                        "sm_clock": sample["sm_clock_mhz"]})
        return out

    def _loop(self) -> None:
        while not self._stop.wait(self.period_s):
            self.rows.append((time.time(), self.read()))

    def __enter__(self) -> NvmlTrace:
        if self.gpus:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def energy_j_at(self, index: int, t: float) -> float | None:
        """The GPU's energy counter at wall time `t`, linearly interpolated between reads."""
        pts = [(ts, r[index]["energy_mj"]) for ts, r in self.rows if r[index]["energy_mj"] is not None]
        for (t0, e0), (t1, e1) in zip(pts, pts[1:], strict=False):
            if t0 <= t <= t1:
                return (e0 + (e1 - e0) * (t - t0) / (t1 - t0 if t1 > t0 else 1)) / 1e3
        return None

    def median(self, index: int, key: str, t0: float, t1: float) -> float | None:
        vals = [v for ts, r in self.rows if t0 <= ts <= t1 and (v := r[index][key]) is not None]
        return statistics.median(vals) if vals else None

    def uuid(self, index: int) -> str:
        return self.gpus[index].uuid

    def power_limit_w(self, index: int) -> float:
        import pynvml

        return pynvml.nvmlDeviceGetEnforcedPowerLimit(self.gpus[index].handle) / 1e3


# -- models ------------------------------------------------------------------------------------------
TINY = {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
        "num_key_value_heads": 2, "head_dim": 16}


def build_model(name: str, root: Path, tiny: bool) -> Path:
    """A random-weight model folder from the carried config `name`: bf16 weights, or shrunk to TINY
    (fp32) for a CPU dry run. Built on the CPU, the plainest path through transformers."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    folder = root / (name + ("-tiny" if tiny else ""))
    if (folder / "model.safetensors").exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    config_dict = json.loads((DATA / f"{name}.json").read_text())
    config_dict.update(TINY if tiny else {})
    (folder / "config.json").write_text(json.dumps(config_dict))
    for f in (DATA / "tokenizer").iterdir():
        if f.suffix == ".gz":
            (folder / f.stem).write_bytes(gzip.decompress(f.read_bytes()))
        else:
            shutil.copy(f, folder / f.name)
    config = AutoConfig.from_pretrained(folder)
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config)
    if not tiny:
        model.to(torch.bfloat16)
    model.save_pretrained(folder)
    del model
    return folder


# -- the plan ---------------------------------------------------------------------------------------
@dataclasses.dataclass
class Trial:
    label: str
    model: str                    # carried config name
    config: dict[str, Any]
    telemetry: bool = True
    other_gpu: bool = False       # run on a GPU other than NVML index 0 (CUDA_VISIBLE_DEVICES)


def plan(gpu: bool) -> list[Trial]:
    """Batch 1 → 256, bf16/fp16, static/dynamic cache, telemetry on/off (scaled down on CPU)."""
    big = "llama-1b" if gpu else "smollm2-135m"
    scale = (lambda b: b) if gpu else (lambda b: min(b, 4))
    out_tokens = (lambda n: n) if gpu else (lambda n: 6)
    base = {"engine": "hf-generate", "device": "cuda" if gpu else "cpu", "input_tokens": 32, "ignore_eos": True,
            "repetitions": 1, "idle_baseline_s": 1.0 if gpu else 0.0, "seed": 0, "telemetry_hz": 10.0}

    def t(label: str, model: str, batch: int, tokens: int, dtype: str, cache: str, **kw: Any) -> Trial:
        b = scale(batch)
        label = f"{dtype} {cache} batch {b}{label}"
        cfg = {**base, "batch_size": b, "num_requests": b, "warmup_requests": b, "output_tokens": out_tokens(tokens),
               "dtype": dtype, "cache_implementation": cache}
        telemetry = kw.get("telemetry", True)
        cfg["telemetry_hz"] = 10.0 if telemetry else 0.0
        return Trial(f"{model} {label}", model, cfg, telemetry, kw.get("other_gpu", False))

    return [
        t("", big, 1, 256, "bfloat16", "dynamic"),
        t("", big, 256, 256, "bfloat16", "dynamic"),
        t("", big, 16, 256, "bfloat16", "static"),
        t("", big, 1, 256, "float16", "static"),
        t("", big, 256, 256, "float16", "dynamic"),
        t("", "smollm2-135m", 64, 256, "bfloat16", "dynamic"),
        t(", telemetry off", big, 64, 256, "bfloat16", "dynamic", telemetry=False),
        t(", on a non-0 GPU", big, 64, 256, "bfloat16", "dynamic", other_gpu=True),
    ]


RATIO_CASES = (("llama-1b", 1, 128, "bfloat16"), ("smollm2-135m", 64, 128, "bfloat16"))


# -- checks --------------------------------------------------------------------------------------
def sampled_gpu(detail: Any, index: int, uuid: str | None) -> list[tuple[float, dict[str, Any]]]:
    """(t, GPU entry) of the used GPU in each stored telemetry sample (by UUID where recorded)."""
    out = []
    for s in detail.telemetry:
        gpus = first(s, SAMPLE_GPUS) or []
        match = [g for g in gpus if uuid and uuid in uuids_in(g)] or \
            [g for g in gpus if gpu_field(g, "index") == index]
        if match:
            out.append((float(s["t"]), match[0]))
    return out


def check_trial(report: Report, trial: Trial, detail: Any, trace: NvmlTrace, gpu_index: int | None,
                span: tuple[float, float]) -> None:
    """Every per-run check of one stored GPU run."""
    m = {k: first_metric(detail.summary, names) for k, names in METRICS.items()}
    name = trial.label
    report.within(f"{name}: J/token = energy / tokens", m["j_per_token"],
                  (m["energy_j"] or 0) / max(1.0, m["output_tokens"] or 0) or None, 0.999, 1.001,
                  "stored J/token vs stored energy / counted output tokens")
    limit = trace.power_limit_w(gpu_index or 0)
    p = m["mean_power_w"]
    report.add(f"{name}: mean power within the board's limit", p is not None and 0 < p <= limit * 1.05,
               f"{p} W vs enforced limit {limit:.0f} W")
    alloc, reserved, used, weights = m["allocated"], m["reserved"], m["nvml_used"], m["weights"]
    ok = None not in (alloc, reserved, used, weights) and weights < alloc <= reserved <= used
    report.add(f"{name}: weights < CUDA allocated <= reserved <= NVML used", ok,
               f"{weights} < {alloc} <= {reserved} <= {used} bytes",
               skip="" if trial.telemetry else "skipped: the NVML peak comes from telemetry samples (off here)")
    uuid = trace.uuid(gpu_index or 0)
    recorded = uuids_in(detail.environment)
    report.add(f"{name}: recorded GPU UUID is the used GPU's", uuid in recorded,
               f"used {uuid}; recorded {sorted(recorded) or 'none (no key containing uuid)'}")
    if not trial.telemetry:
        report.add(f"{name}: telemetry off stores no samples, energy still measured",
                   not detail.telemetry and m["energy_j"] is not None,
                   f"{len(detail.telemetry)} samples; energy {m['energy_j']} J")
        return
    samples = sampled_gpu(detail, gpu_index or 0, uuid)
    check_energy_integral(report, name, samples, trace, gpu_index or 0)
    check_activity(report, name, samples, trace, gpu_index or 0, span)


def first_metric(summary: Any, names: Sequence[str]) -> float | None:
    return next((summary.value(n) for n in names if summary.value(n) is not None), None)


def check_energy_integral(report: Report, name: str, samples: list[tuple[float, dict[str, Any]]],
                          trace: NvmlTrace, index: int) -> None:
    pts = [(t, gpu_field(g, "power_w")) for t, g in samples]
    pts = [(t, w) for t, w in pts if w is not None]
    if len(pts) < 10:
        report.add(f"{name}: NVML energy vs integral of sampled power", False, f"only {len(pts)} power samples")
        return
    integral = sum((t1 - t0) * (w0 + w1) / 2 for (t0, w0), (t1, w1) in zip(pts, pts[1:], strict=False))
    e0, e1 = trace.energy_j_at(index, pts[0][0]), trace.energy_j_at(index, pts[-1][0])
    energy = e1 - e0 if e0 is not None and e1 is not None else None
    report.within(f"{name}: NVML energy vs integral of sampled power", energy, integral, 0.90, 1.10,
                  f"counter delta J vs ∫power dt J over {pts[-1][0] - pts[0][0]:.1f} s, {len(pts)} samples")


def check_activity(report: Report, name: str, samples: list[tuple[float, dict[str, Any]]], trace: NvmlTrace,
                   index: int, span: tuple[float, float]) -> None:
    """Utilisation and SM clock during the trial (stored samples) vs idle before and after (own reads)."""
    mid = samples[len(samples) // 4: max(len(samples) // 4 + 1, 3 * len(samples) // 4)]
    for key, label in (("util", "utilisation"), ("sm_clock", "SM clock")):
        during = [v for _, g in mid if (v := gpu_field(g, key)) is not None]
        before = trace.median(index, key, span[0] - 3.0, span[0])
        after = trace.median(index, key, span[1] + 2.0, span[1] + 5.0)
        d = statistics.median(during) if during else None
        ok = None not in (d, before, after) and d > before and d > after  # type: ignore[operator]
        report.add(f"{name}: {label} rises during the trial and falls after", ok,
                   f"before {before}, during {d} (stored samples), after {after}")


def run_trials(report: Report, trials: Sequence[Trial], models: Mapping[str, Path], store: Store,
               trace: NvmlTrace | None, gpu: bool) -> None:
    """Each trial through a real worker (one shared; a pinned trial gets its own), stored, read back, checked."""
    with WorkerClient(python=sys.executable) as shared:
        for trial in trials:
            index = other_gpu(report, trial, trace, gpu) if trial.other_gpu else (0 if gpu else None)
            if index == -1:
                continue
            config = {**trial.config, "model": str(models[trial.model])}
            t0 = time.time()
            if trial.other_gpu:
                assert trace is not None and index is not None
                with WorkerClient(python=sys.executable, env={"CUDA_VISIBLE_DEVICES": trace.uuid(index)}) as own:
                    result = own.run_trial(config)
            else:
                result = shared.run_trial(config)
            span = (t0, time.time())
            if trace is not None:
                time.sleep(5.5)  # the "after" window of the activity check
            check_stored(report, trial, store.get_run(store.add_run(result, tags=["gpu-check"])), trace, index, span)


def other_gpu(report: Report, trial: Trial, trace: NvmlTrace | None, gpu: bool) -> int:
    """The NVML index of a non-0 GPU to pin `trial` to, or -1 (reported as skipped) where there is none."""
    name = f"{trial.label}: GPUs read are the GPUs used"
    if not gpu or trace is None:
        report.add(name, None, "", skip=report.gpu_skip)
        return -1
    if len(trace.gpus) < 2:
        report.add(name, None, "", skip="skipped: one GPU (needs two to pin a trial to a non-0 GPU)")
        return -1
    return len(trace.gpus) - 1


def check_stored(report: Report, trial: Trial, detail: Any, trace: NvmlTrace | None, index: int | None,
                 span: tuple[float, float]) -> None:
    """Record the stored run and run every check that applies to it."""
    s = detail.summary
    report.trials.append({"label": trial.label, "run_id": s.id, "status": s.status, "config": s.config,
                          **{k: first_metric(s, n) for k, n in METRICS.items()}})
    report.add(f"{trial.label}: trial ok", s.status == "ok",
               f"run {s.id}: {s.status} {s.failure_cause or ''} {s.failure_message or ''}".strip())
    if s.status != "ok":
        return
    if trace is None or index is None:
        report.add(f"{trial.label}: GPU checks", None, "energy, power, memory, activity, GPU identity",
                   skip=report.gpu_skip)
        return
    check_trial(report, trial, detail, trace, index, span)
    if trial.other_gpu:
        check_power_source(report, trial.label, detail, trace, index, span)


def check_power_source(report: Report, name: str, detail: Any, trace: NvmlTrace, used: int,
                       span: tuple[float, float]) -> None:
    """The stored mean power is the used GPU's (busy), not GPU 0's (idle)."""
    stored = first_metric(detail.summary, METRICS["mean_power_w"])

    def mean_w(i: int) -> float | None:
        e0, e1 = trace.energy_j_at(i, span[0]), trace.energy_j_at(i, span[1])
        return (e1 - e0) / (span[1] - span[0]) if e0 is not None and e1 is not None else None

    busy, idle = mean_w(used), mean_w(0)
    ok = None not in (stored, busy, idle) and abs(stored - busy) < abs(stored - idle)  # type: ignore[operator]
    report.add(f"{name}: stored power is the used GPU's", ok,
               f"stored {stored} W; used GPU {used} {busy} W, GPU 0 {idle} W over the trial (own NVML reads)")


def check_overhead(report: Report, models: Mapping[str, Path], gpu: bool, reps: int) -> None:
    """InferLab decode tok/s vs the bare inference_mode loop, interleaved, same model and config."""
    for model, batch, tokens, dtype in RATIO_CASES:
        cfg = {"engine": "hf-generate", "model": str(models[model]), "device": "cuda" if gpu else "cpu",
               "dtype": dtype if gpu else "float32", "batch_size": batch if gpu else 2,
               "num_requests": batch if gpu else 2, "input_tokens": 32, "output_tokens": tokens if gpu else 6,
               "ignore_eos": True, "repetitions": 1, "idle_baseline_s": 0.0, "telemetry_hz": 10.0, "seed": 0}
        bare = BareLoop(cfg)
        bare.repetition()
        lab: list[tuple[float | None, float | None]] = []
        ref: list[tuple[float, float]] = []
        with WorkerClient(python=sys.executable) as client:
            for rep in range(reps):
                result = client.run_trial({**cfg, "warmup_requests": cfg["batch_size"] if rep == 0 else 0})
                lab.append((result.value("decode_tokens_per_s"), result.value("output_tokens_per_s")))
                ref.append(bare.repetition())
        bare.close()
        name = f"decode tok/s InferLab vs bare inference_mode loop ({model}, batch {cfg['batch_size']})"
        if any(None in pair for pair in lab):
            report.add(name, False, "an InferLab trial reported no decode or output tok/s")
            continue
        (lab_d, lab_o), (ref_d, ref_o) = ([statistics.median(col) for col in zip(*xs, strict=True)]
                                          for xs in (lab, ref))
        detail = (f"decode {lab_d:.1f} vs {ref_d:.1f} tok/s over {reps} interleaved pairs (target >= 0.97); "
                  f"whole-call output {lab_o:.1f} vs {ref_o:.1f} tok/s, ratio {lab_o / ref_o:.3f} (informational)")
        if gpu:
            report.within(name, lab_d, ref_d, 0.97, float("inf"), detail)
        else:
            report.add(name, None, detail + f"; decode ratio {lab_d / ref_d:.3f} on CPU, informational",
                       skip=report.gpu_skip)


def check_gpu_axis(report: Report, models: Mapping[str, Path], store: Store, trace: NvmlTrace | None,
                   gpu: bool) -> None:
    """hf-generate on 1 and 2 GPUs (the last ones, by gpu_devices), each in a worker started with the
    trial's environment; the run must read exactly those GPUs."""
    found = len(trace.gpus) if gpu and trace is not None else 0
    for count in (1, 2):
        name = f"GPU axis: hf-generate with num_gpus={count}"
        if not gpu or trace is None:
            if count > 1:
                report.add(name, None, "", skip=report.gpu_skip)
                continue
        elif count > found:
            report.add(name, None, "", skip=f"skipped: {found} GPU here, so num_gpus={count} could not be tried")
            continue
        listed = list(range(found - count, found))
        cfg = {"engine": "hf-generate", "model": str(models["llama-1b" if gpu else "smollm2-135m"]),
               "device": "cuda" if gpu else "cpu", "dtype": "bfloat16" if gpu else "float32",
               "batch_size": 16 if gpu else 2, "num_requests": 16 if gpu else 2, "warmup_requests": 0,
               "input_tokens": 32, "output_tokens": 128 if gpu else 4, "ignore_eos": True, "repetitions": 1,
               "idle_baseline_s": 0.0, "telemetry_hz": 10.0, "seed": 0, "num_gpus": count,
               **({"gpu_devices": ",".join(map(str, listed))} if gpu else {})}
        with WorkerClient(python=sys.executable, env=TrialConfig.from_flat(cfg).worker_env()) as client:
            result = client.run_trial(cfg)
        detail = store.get_run(store.add_run(result, tags=["gpu-check", "gpu-axis"]))
        s = detail.summary
        report.axis_trials.append({"label": name, "run_id": s.id, "status": s.status, "config": s.config,
                                   "devices": detail.environment.get("devices")})
        report.add(f"{name}: trial ok", s.status == "ok",
                   f"run {s.id}: {s.status} {s.failure_cause or ''} {s.failure_message or ''}".strip())
        if s.status != "ok" or trace is None or not gpu:
            continue
        check_axis_devices(report, name, detail, [trace.uuid(i) for i in listed], count)


def check_axis_devices(report: Report, name: str, detail: Any, uuids: list[str], count: int) -> None:
    """The run's recorded devices, telemetry and energy method name exactly `uuids`; a sharded model
    holds modules on each of its CUDA devices."""
    recorded = [g["uuid"] for g in detail.environment.get("devices", {}).get("gpus", [])]
    report.add(f"{name}: recorded devices are the listed GPUs", recorded == uuids,
               f"listed {uuids}; recorded {recorded}")
    sampled = {u for sample in detail.telemetry for g in first(sample, SAMPLE_GPUS) or [] for u in uuids_in(g)}
    report.add(f"{name}: telemetry samples exactly the listed GPUs", sampled == set(uuids),
               f"{len(detail.telemetry)} samples over {sorted(sampled)}")
    energy = detail.summary.metrics.get("gpu_energy_j")
    method = energy.method if energy is not None else ""
    report.add(f"{name}: GPU energy summed over the listed GPUs", all(u in method for u in uuids),
               f"{energy.value if energy is not None else None} J; method: {method[:300]}")
    if count > 1:
        note = next((n for n in detail.notes_list if "sharded" in n), "no sharding note recorded")
        holding = [i for i in range(count) if f"cuda:{i} " in note]
        report.add(f"{name}: the model is sharded over every listed GPU", holding == list(range(count)), note[:300])


# -- output -------------------------------------------------------------------------------------------
def write(report: Report, out: Path, machine: Mapping[str, Any]) -> None:
    data = {"machine": dict(machine), "checks": [dataclasses.asdict(c) for c in report.checks],
            "trials": report.trials, "gpu_axis_trials": report.axis_trials, "failed": report.failed}
    (out / "gpu_check.json").write_text(json.dumps(data, indent=2, default=str))
    rows = "".join(f"<tr class='{html.escape(c.status.split(':')[0])}'><td>{html.escape(c.status)}</td>"
                   f"<td>{html.escape(c.name)}</td><td>{'' if c.ratio is None else f'{c.ratio:.3f}'}</td>"
                   f"<td>{html.escape(c.detail)}</td></tr>" for c in report.checks)
    page = ("<!doctype html><meta charset='utf-8'><title>InferLab GPU check</title><style>"
            "body{font-family:sans-serif}td{padding:2px 8px;border-bottom:1px solid #ddd}"
            ".pass td:first-child{color:green}.fail td:first-child{color:#c00;font-weight:bold}"
            ".skipped td:first-child{color:#888}</style><h1>InferLab GPU check</h1>"
            f"<pre>{html.escape(json.dumps(dict(machine), indent=2, default=str))}</pre>"
            f"<table><tr><th>status</th><th>check</th><th>ratio</th><th>detail</th></tr>{rows}</table>")
    (out / "gpu_check.html").write_text(page)


def machine_info(trace: NvmlTrace | None, gpu: bool, reason: str) -> dict[str, Any]:
    import torch
    import transformers

    info: dict[str, Any] = {"gpu": gpu, "reason": reason, "torch": torch.__version__,
                            "transformers": transformers.__version__, "python": sys.version.split()[0]}
    if gpu and trace is not None:
        info["gpus"] = [{"index": g.index, "name": g.name, "uuid": g.uuid} for g in trace.gpus]
    return info


def gpu_status() -> tuple[bool, str]:
    """(True, "") where NVML sees a GPU and torch can use CUDA, else (False, why not)."""
    import torch

    found, reason = nvml.gpus()
    if not found:
        return False, reason
    if not torch.cuda.is_available():
        return False, "NVML sees a GPU but this torch has no CUDA"
    return True, ""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path, help="folder for gpu_check.json, gpu_check.html, the store and models")
    parser.add_argument("--reps", type=int, default=3, help="interleaved pairs per throughput ratio")
    parser.add_argument("--cpu", action="store_true", help="the CPU dry run even where there is a GPU")
    args = parser.parse_args(argv)
    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("INFERLAB_DATA_DIR", str(out / "data"))  # never the user's data dir
    os.environ.setdefault("CUDA_DEVICE_ORDER", "PCI_BUS_ID")        # CUDA numbering = NVML numbering
    gpu, reason = gpu_status()
    report = Report(CPU_RUN if gpu and args.cpu else NO_GPU)
    if gpu and args.cpu:
        gpu, reason = False, "CPU dry run (--cpu)"
    print(f"GPU: {'yes' if gpu else 'no: ' + reason}; writing to {out}", flush=True)
    models = {name: build_model(name, out / "models", tiny=not gpu) for name in ("smollm2-135m", "llama-1b")}
    store = Store(f"sqlite:///{out / 'store.db'}")
    trace = NvmlTrace() if gpu else None
    started = time.monotonic()
    try:
        with trace if trace is not None else contextlib.nullcontext():
            if trace is not None:
                time.sleep(3.5)  # the "before" window of the activity checks
            run_trials(report, plan(gpu), models, store, trace, gpu)
            check_gpu_axis(report, models, store, trace, gpu)
        check_overhead(report, models, gpu, args.reps if gpu else 1)  # no trace thread beside the bare loop
    finally:
        store.close()
    print(f"done in {time.monotonic() - started:.0f} s", flush=True)
    write(report, out, machine_info(trace, gpu, reason))
    print(f"{sum(c.status == 'pass' for c in report.checks)} passed, "
          f"{sum(c.status == 'fail' for c in report.checks)} failed, "
          f"{sum(c.status.startswith('skipped') for c in report.checks)} skipped; see {out / 'gpu_check.html'}")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
