"""Result dataclasses: percentiles computed in one place, CIs, lossless dict round trips."""

from __future__ import annotations

import json

import pytest

from engine.results import Measurement, RequestRecord, Summary, TrialResult, confidence_interval_95


def test_summary_percentiles_match_linear_interpolation() -> None:
    s = Summary.from_values([4.0, 1.0, 3.0, 2.0, 5.0])
    assert (s.n, s.min, s.max, s.mean, s.p50) == (5, 1.0, 5.0, 3.0, 3.0)
    assert s.p90 == pytest.approx(4.6)
    assert s.p99 == pytest.approx(4.96)
    assert Summary.from_values([]) is None


def test_confidence_interval_contains_mean_and_needs_two_values() -> None:
    low, high = confidence_interval_95([10.0, 12.0, 11.0])
    assert low < 11.0 < high
    assert high - low == pytest.approx(2 * 4.303 * 1.0 / 3**0.5)
    assert confidence_interval_95([1.0]) == (None, None)


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
