"""Latency and throughput from request records: per-request distributions (TTFT, ITL, TPOT, e2e)
over all repetitions, throughputs per repetition summarised as median with a 95% CI."""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Sequence

from engine.results import Measurement, RequestRecord, Summary


@dataclasses.dataclass(frozen=True)
class Repetition:
    """One measured repetition: its records, the wall time of the whole window and the records of each
    engine call in record order (empty where the engine runs no separate calls)."""

    records: list[RequestRecord]
    wall_s: float
    batches: tuple[int, ...] = ()


def union_s(intervals: Sequence[tuple[float, float]]) -> float:
    """Total length covered by possibly overlapping [start, end] intervals."""
    total = 0.0
    cur_start = cur_end = None
    for start, end in sorted(intervals):
        if cur_end is None or start > cur_end:
            if cur_end is not None:
                total += cur_end - cur_start
            cur_start, cur_end = start, end
        else:
            cur_end = max(cur_end, end)
    if cur_end is not None:
        total += cur_end - cur_start
    return total


def repetition_rates(rep: Repetition) -> dict[str, float | None]:
    """Throughputs of one repetition (None where a phase was not observed)."""
    ok = [r for r in rep.records if r.ok]
    out_tokens = sum(r.output_tokens for r in ok)
    in_tokens = sum(r.input_tokens for r in ok)
    rates: dict[str, float | None] = {
        "output_tokens_per_s": out_tokens / rep.wall_s,
        "total_tokens_per_s": (out_tokens + in_tokens) / rep.wall_s,
        "requests_per_s": len(ok) / rep.wall_s,
        "wall_s": rep.wall_s,
        "prefill_tokens_per_s": None,
        "decode_tokens_per_s": None,
    }
    timed = [r for r in ok if r.first_token_s is not None]
    if timed:
        prefill_s = union_s([(r.start_s, r.first_token_s) for r in timed])
        decode_s = union_s([(r.first_token_s, r.end_s) for r in timed])
        decode_tokens = sum(r.output_tokens - 1 for r in timed)
        rates["prefill_tokens_per_s"] = sum(r.input_tokens for r in timed) / prefill_s if prefill_s > 0 else None
        rates["decode_tokens_per_s"] = decode_tokens / decode_s if decode_s > 0 and decode_tokens else None
    return rates


_UNITS = {"output_tokens_per_s": "tok/s", "total_tokens_per_s": "tok/s", "requests_per_s": "req/s",
          "wall_s": "s", "prefill_tokens_per_s": "tok/s", "decode_tokens_per_s": "tok/s"}
_METHODS = {
    "output_tokens_per_s": "generated tokens (counted from the output ids) / wall time of each repetition",
    "total_tokens_per_s": "(prompt + generated tokens) / wall time of each repetition",
    "requests_per_s": "finished requests / wall time of each repetition",
    "wall_s": "perf_counter around each repetition",
    "prefill_tokens_per_s": "prompt tokens / time during which some request awaited its first token (union of "
                            "[request start, first token] intervals; batch members share one). Not a pure "
                            "prefill phase: under continuous batching (vllm, servers) it also covers queueing "
                            "and other requests' decode steps",
    "decode_tokens_per_s": "tokens after each request's first / time during which some request was past its "
                           "first token and unfinished (union of [first token, last token] intervals). Not a "
                           "pure decode phase: under continuous batching it also covers other requests' prefill",
}


def throughput_metrics(reps: Sequence[Repetition]) -> dict[str, Measurement]:
    """Median over repetitions with 95% CI for every throughput."""
    per_rep = [repetition_rates(r) for r in reps]
    out: dict[str, Measurement] = {}
    for name, unit in _UNITS.items():
        values = [v for rates in per_rep if (v := rates[name]) is not None]
        if len(values) == len(per_rep):
            out[name] = Measurement.from_repetitions(values, unit, _METHODS[name] + "; median over repetitions")
        else:
            out[name] = Measurement.unavailable(unit, "the backend did not report first-token times")
    return out


BATCH_MEDIAN = "batch_median_output_tokens_per_s"


