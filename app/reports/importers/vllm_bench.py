"""Import vLLM benchmark results as runs: `vllm bench serve --save-result` (benchmark_serving.py)
and `vllm bench throughput --output-json`.

Format (vllm/benchmarks/serve.py and throughput.py, vLLM 0.32): serve writes `duration`, `completed`,
`failed`, `total_input_tokens`, `total_output_tokens`, `request_throughput`, `output_throughput`,
`total_token_throughput`, `{mean,median,std,pNN}_{ttft,tpot,itl,e2el}_ms`, per-request lists
(`input_lens`, `output_lens`, `ttfts`, `latencies`, `start_times` in s, `errors`) and `date`
(`%Y%m%d-%H%M%S`), `backend`, `model_id`, `num_prompts`, `request_rate`, `max_concurrency`, ...
throughput writes `elapsed_time`, `num_requests`, `total_num_tokens`, `requests_per_second`,
`tokens_per_second` (and `model_id`).
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

from app.reports.importers.common import ImportFormatError, imported, item, number, read_json, require
from engine.results import Measurement, RequestRecord, TrialResult
from engine.schema import brief

SOURCE = "vllm-bench"
_FAMILIES = {"ttft": "ttft_ms", "tpot": "tpot_ms", "itl": "itl_ms", "e2el": "e2e_ms"}
_STAT = re.compile(r"^(mean|median|std|p\d+(?:\.\d+)?)_(ttft|tpot|itl|e2el)_ms$")
_SERVE_TOTALS = {  # vLLM key -> (our metric, unit)
    "request_throughput": ("requests_per_s", "req/s"),
    "output_throughput": ("output_tokens_per_s", "tok/s"),
    "total_token_throughput": ("total_tokens_per_s", "tok/s"),
    "total_input_tokens": ("input_tokens_total", "tokens"),
    "total_output_tokens": ("output_tokens_total", "tokens"),
    "failed": ("failed_requests", "requests"),
    "duration": ("wall_s", "s"),
    "spec_decode_acceptance_rate": ("spec_acceptance_rate", "ratio"),
    "spec_decode_acceptance_length": ("spec_mean_accepted_tokens", "tokens"),
}
_SERVE_CONFIG = ("backend", "endpoint_type", "label", "tokenizer_id", "num_prompts", "request_rate",
                 "burstiness", "max_concurrency")


def load(path: Path) -> TrialResult:
    """The run a vLLM benchmark result file describes (serve or throughput, told apart by keys)."""
    data = read_json(path)
    if isinstance(data, dict) and "elapsed_time" in data and "tokens_per_second" in data:
        return _throughput(data, path)
    require(data, ("duration", "completed", "request_throughput", "output_throughput"), path)
    return _serve(data, path)


def _serve(data: dict[str, Any], path: Path) -> TrialResult:
    method = f"imported from vllm bench serve ({path.name})"
    metrics: dict[str, Measurement] = {}
    for key, (name, unit) in _SERVE_TOTALS.items():
        v = number(data, key, path)
        if v is not None:
            metrics[name] = imported(v, unit, f"{method}: {key}")
    for key in data:
        m = _STAT.match(key)
        v = number(data, key, path) if m else None
        if m and v is not None:
            stat = {"mean": "mean", "median": "p50"}.get(m.group(1), m.group(1)).replace(".", "_")
            metrics[f"{_FAMILIES[m.group(2)]}_{stat}"] = imported(v, "ms", f"{method}: {key}")
    metrics.setdefault("energy_j_per_output_token", Measurement.unavailable(
        "J/tok", "vllm bench serve records no energy"))
    model = str(data.get("model_id") or "unknown")
    config = {"engine": "vllm", "model": model, **{k: data[k] for k in _SERVE_CONFIG if k in data}}
    started = _parse_date(data.get("date"))
    duration = number(data, "duration", path) or 0.0
    return TrialResult(
        trial_id=f"{SOURCE}:{path.name}:{data.get('date', '')}", config=config, status="ok", metrics=metrics,
        requests=_requests(data, path), environment=_environment("vllm bench serve", data, path),
        started_at=started, finished_at=None if started is None else started + duration,
        notes=[f"Imported from {path.name} (vllm bench serve). The client measured TTFT/ITL over HTTP; "
               "no hardware record or telemetry is in the file."])


def _throughput(data: dict[str, Any], path: Path) -> TrialResult:
    method = f"imported from vllm bench throughput ({path.name})"
    metrics: dict[str, Measurement] = {}
    for key, name, unit in (("elapsed_time", "wall_s", "s"), ("requests_per_second", "requests_per_s", "req/s"),
                            ("tokens_per_second", "total_tokens_per_s", "tok/s")):
        v = number(data, key, path)  # absent or null: left out, never a measured 0
        if v is not None:
            metrics[name] = imported(v, unit, f"{method}: {key}")
    metrics["output_tokens_per_s"] = Measurement.unavailable(
        "tok/s", "vllm bench throughput --output-json records prompt+output tokens only (total_num_tokens)")
    config = {"engine": "vllm", "model": str(data.get("model_id") or "unknown"),
              "num_requests": data.get("num_requests"), "total_num_tokens": data.get("total_num_tokens")}
    return TrialResult(trial_id=f"{SOURCE}:{path.name}", config=config, status="ok", metrics=metrics,
                       environment=_environment("vllm bench throughput", data, path),
                       notes=[f"Imported from {path.name} (vllm bench throughput, offline engine)."])


def _requests(data: dict[str, Any], path: Path) -> list[RequestRecord]:
    """Per-request records from the serve file's lists (seconds), when it kept them."""
    lists = {k: data.get(k) for k in ("input_lens", "output_lens", "ttfts", "latencies")}
    if not all(isinstance(v, list) for v in lists.values()):
        return []
    n = len(lists["latencies"])
    lists["start_times"] = data["start_times"] if isinstance(data.get("start_times"), list) else [0.0] * n
    errors = data["errors"] if isinstance(data.get("errors"), list) else [""] * n
    if any(len(v) != n for v in [*lists.values(), errors]):
        raise ImportFormatError(f"{path}: per-request lists input_lens/output_lens/ttfts/latencies/start_times/"
                                "errors differ in length")
    values = {k: [item(v, i, k, path) or 0.0 for i in range(n)] for k, v in lists.items()}
    bad = next((i for i, e in enumerate(errors) if e is not None and not isinstance(e, str)), None)
    if bad is not None:
        raise ImportFormatError(f"{path}: errors[{bad}] should be a string, got {brief(errors[bad])}")
    t0 = min(values["start_times"], default=0.0)
    out = []
    for i in range(n):
        start, ttft, ok = values["start_times"][i] - t0, values["ttfts"][i], not errors[i]
        out.append(RequestRecord(0, i, int(values["input_lens"][i]), int(values["output_lens"][i]), start,
                                 start + ttft if ok and ttft else None, start + values["latencies"][i],
                                 ok, errors[i] or None))
    return out


def _environment(tool: str, data: dict[str, Any], path: Path) -> dict[str, Any]:
    return {"imported_from": tool, "file": path.name, "date": data.get("date"),
            "hardware": "not recorded in the vLLM benchmark file"}


def _parse_date(text: Any) -> float | None:
    try:
        return dt.datetime.strptime(str(text), "%Y%m%d-%H%M%S").timestamp()
    except ValueError:
        return None
