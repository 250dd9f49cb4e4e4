"""Import vLLM benchmark results as runs: `vllm bench serve --save-result` (benchmark_serving.py)
and `vllm bench throughput --output-json`.

Format (vllm/benchmarks/serve.py and throughput.py, vLLM 0.32): serve writes `duration`, `completed`,
`failed`, `total_input_tokens`, `total_output_tokens`, `request_throughput`, `output_throughput`,
`total_token_throughput`, `{mean,median,std,pNN}_{ttft,tpot,itl,e2el}_ms`, per-request lists
(`input_lens`, `output_lens`, `ttfts`, `latencies`, `start_times` in s, `errors`) and `date`
(`%Y%m%d-%H%M%S`), `backend`, `model_id`, `num_prompts`, `request_rate`, `max_concurrency`, ...
(per-request lists other than `latencies` only with `--save-detailed`). Against a server with
speculative decoding it adds `spec_decode_acceptance_rate` (a percentage: accepted / draft tokens ×
100), `spec_decode_acceptance_length` (1 + accepted / drafts: it counts the bonus token),
`spec_decode_num_drafts`, `spec_decode_draft_tokens` and `spec_decode_accepted_tokens`; they become
our 0–1 `spec_acceptance_rate` and `spec_mean_accepted_tokens` (accepted per drafting step, bonus
excluded), from the counts when the file has them. Throughput writes `elapsed_time`,
`num_requests`, `total_num_tokens`, `requests_per_second`, `tokens_per_second` (and `model_id`).

Percentiles get n (successful requests, or the per-request values when kept) and, with the
per-request values, their distinct count, so a p99 over 16 requests is flagged like one of ours.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

from app.reports.importers.common import ImportFormatError, imported, item, number, read_json, require
from engine.results import Measurement, RequestRecord, TrialResult, percentile_caveat
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
    metrics.update(_speculative(data, path, method))
    samples = _family_samples(data)
    completed = number(data, "completed", path)
    for key in data:
        m = _STAT.match(key)
        v = number(data, key, path) if m else None
        if m and v is not None:
            stat = {"mean": "mean", "median": "p50"}.get(m.group(1), m.group(1)).replace(".", "_")
            metrics[f"{_FAMILIES[m.group(2)]}_{stat}"] = imported(
                v, "ms", f"{method}: {key}", **_support(m.group(2), m.group(1), samples, completed))
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


def _speculative(data: dict[str, Any], path: Path, method: str) -> dict[str, Measurement]:
    """vLLM's acceptance percentage and length (bonus token included) as our ratio and accepted tokens
    per drafting step: from the accepted/draft counts when present, else converted."""
    drafts, proposed, accepted = (number(data, f"spec_decode_{k}", path)
                                  for k in ("num_drafts", "draft_tokens", "accepted_tokens"))
    rate, length = (number(data, f"spec_decode_acceptance_{k}", path) for k in ("rate", "length"))
    out: dict[str, Measurement] = {}
    if proposed and accepted is not None:
        out["spec_acceptance_rate"] = imported(
            accepted / proposed, "ratio", f"{method}: spec_decode_accepted_tokens / spec_decode_draft_tokens")
    elif rate is not None:
        out["spec_acceptance_rate"] = imported(
            rate / 100, "ratio", f"{method}: spec_decode_acceptance_rate / 100 (vLLM gives a percentage)")
    if drafts and accepted is not None:
        out["spec_mean_accepted_tokens"] = imported(
            accepted / drafts, "tokens", f"{method}: spec_decode_accepted_tokens / spec_decode_num_drafts")
    elif length is not None:
        out["spec_mean_accepted_tokens"] = imported(
            length - 1, "tokens", f"{method}: spec_decode_acceptance_length − 1 (vLLM counts the bonus token)")
    return out


def _family_samples(data: dict[str, Any]) -> dict[str, list[float]]:
    """The per-request values behind vLLM's statistics where the file kept them (vLLM's definitions,
    successful requests only), by family."""
    ttfts, latencies, out_lens, itls = (data.get(k) for k in ("ttfts", "latencies", "output_lens", "itls"))
    if not (isinstance(ttfts, list) and isinstance(latencies, list) and len(ttfts) == len(latencies)):
        return {}
    errors = data.get("errors") if isinstance(data.get("errors"), list) else [""] * len(ttfts)
    ok = [i for i in range(len(ttfts)) if not errors[i]]
    out = {"ttft": [ttfts[i] for i in ok], "e2el": [latencies[i] for i in ok]}
    if isinstance(out_lens, list) and len(out_lens) == len(ttfts):
        out["tpot"] = [(latencies[i] - ttfts[i]) / (out_lens[i] - 1) for i in ok if out_lens[i] > 1]
    if isinstance(itls, list) and len(itls) == len(ttfts):
        out["itl"] = [gap for i in ok for gap in itls[i]]
    return out


def _support(family: str, stat: str, samples: dict[str, list[float]], completed: float | None) -> dict[str, Any]:
    """n, distinct values and percentile caveat of one imported statistic, as far as the file tells."""
    if family in samples:
        n, distinct = len(samples[family]), len(set(samples[family]))
    elif family in ("ttft", "e2el") and completed is not None:
        n, distinct = int(completed), None  # one value per successful request
    else:
        return {}
    q = 50.0 if stat == "median" else float(stat[1:]) if stat.startswith("p") else None
    return {"n": n, "n_distinct": distinct, "caveat": None if q is None else percentile_caveat(q, n, distinct)}


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
