"""Result dataclasses: percentiles computed in one place, CIs, lossless dict round trips."""

from __future__ import annotations

import json
import time

import pytest

from engine.results import (
    LEGACY_MEAN_CI,
    MEDIAN_CI,
    Measurement,
    RequestRecord,
    Summary,
    TrialResult,
    median_ci,
    min_samples_for_percentile,
)


def test_summary_percentiles_match_linear_interpolation() -> None:
    s = Summary.from_values([4.0, 1.0, 3.0, 2.0, 5.0])
    assert (s.n, s.min, s.max, s.mean, s.p50) == (5, 1.0, 5.0, 3.0, 3.0)
    assert s.p90 == pytest.approx(4.6)
    assert s.p99 == pytest.approx(4.96)
    assert Summary.from_values([]) is None


def test_median_gets_an_order_statistic_ci_of_the_median_not_a_t_interval_of_the_mean() -> None:
    # Skewed repetitions (one slow outlier): a t-interval of the mean would reach below every value.
    values = [10.0, 10.1, 10.2, 10.3, 10.4, 10.5, 10.6, 10.7, 10.8, 40.0]
    m = Measurement.from_repetitions(values, "tok/s", "wall")
    assert m.value == pytest.approx(10.45) and m.n == 10
    assert (m.ci95_low, m.ci95_high) == (10.1, 10.8)            # x(2), x(9) of 10
    assert m.ci_method.startswith(MEDIAN_CI) and "coverage 97.9%" in m.ci_method
    assert m.ci_label == MEDIAN_CI


def test_median_ci_picks_the_narrowest_order_statistics_with_binomial_coverage_of_95_percent() -> None:
    # (n, k): the largest k with 1 - 2·P(Bin(n, ½) ≤ k-1) ≥ 0.95 (standard tables).
    for n, k in ((6, 1), (8, 1), (9, 2), (12, 3), (20, 6), (30, 10)):
        ci = median_ci(list(range(n, 0, -1)))
        assert (ci.low, ci.high) == (k, n + 1 - k), n


def test_too_few_repetitions_give_no_interval_and_say_what_they_allow() -> None:
    m = Measurement.from_repetitions([10.0, 12.0, 11.0], "tok/s", "wall")
    assert m.value == 11.0 and (m.ci95_low, m.ci95_high) == (None, None) and m.ci_label is None
    assert "unavailable" in m.ci_method and "75.0%" in m.ci_method and "at least 6" in m.ci_method
    assert "93.8%" in median_ci([1.0, 2, 3, 4, 5]).method
    assert median_ci([1.0]).low is None


def test_a_stored_interval_without_ci_method_is_labelled_as_the_old_mean_interval() -> None:
    old = Measurement.from_dict({"value": 11.0, "unit": "tok/s", "status": "measured", "method": "wall",
                                 "ci95_low": 9.5, "ci95_high": 12.5, "n": 3})
    assert old.ci_label == "95% CI of the mean (Student t)" and LEGACY_MEAN_CI.startswith(old.ci_label)


def test_percentiles_record_n_and_distinct_values_and_flag_what_the_samples_cannot_support() -> None:
    assert [min_samples_for_percentile(q) for q in (50, 90, 99)] == [2, 10, 100]
    few = Summary.from_values([float(v) for v in range(8)]).as_measurements("ttft_ms", "ms", "m")
    assert few["ttft_ms_p50"].caveat is None and few["ttft_ms_p50"].n_distinct == 8
    assert few["ttft_ms_p90"].caveat == "too few samples for p90: 8 values, 8 distinct; needs at least 10 distinct"
    assert "p99" in few["ttft_ms_p99"].caveat and few["ttft_ms_mean"].caveat is None
    # 64 batch-mates per timestamp: 256 samples but 4 distinct values cannot give a p90 or p99.
    shared = Summary.from_values([float(i // 64) for i in range(256)]).as_measurements("ttft_ms", "ms", "m")
    assert shared["ttft_ms_p99"].n == 256 and shared["ttft_ms_p99"].n_distinct == 4
    assert "256 values, 4 distinct" in shared["ttft_ms_p90"].caveat
    many = Summary.from_values([float(v) for v in range(100)]).as_measurements("ttft_ms", "ms", "m")
    assert all(m.caveat is None for m in many.values())


def test_request_record_derives_latencies_from_timestamps() -> None:
    r = RequestRecord(0, 0, input_tokens=8, output_tokens=5, start_s=1.0, first_token_s=1.1, end_s=1.5)
    assert r.ttft_ms == pytest.approx(100.0)
    assert r.e2e_ms == pytest.approx(500.0)
    assert r.tpot_ms == pytest.approx(100.0)
    assert RequestRecord(0, 1, 8, 1, 0.0, 0.1, 0.1).tpot_ms is None


def test_trial_result_round_trips_through_json() -> None:
    result = TrialResult(
        "t1", {"engine": "hf-generate"}, "ok",
        metrics={"output_tokens_per_s": Measurement.from_repetitions([10.0, 11.0, 12.0], "tok/s", "wall"),
                 "gpu_energy_j": Measurement.unavailable("J", "no NVML")},
        requests=[RequestRecord(0, 0, 8, 4, 0.0, 0.01, 0.05)],
    )
    back = TrialResult.from_dict(json.loads(json.dumps(result.to_dict())))
    assert back == result
    assert back.value("gpu_energy_j") is None
    assert back.metrics["output_tokens_per_s"].n == 3


def test_failed_results_come_from_one_builder_with_cause_message_and_times() -> None:
    before = time.time()
    failed = TrialResult.failed("t1", {"engine": "hf-generate"}, "worker-exit", "no hello", before - 5.0)
    assert (failed.status, failed.failure_cause, failed.failure_message) == ("failed", "worker-exit", "no hello")
    assert failed.started_at == before - 5.0 and before <= failed.finished_at <= time.time()
    assert failed.metrics == {} and TrialResult.from_dict(failed.to_dict()) == failed
    cancelled = TrialResult.failed("t2", {}, "cancelled", "stopped by the user", status="cancelled")
    assert cancelled.status == "cancelled" and cancelled.started_at == cancelled.finished_at
