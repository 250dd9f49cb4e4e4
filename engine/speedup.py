"""Speculative speed-up, measured per request against the same config without speculation.

With `speedup_baseline` on, a speculative trial runs its own baseline pass after its measured
repetitions: the trial's config with `speculative='none'` (same model, precision, quantization, engine
options, batch size) is loaded beside it, warmed up on the same warm-up requests, and run on the same
measured requests for the same repetitions. Each request's speed-up is its time per output token without
speculation divided by its time per output token with it (e2e / output tokens, so a request that stops
early on either side is still compared per token); `spec_speedup` is the median over all requests.
The two passes run one after the other, not interleaved: load from other processes between them shows
up in the figure, which the method says.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable, Sequence

from engine.backends.base import Backend, Request
from engine.config import TrialConfig
from engine.results import Measurement, RequestRecord

METHOD = ("median over requests of (time per output token without speculation) / (time per output token "
          "with it), time per token = e2e / output tokens of the same request (same prompt, repetition and "
          "batch) in a baseline pass of this config with speculative='none', run right after the measured "
          "repetitions in the same worker (warmed up alike; not interleaved)")


def baseline_config(config: TrialConfig) -> TrialConfig:
    """The trial's config without speculation (and without a second baseline)."""
    flat = config.to_flat()
    flat.update(speculative="none", draft_model=None, speedup_baseline=False)
    return TrialConfig.from_flat(flat)


def measure(load: Callable[[TrialConfig], Backend], config: TrialConfig, warmup: Sequence[Request],
            measured: Sequence[Request], speculative: Sequence[Sequence[RequestRecord]],
            cancel: threading.Event) -> dict[str, Measurement]:
    """`spec_speedup` of a finished speculative trial whose measured records are `speculative` (one list
    per repetition); unavailable with the reason for a non-speculative trial."""
    if config.common.speculative == "none":
        return {"spec_speedup": Measurement.unavailable("ratio", "the trial is not speculative "
                                                        "(speculative='none'): nothing to compare")}
    base = baseline_config(config)
    backend = load(base)
    try:
        if warmup:
            backend.run(base, warmup, -1, time.perf_counter(), cancel, _ignore)
        baseline = [backend.run(base, measured, rep, time.perf_counter(), cancel, _ignore)
                    for rep in range(len(speculative))]
    finally:
        backend.unload()
    return {"spec_speedup": speedup(speculative, baseline)}


def speedup(speculative: Sequence[Sequence[RequestRecord]], baseline: Sequence[Sequence[RequestRecord]]
            ) -> Measurement:
    """Median per-request ratio of baseline to speculative time per output token, pairing requests by
    (repetition, index)."""
    spec = {(r.repetition, r.index): r for rep in speculative for r in rep if _usable(r)}
    ratios = [_per_token_s(b) / _per_token_s(spec[(b.repetition, b.index)])
              for rep in baseline for b in rep if _usable(b) and (b.repetition, b.index) in spec]
    if not ratios:
        return Measurement.unavailable("ratio", "no request finished with output tokens in both passes")
    return Measurement.measured(statistics.median(ratios), "ratio", METHOD, n=len(ratios),
                                n_distinct=len(set(ratios)))


def _usable(record: RequestRecord) -> bool:
    return record.ok and record.output_tokens > 0 and record.end_s > record.start_s


def _per_token_s(record: RequestRecord) -> float:
    return (record.end_s - record.start_s) / record.output_tokens


def _ignore(_done: int) -> None:
    """Progress of the baseline pass is not reported (it is not the trial's measurement)."""
