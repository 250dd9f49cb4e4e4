"""Result dataclasses: every figure carries its unit, its status and how it was obtained.

A `Measurement` is `measured`, `estimated` (with its method) or `unavailable` (with the reason); it is
never silently made up. Percentile summaries are computed in one place, `Summary.from_values`, and
say how many (distinct) values they rest on and whether those can support them (`percentile_caveat`).
A median over repetitions carries a distribution-free 95% CI of the median (`median_ci`), and
`ci_method` says what `ci95_low`/`ci95_high` are. Units are in metric names (`ttft_ms_p50`,
`gpu_energy_j`, `peak_rss_bytes`).
"""

from __future__ import annotations

import dataclasses
import math
import statistics
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from engine.causes import FailureCause, check_cause

Status = Literal["measured", "estimated", "unavailable"]
TrialStatus = Literal["ok", "failed", "cancelled"]
PERCENTILES = (50, 90, 99)


CI_LEVEL = 0.95
MEDIAN_CI = "95% CI of the median (distribution-free order statistics, binomial)"
# What ci95_low/ci95_high meant in runs stored before `ci_method` existed (store migration 0003).
# Like every `ci_method`, it is "LABEL: detail".
LEGACY_MEAN_CI = ("95% CI of the mean (Student t): stored before store revision 0003; the value beside "
                  "it is the median")


@dataclasses.dataclass(frozen=True)
class Measurement:
    """One figure: value (None when unavailable), unit, status and method (or the reason it is missing).

    `ci_method` says what the interval is (and why there is none, when repetitions were too few);
    `n_distinct` and `caveat` go with percentiles: how many distinct values the `n` samples hold,
    and why the samples cannot support the percentile (None when they can).
    """

    value: float | None
    unit: str
    status: Status
    method: str
    ci95_low: float | None = None
    ci95_high: float | None = None
    n: int | None = None
    ci_method: str | None = None
    n_distinct: int | None = None
    caveat: str | None = None

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
        """Median over repetitions with its distribution-free 95% CI (`median_ci`) when n allows one."""
        ci = median_ci(values)
        return cls(float(statistics.median(values)), unit, "measured", method, ci.low, ci.high, len(values),
                   ci_method=ci.method)

    @property
    def ci_description(self) -> str | None:
        """What the interval is in full, or why there is none; an interval recorded without a method is
        the old t-interval of the mean."""
        has_ci = self.ci95_low is not None and self.ci95_high is not None
        return self.ci_method or (LEGACY_MEAN_CI if has_ci else None)

    @property
    def ci_label(self) -> str | None:
        """What the interval is, for captions and legends ("95% CI of the median (…)"); None without one."""
        if self.ci95_low is None or self.ci95_high is None:
            return None
        return str(self.ci_description).split(": ", 1)[0]

    @property
    def statistics_note(self) -> str:
        """What the figure rests on, for tooltips and detail panes: n (and distinct values), what its
        interval is (or why it has none) and any percentile caveat; "" when none is recorded."""
        parts = [] if self.n is None else [
            f"n={self.n}" + ("" if self.n_distinct is None else f" ({self.n_distinct} distinct)")]
        return "; ".join(parts + [text for text in (self.ci_description, self.caveat) if text])

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Measurement:
        return cls(**d)


@dataclasses.dataclass(frozen=True)
class MedianCI:
    """An interval for the median (None bounds when n is too small) and the text saying which."""

    low: float | None
    high: float | None
    method: str


def median_ci(values: Sequence[float]) -> MedianCI:
    """Distribution-free CI of the median: the order statistics x(k), x(n+1-k) with the largest k whose
    binomial coverage 1 - 2·P(Bin(n, ½) < k) is still ≥ 95%. Under 6 values even min–max covers less
    than 95%: no interval, and the method says the most that n can give."""
    s = sorted(values)
    n = len(s)
    if n < 2:
        return MedianCI(None, None, f"{MEDIAN_CI} unavailable: {n} value(s) give no interval")
    best: tuple[int, float] | None = None
    for k in range(1, n // 2 + 1):
        coverage = 1 - 2 * sum(math.comb(n, i) for i in range(k)) / 2**n
        if coverage < CI_LEVEL:
            break
        best = k, coverage
    if best is None:
        most = 1 - 2 / 2**n
        return MedianCI(None, None, f"{MEDIAN_CI} unavailable: {n} values allow at most {most:.1%} "
                                    "coverage (min–max); 95% needs at least 6")
    k, coverage = best
    return MedianCI(s[k - 1], s[n - k], f"{MEDIAN_CI}: x({k}), x({n + 1 - k}) of {n} sorted values, "
                                        f"coverage {coverage:.1%}")


def min_samples_for_percentile(q: float) -> int:
    """Distinct values a q-th percentile needs: enough that at least one lies beyond it (n·(1-q) ≥ 1),
    so p50 needs 2, p90 10, p99 100."""
    return math.ceil(100 / (100 - q) - 1e-9)


def percentile_caveat(q: float, n: int, n_distinct: int | None) -> str | None:
    """Why n values (n_distinct of them distinct) cannot support the q-th percentile; None if they can.

    Distinct values count, not samples: batch-mates that share one timestamp give one value many times.
    Where the distinct count is not known (an imported file without per-request values), n bounds it.
    """
    need = min_samples_for_percentile(q)
    distinct = n if n_distinct is None else n_distinct
    if distinct >= need:
        return None
    known = "distinct values not recorded" if n_distinct is None else f"{n_distinct} distinct"
    return f"too few samples for p{q:g}: {n} values, {known}; needs at least {need} distinct"


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
    """Distribution of one per-request quantity: mean, min, max and p50/p90/p99, over n values of
    which n_distinct differ."""

    n: int
    n_distinct: int
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
        return cls(len(s), len(set(s)), statistics.fmean(s), s[0], s[-1], p50, p90, p99)

    def as_measurements(self, name: str, unit: str, method: str) -> dict[str, Measurement]:
        """`{name}_mean`, `{name}_p50`, … as measured figures, each with n and distinct values; a
        percentile the samples cannot support carries the caveat (`percentile_caveat`)."""
        out: dict[str, Measurement] = {}
        for stat in ("mean", "p50", "p90", "p99", "max"):
            q = int(stat[1:]) if stat.startswith("p") else None
            out[f"{name}_{stat}"] = Measurement.measured(
                getattr(self, stat), unit, method, n=self.n, n_distinct=self.n_distinct,
                caveat=None if q is None else percentile_caveat(q, self.n, self.n_distinct))
        return out


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

    @classmethod
    def failed(cls, trial_id: str, config: Mapping[str, Any], cause: str, message: str,
               started_at: float | None = None, *, status: TrialStatus = "failed",
               environment: Mapping[str, Any] | None = None) -> TrialResult:
        """A trial that produced no figures: its `cause` and `message`, finished now (started now too
        unless `started_at` says when). The one builder of failed and cancelled results."""
        now = time.time()
        return cls(trial_id, dict(config), status, failure_cause=cause, failure_message=message,
                   environment=dict(environment or {}), started_at=now if started_at is None else started_at,
                   finished_at=now)

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
