"""Result dataclasses: every figure carries its unit, its status and how it was obtained.

A `Measurement` is `measured`, `estimated` (with its method) or `unavailable` (with the reason); it is
never silently made up. Percentile summaries are computed in one place, `Summary.from_values`.
Units are in metric names (`ttft_ms_p50`, `gpu_energy_j`, `peak_rss_bytes`).
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from engine.causes import FailureCause, check_cause

Status = Literal["measured", "estimated", "unavailable"]
TrialStatus = Literal["ok", "failed", "cancelled"]
PERCENTILES = (50, 90, 99)


@dataclasses.dataclass(frozen=True)
class Measurement:
    """One figure: value (None when unavailable), unit, status and method (or the reason it is missing)."""

    value: float | None
    unit: str
    status: Status
    method: str
    ci95_low: float | None = None
    ci95_high: float | None = None
    n: int | None = None

    @classmethod
    def measured(cls, value: float, unit: str, method: str, **kw: Any) -> Measurement:
        return cls(float(value), unit, "measured", method, **kw)

    @classmethod
    def estimated(cls, value: float, unit: str, method: str, **kw: Any) -> Measurement:
        return cls(float(value), unit, "estimated", method, **kw)

    @classmethod
    def unavailable(cls, unit: str, reason: str) -> Measurement:
        return cls(None, unit, "unavailable", reason)

    @classmethod
    def from_repetitions(cls, values: Sequence[float], unit: str, method: str) -> Measurement:
        """Median over repetitions with a 95% confidence interval of the mean (t-distribution)."""
        low, high = confidence_interval_95(values)
        return cls(float(statistics.median(values)), unit, "measured", method, low, high, len(values))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Measurement:
        return cls(**d)


# Two-sided 95% Student-t quantiles for n-1 degrees of freedom (n = 2..30); normal beyond.
_T95 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045]


def confidence_interval_95(values: Sequence[float]) -> tuple[float | None, float | None]:
    """95% CI of the mean; (None, None) for fewer than two values."""
    n = len(values)
    if n < 2:
        return None, None
    mean = statistics.fmean(values)
    t = _T95[n - 2] if n - 2 < len(_T95) else 1.96
    half = t * statistics.stdev(values) / math.sqrt(n)
    return mean - half, mean + half


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default method) of already sorted values."""
    if not sorted_values:
        raise ValueError("percentile of no values")
    pos = (len(sorted_values) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


@dataclasses.dataclass(frozen=True)
class Summary:
    """Distribution of one per-request quantity: mean, min, max and p50/p90/p99."""

    n: int
    mean: float
    min: float
    max: float
    p50: float
    p90: float
    p99: float

    @classmethod
    def from_values(cls, values: Iterable[float]) -> Summary | None:
        """Summary of the values, or None if there are none."""
        s = sorted(values)
        if not s:
            return None
        p50, p90, p99 = (percentile(s, q) for q in PERCENTILES)
        return cls(len(s), statistics.fmean(s), s[0], s[-1], p50, p90, p99)

    def as_measurements(self, name: str, unit: str, method: str) -> dict[str, Measurement]:
        """`{name}_mean`, `{name}_p50`, … as measured figures."""
        return {f"{name}_{k}": Measurement.measured(getattr(self, k), unit, method, n=self.n)
                for k in ("mean", "p50", "p90", "p99", "max")}


@dataclasses.dataclass(frozen=True)
class RequestRecord:
    """One measured request. Times are seconds on the worker's monotonic clock, relative to the
    repetition's start; None where the backend cannot observe them (said in the result's notes)."""

    repetition: int
    index: int
    input_tokens: int
    output_tokens: int
    start_s: float
    first_token_s: float | None
    end_s: float
    ok: bool = True
    error: str | None = None

    @property
    def ttft_ms(self) -> float | None:
        return None if self.first_token_s is None else (self.first_token_s - self.start_s) * 1e3

    @property
    def e2e_ms(self) -> float:
        return (self.end_s - self.start_s) * 1e3

    @property
    def tpot_ms(self) -> float | None:
        """Time per output token after the first: (end - first) / (n - 1)."""
        if self.first_token_s is None or self.output_tokens < 2:
            return None
        return (self.end_s - self.first_token_s) * 1e3 / (self.output_tokens - 1)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RequestRecord:
        return cls(**d)


@dataclasses.dataclass
class TrialResult:
    """What a trial produced. `metrics` maps unit-suffixed names to Measurements.

    `config` is the flat trial config; `environment` the hardware/software record; `notes` says
    anything a reader must know to interpret the figures (e.g. "TTFT from a streamer").
    """

    trial_id: str
    config: dict[str, Any]
    status: TrialStatus
    metrics: dict[str, Measurement] = dataclasses.field(default_factory=dict)
    requests: list[RequestRecord] = dataclasses.field(default_factory=list)
    environment: dict[str, Any] = dataclasses.field(default_factory=dict)
    failure_cause: FailureCause | None = None
    failure_message: str | None = None
    started_at: float | None = None
    finished_at: float | None = None
    notes: list[str] = dataclasses.field(default_factory=list)
    sample_outputs: list[str] = dataclasses.field(default_factory=list)
    # Telemetry samples (engine.telemetry format) of the trial. The worker streams them live and
    # leaves this empty in its result message; WorkerClient.run_trial fills it from the stream.
    telemetry: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    def value(self, name: str) -> float | None:
        """The metric's value, or None if absent or unavailable."""
        m = self.metrics.get(name)
        return None if m is None else m.value

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["metrics"] = {k: m.to_dict() for k, m in self.metrics.items()}
        d["requests"] = [r.to_dict() for r in self.requests]
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TrialResult:
        d = dict(d)
        d["metrics"] = {k: Measurement.from_dict(m) for k, m in d.get("metrics", {}).items()}
        d["requests"] = [RequestRecord.from_dict(r) for r in d.get("requests", [])]
        if d.get("failure_cause") is not None:
            d["failure_cause"] = check_cause(d["failure_cause"])
        return cls(**d)