def batch_median_metric(reps: Sequence[Repetition], engine: str) -> dict[str, Measurement]:
    """The seed study's throughput: per engine call, its generated tokens / its wall time (its requests'
    start to its last token); the median over every call of every repetition."""
    rates = []
    for rep in reps:
        at = 0
        for size in rep.batches:
            call = rep.records[at:at + size]
            at += size
            wall_s = max(r.end_s for r in call) - min(r.start_s for r in call)
            if wall_s > 0:
                rates.append(sum(r.output_tokens for r in call if r.ok) / wall_s)
    if not rates:
        return {BATCH_MEDIAN: Measurement.unavailable("tok/s", f"{engine} does not run the requests as separate "
                                                      "batch calls (batch_size requests are in flight at once)")}
    method = (f"per engine call (a batch of up to batch_size requests): generated tokens / (the batch's start, "
              f"before tokenization, to its last token); median over {len(rates)} batches of {len(reps)} "
              "repetition(s) (the seed study's definition)")
    return {BATCH_MEDIAN: Measurement.measured(statistics.median(rates), "tok/s", method, n=len(rates))}


def latency_metrics(reps: Sequence[Repetition], gaps_ms: Sequence[float], ttft_method: str
                    ) -> dict[str, Measurement]:
    """TTFT, ITL, TPOT and e2e distributions over every measured request of every repetition."""
    ok = [r for rep in reps for r in rep.records if r.ok]
    out: dict[str, Measurement] = {}
    families = {
        "e2e_ms": ([r.e2e_ms for r in ok], "request start to its last generated token (" + ttft_method + ")"),
        "ttft_ms": ([v for r in ok if (v := r.ttft_ms) is not None],
                    "request start to its first generated token (" + ttft_method + ")"),
        "tpot_ms": ([v for r in ok if (v := r.tpot_ms) is not None],
                    "(last token − first token) / (output tokens − 1) per request"),
        "itl_ms": (list(gaps_ms), "gaps between successive chunks of each request (a decode step or a "
                   "streamed event, which may carry several tokens, as vLLM's benchmark counts them; "
                   + ttft_method + ")"),
    }
    for name, (values, method) in families.items():
        summary = Summary.from_values(values)
        if summary is None:
            for suffix in ("mean", "p50", "p90", "p99", "max"):
                out[f"{name}_{suffix}"] = Measurement.unavailable("ms", f"no {name} values observed "
                                                                  "(backend gives no per-token times, or "
                                                                  "requests produced < 2 tokens)")
        else:
            out.update(summary.as_measurements(name, "ms", method))
    return out


def count_metrics(reps: Sequence[Repetition], output_counting: str) -> dict[str, Measurement]:
    """Token and failure counts of the measured window (per repetition, median); `output_counting` says
    how the backend counted output tokens."""
    def per_rep(fn) -> list[float]:  # type: ignore[no-untyped-def]
        return [float(fn(rep.records)) for rep in reps]

    return {
        "input_tokens_total": Measurement.from_repetitions(
            per_rep(lambda rs: sum(r.input_tokens for r in rs if r.ok)), "tokens",
            "prompt tokens fed to the model per repetition"),
        "output_tokens_total": Measurement.from_repetitions(
            per_rep(lambda rs: sum(r.output_tokens for r in rs if r.ok)), "tokens",
            "generated tokens per repetition: " + output_counting),
        "failed_requests": Measurement.measured(
            sum(1 for rep in reps for r in rep.records if not r.ok), "requests", "requests with an error, "
            "all repetitions"),
    }


def _built_on_output_count(name: str) -> bool:
    return (name.startswith(("output_tokens_", "total_tokens_per_s", "decode_tokens_per_s", "tpot_ms_", BATCH_MEDIAN))
            or name.endswith("_per_output_token"))


def mark_estimated(metrics: dict[str, Measurement], output_counting: str) -> None:
    """Relabel every measured figure built on output token counts as estimated, quoting how they were counted."""
    for name, m in metrics.items():
        if m.status == "measured" and _built_on_output_count(name):
            metrics[name] = dataclasses.replace(m, status="estimated",
                                                method=m.method + "; output tokens " + output_counting)
