"""Import optimum-benchmark results: `benchmark_report.json` or the full `benchmark.json`
(`{"config": ..., "report": ...}`).

Format (optimum_benchmark/benchmark/report.py and trackers/, huggingface/optimum-benchmark): a report
maps targets (`load`, `prefill`, `decode`, `per_token`) to measurements `latency` (unit "s": `mean`,
`p50`, `p90`, `p95`, `p99`, `values`, ...), `throughput` (`value`, unit "tokens/s"), `memory` (unit
"MB" = 1e6 B: `max_ram`, `max_global_vram`, `max_process_vram`, `max_reserved`, `max_allocated`),
`energy` (unit "kWh": `cpu`, `ram`, `gpu`, `total`, from codecarbon) and `efficiency` (`value`,
unit "tokens/kWh"). The config carries `backend` (`name`, `model`, `device`, `torch_dtype`),
`scenario` (`input_shapes`, `generate_kwargs`) and `environment`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from app.reports.importers.common import ImportFormatError, imported, number, read_json, require, table
from engine.results import Measurement, TrialResult
from engine.schema import brief

SOURCE = "optimum-benchmark"
J_PER_KWH = 3.6e6
BYTES_PER_MB = 1e6  # optimum-benchmark's MB are 10^6 bytes (nbytes / 1e6)
_LATENCY = {"prefill": "ttft_ms", "per_token": "itl_ms"}
_LATENCY_STATS = ("mean", "p50", "p90", "p99")
_THROUGHPUT = {"prefill": "prefill_tokens_per_s", "decode": "decode_tokens_per_s"}
_MEMORY = {"max_ram": "peak_rss_bytes", "max_global_vram": "peak_gpu_memory_used_bytes",
           "max_allocated": "peak_cuda_allocated_bytes", "max_reserved": "peak_cuda_reserved_bytes"}
_UNITS = {"latency": "s", "memory": "MB", "energy": "kWh"}


def load(path: Path) -> TrialResult:
    """The run an optimum-benchmark report (or full benchmark) file describes."""
    data = read_json(path)
    require(data, (), path)
    config: dict[str, Any] = {}
    if "report" in data:
        report, config = data["report"], table(data, "config", path)
        where = "report."
    else:
        report, where = data, ""
    require(report, (), path, where or "report")
    targets = [t for t in ("load", "prefill", "decode", "per_token") if isinstance(report.get(t), dict)]
    if not targets:
        raise ImportFormatError(f"{path}: missing key {where}'prefill'/'decode'/'per_token' (no benchmark targets)")
    method = f"imported from optimum-benchmark ({path.name})"
    metrics = _metrics(report, targets, path, where, method)
    _estimate_output_throughput(metrics, report, config, path, method)
    return TrialResult(
        trial_id=f"{SOURCE}:{path.name}", config=_config(config, path), status="ok", metrics=metrics,
        environment={"imported_from": "optimum-benchmark", "file": path.name,
                     **(table(config, "environment", path, "config.")
                        or {"hardware": "not recorded in benchmark_report.json"})},
        notes=[f"Imported from {path.name} (optimum-benchmark). TTFT is its prefill latency per batch; "
               "energy comes from codecarbon (estimated where codecarbon estimates CPU/RAM power)."])


def _metrics(report: dict[str, Any], targets: list[str], path: Path, where: str,
             method: str) -> dict[str, Measurement]:
    metrics: dict[str, Measurement] = {}
    for target in targets:
        block = report[target]
        for kind, unit in _UNITS.items():
            got = table(block, kind, path, f"{where}{target}.").get("unit", unit)
            if got != unit:
                raise ImportFormatError(f"{path}: key {where}{target}.{kind}.unit is {brief(got)}, expected {unit!r}")
        lat = table(block, "latency", path, f"{where}{target}.")
        if target in _LATENCY:
            for stat in _LATENCY_STATS:
                v = number(lat, stat, path, f"{where}{target}.latency.")
                if v is not None:
                    metrics[f"{_LATENCY[target]}_{stat}"] = imported(v * 1e3, "ms",
                                                                     f"{method}: {target}.latency.{stat}")
        if target == "load" and number(lat, "mean", path, f"{where}load.latency.") is not None:
            metrics["load_time_s"] = imported(lat["mean"], "s", f"{method}: load.latency.mean")
        thr = number(table(block, "throughput", path, f"{where}{target}."), "value", path,
                     f"{where}{target}.throughput.")
        if thr is not None and target in _THROUGHPUT:
            metrics[_THROUGHPUT[target]] = imported(thr, "tok/s", f"{method}: {target}.throughput.value")
    _memory(metrics, report, targets, path, where, method)
    _energy(metrics, report, path, where, method)
    return metrics


def _memory(metrics: dict[str, Measurement], report: dict[str, Any], targets: list[str], path: Path,
            where: str, method: str) -> None:
    """Peaks from the decode target (it spans the whole generate call), else the last target with memory."""
    with_memory = [t for t in targets if report[t].get("memory")]
    if not with_memory:
        return
    target = "decode" if "decode" in with_memory else with_memory[-1]
    mem = table(report[target], "memory", path, f"{where}{target}.")
    for key, name in _MEMORY.items():
        v = number(mem, key, path, f"{where}{target}.memory.")
        if v is not None:
            metrics[name] = imported(v * BYTES_PER_MB, "B", f"{method}: {target}.memory.{key} (MB × 1e6)")


def _energy(metrics: dict[str, Measurement], report: dict[str, Any], path: Path, where: str, method: str) -> None:
    decode = table(report, "decode", path, where)
    energy = table(decode, "energy", path, f"{where}decode.")
    gpu = number(energy, "gpu", path, f"{where}decode.energy.")
    if gpu is not None and gpu > 0:
        metrics["gpu_energy_j"] = imported(gpu * J_PER_KWH, "J", f"{method}: decode.energy.gpu (kWh × 3.6e6)")
    eff = number(table(decode, "efficiency", path, f"{where}decode."), "value", path, f"{where}decode.efficiency.")
    if eff:
        metrics["energy_j_per_output_token"] = imported(
            J_PER_KWH / eff, "J/tok", f"{method}: 3.6e6 / decode.efficiency.value (tokens/kWh; codecarbon "
            "total of CPU, RAM and GPU)", estimated=True)
    else:
        metrics["energy_j_per_output_token"] = Measurement.unavailable(
            "J/tok", "the optimum-benchmark report has no decode energy efficiency")


def _estimate_output_throughput(metrics: dict[str, Measurement], report: dict[str, Any],
                                config: Mapping[str, Any], path: Path, method: str) -> None:
    """Generated tokens / (prefill + decode mean latency), when the config fixes the token count."""
    scenario = table(config, "scenario", path, "config.")
    batch = number(table(scenario, "input_shapes", path, "config.scenario."), "batch_size", path)
    gen = table(scenario, "generate_kwargs", path, "config.scenario.")
    new = number(gen, "max_new_tokens", path)
    fixed = new is not None and number(gen, "min_new_tokens", path) in (None, new)
    pre, dec = (number(table(table(report, t, path), "latency", path), "mean", path) for t in ("prefill", "decode"))
    if fixed and batch and pre and dec and pre + dec > 0:
        metrics["output_tokens_per_s"] = imported(
            batch * new / (pre + dec), "tok/s", f"{method}: batch_size × max_new_tokens / (prefill + decode "
            "mean latency)", estimated=True)
    else:
        metrics["output_tokens_per_s"] = Measurement.unavailable(
            "tok/s", "optimum-benchmark reports prefill and decode throughput separately; the file does not "
            "fix the generated token count")


def _config(config: Mapping[str, Any], path: Path) -> dict[str, Any]:
    backend = table(config, "backend", path, "config.")
    scenario = table(config, "scenario", path, "config.")
    shapes = table(scenario, "input_shapes", path, "config.scenario.")
    gen = table(scenario, "generate_kwargs", path, "config.scenario.")
    flat = {"engine": f"optimum-{backend.get('name', 'unknown')}", "model": str(backend.get("model") or "unknown"),
            "device": backend.get("device"), "dtype": backend.get("torch_dtype"),
            "batch_size": shapes.get("batch_size"), "input_tokens": shapes.get("sequence_length"),
            "output_tokens": gen.get("max_new_tokens"), "scenario": scenario.get("name"),
            "launcher": table(config, "launcher", path, "config.").get("name")}
    return {k: v for k, v in flat.items() if v is not None or k in ("engine", "model")}
