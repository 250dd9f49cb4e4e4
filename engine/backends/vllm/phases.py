"""Per-request queue and prefill times from vLLM's engine-core timestamps (`RequestOutput.metrics`).

Unlike the interval unions behind `prefill_tokens_per_s`, these are vLLM's own phase boundaries per
request: queued → first scheduled (waiting in the scheduler) and first scheduled → first token
(prefill; under continuous batching its steps also run other requests' work).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from engine.results import Measurement, Summary

_METHODS = {
    "queue_ms": "RequestOutput.metrics.scheduled_ts − queued_ts per request (engine-core monotonic clock): "
                "time waiting for the scheduler",
    "prefill_ms": "RequestOutput.metrics.first_token_ts − scheduled_ts per request (engine-core monotonic clock): "
                  "first scheduled to first token; its steps may also carry other requests' decode",
}


@dataclasses.dataclass
class PhaseTimes:
    """Queue and prefill times of the requests seen so far (ms)."""

    queue_ms: list[float] = dataclasses.field(default_factory=list)
    prefill_ms: list[float] = dataclasses.field(default_factory=list)

    def add(self, metrics: Any) -> None:
        """Record one finished request's times (skipped where vLLM gave no scheduling timestamps)."""
        if metrics is None or not metrics.scheduled_ts or not metrics.first_token_ts:
            return
        self.queue_ms.append((metrics.scheduled_ts - metrics.queued_ts) * 1e3)
        self.prefill_ms.append((metrics.first_token_ts - metrics.scheduled_ts) * 1e3)

    def measurements(self) -> dict[str, Measurement]:
        out: dict[str, Measurement] = {}
        for name, method in _METHODS.items():
            summary = Summary.from_values(getattr(self, name))
            if summary is None:
                for suffix in ("mean", "p50", "p90", "p99", "max"):
                    out[f"{name}_{suffix}"] = Measurement.unavailable("ms", "vLLM returned no scheduling "
                                                                      "timestamps (RequestOutput.metrics)")
            else:
                out.update(summary.as_measurements(name, "ms", method))
        return out
