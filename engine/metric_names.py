"""The catalogue of metric names: unit, label, direction and meaning, read by every consumer.

The engine emits these names in TrialResult.metrics; the store, sweeps (objectives, constraints),
GUI (charts, tables) and reports (labels, units, "how measured") read their metadata here, so a
metric means the same thing everywhere. Latency families have `_mean/_p50/_p90/_p99/_max` suffixes.
`headline` ranks the figures shown where space is short (the CLI's run table, the Runs view's columns,
the grouped bars, the reports' compact tables): each takes the first of `HEADLINE_METRICS` it has room for.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class MetricInfo:
    name: str
    unit: str
    label: str
    higher_is_better: bool
    meaning: str
    headline: int = 0  # rank among the headline figures (1 first); 0: not a headline figure


_LATENCY_SUFFIXES = ("mean", "p50", "p90", "p99", "max")


def _family(base: str, unit: str, label: str, meaning: str, headline: dict[str, int] | None = None
            ) -> list[MetricInfo]:
    """One latency metric per suffix; `headline` gives the rank of those that are headline figures."""
    ranks = headline or {}
    return [MetricInfo(f"{base}_{s}", unit, f"{label} {s}", False, meaning, ranks.get(s, 0))
            for s in _LATENCY_SUFFIXES]


CATALOGUE: dict[str, MetricInfo] = {m.name: m for m in [
    MetricInfo("output_tokens_per_s", "tok/s", "Output throughput", True,
               "Generated tokens / wall time of the measured window (median over repetitions).", headline=1),
    MetricInfo("batch_median_output_tokens_per_s", "tok/s", "Per-batch median output throughput", True,
               "The seed study's throughput: per batch (engine call), its generated tokens / its wall time; the "
               "median over batches. Beside output_tokens_per_s, it leaves out the gaps between batches."),
    MetricInfo("total_tokens_per_s", "tok/s", "Total throughput", True,
               "(Prompt + generated tokens) / wall time of the measured window."),
    MetricInfo("requests_per_s", "req/s", "Request throughput", True, "Finished requests / wall time.",
               headline=10),
    MetricInfo("prefill_tokens_per_s", "tok/s", "Prompt tok/s until first tokens", True,
               "Prompt tokens / time during which some request awaited its first token (union of [start, first "
               "token]). A pure prefill phase only when batches run one at a time (hf-*); under continuous "
               "batching it includes queueing and other requests' decode."),
    MetricInfo("decode_tokens_per_s", "tok/s", "Tok/s after first tokens", True,
               "Tokens after each request's first / time during which some request was past its first token "
               "(union of [first, last token]); under continuous batching it overlaps other requests' prefill."),
    *_family("ttft_ms", "ms", "TTFT", "Time to first token per request.", {"p50": 2, "p99": 8}),
    *_family("itl_ms", "ms", "ITL", "Inter-token latency (gap between successive tokens).", {"p50": 6, "p99": 9}),
    *_family("tpot_ms", "ms", "TPOT", "Time per output token after the first, per request.", {"p50": 3}),
    *_family("e2e_ms", "ms", "End-to-end latency", "Request start to last token.", {"p50": 7}),
    *_family("queue_ms", "ms", "Queue time", "vLLM: queued to first scheduled, per request (engine-core stamps)."),
    *_family("prefill_ms", "ms", "Prefill time",
             "vLLM: first scheduled to first token, per request (engine-core stamps)."),
    MetricInfo("input_tokens_total", "tokens", "Prompt tokens", True, "Prompt tokens in the measured window."),
    MetricInfo("output_tokens_total", "tokens", "Generated tokens", True,
               "Tokens generated in the measured window (counted from outputs)."),
    MetricInfo("usage_reported_requests", "requests", "Server-reported usage", True,
               "Requests whose output token count came from the server's usage field (the rest: counted "
               "by re-tokenizing the streamed text)."),
    MetricInfo("failed_requests", "requests", "Failed requests", False, "Requests that ended in an error."),
    MetricInfo("wall_s", "s", "Measured wall time", False, "Wall time of one measured repetition (median)."),
    MetricInfo("load_time_s", "s", "Model load time", False, "Loading the model (kept apart from throughput)."),
    MetricInfo("model_weights_bytes", "B", "Weights size", False, "Bytes of the loaded parameters and buffers."),
    MetricInfo("kv_cache_bytes", "B", "KV cache size", False,
               "Bytes of the KV cache tensors after a generate call (the largest call), summed, not computed."),
    MetricInfo("peak_cuda_allocated_bytes", "B", "Peak CUDA allocated", False,
               "torch.cuda.max_memory_allocated over the measured window."),
    MetricInfo("peak_cuda_reserved_bytes", "B", "Peak CUDA reserved", False,
               "torch.cuda.max_memory_reserved over the measured window."),
    MetricInfo("peak_gpu_memory_used_bytes", "B", "Peak GPU memory (NVML)", False,
               "Highest NVML memory used, summed over the trial's GPUs, seen by the sampler.", headline=11),
    MetricInfo("peak_rss_bytes", "B", "Peak worker RSS", False,
               "Sum of the kernel peak RSS of the worker and its child processes over the measured window.",
               headline=4),
    MetricInfo("gpu_energy_j", "J", "GPU energy", False,
               "NVML total-energy counter difference over the measured window, summed over the trial's GPUs."),
    MetricInfo("gpu_energy_net_j", "J", "GPU energy net of idle", False,
               "gpu_energy_j minus idle power × window (idle measured before the model load)."),
    MetricInfo("gpu_mean_power_w", "W", "Mean GPU power", False, "gpu_energy_j / window."),
    MetricInfo("gpu_j_per_output_token", "J/tok", "GPU J/token", False, "gpu_energy_j / output tokens."),
    MetricInfo("cpu_energy_j", "J", "CPU package energy", False, "RAPL energy_uj difference (where readable)."),
    MetricInfo("cpu_energy_net_j", "J", "CPU energy net of idle", False,
               "cpu_energy_j minus idle power × window (idle measured before the model load)."),
    MetricInfo("cpu_j_per_output_token", "J/tok", "CPU J/token", False, "cpu_energy_j / output tokens."),
    MetricInfo("energy_j_per_output_token", "J/tok", "J/token", False,
               "GPU J/token where measured, else CPU J/token; unavailable if neither is readable.", headline=5),
    MetricInfo("spec_acceptance_rate", "ratio", "Speculative acceptance", True,
               "Accepted draft tokens / proposed draft tokens."),
    MetricInfo("spec_mean_accepted_tokens", "tokens", "Accepted per step", True,
               "Mean tokens accepted per speculative step."),
    MetricInfo("spec_speedup", "ratio", "Speculative speed-up", True,
               "Median per-request time per output token without speculation / with it (speedup_baseline)."),
    MetricInfo("quality_agreement", "ratio", "Greedy agreement", True,
               "Share of generated tokens equal to the reference config's greedy output."),
    MetricInfo("perplexity", "ppl", "Perplexity", False, "Perplexity on InferLab's fixed reference text."),
    MetricInfo("perplexity_ratio", "ratio", "Perplexity vs reference", False,
               "Perplexity / the reference config's perplexity."),
]}

HEADLINE_METRICS: tuple[str, ...] = tuple(
    m.name for m in sorted((m for m in CATALOGUE.values() if m.headline), key=lambda m: m.headline))


def info(name: str) -> MetricInfo:
    """Metadata of a metric; unknown names (e.g. imported ones) get a neutral entry."""
    return CATALOGUE.get(name) or MetricInfo(name, "", name.replace("_", " "), True, "Imported or custom metric.")
