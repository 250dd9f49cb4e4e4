"""Real trials through a real worker process on the demo model: meters, reuse, workloads, options."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from app.core.worker_client import WorkerClient
from engine.errors import ConfigError
from tests.engine.conftest import tiny

SAMPLE_KEYS = {"t", "cpu_percent", "ram_used_bytes", "ram_total_bytes", "worker_rss_bytes", "worker_processes",
               "gpus"}


def test_hello_reports_backends_and_interpreter(client: WorkerClient) -> None:
    assert client.hello is not None and client.hello["protocol"] == 1
    assert client.hello["backends"]["hf-generate"] == {"available": True, "reason": client.hello["backends"][
        "hf-generate"]["reason"]}
    assert "transformers" in client.hello["backends"]["hf-generate"]["reason"]
    assert client.alive


def test_trial_counts_every_token_and_latencies_are_consistent(client: WorkerClient) -> None:
    events: list[dict[str, Any]] = []
    result = client.run_trial(tiny(), on_event=events.append)
    assert result.status == "ok", result.failure_message
    m = result.value
    assert m("output_tokens_total") == 4 * 6 and m("input_tokens_total") == 4 * 16
    assert len(result.requests) == 4 * 2
    assert all(r.output_tokens == 6 and r.input_tokens == 16 for r in result.requests)
    for family in ("ttft_ms", "itl_ms", "tpot_ms", "e2e_ms"):
        assert 0 < m(f"{family}_p50") <= m(f"{family}_p99") <= m(f"{family}_max")
    assert all(r.ttft_ms is not None and 0 < r.ttft_ms < r.e2e_ms for r in result.requests)
    assert m("ttft_ms_p99") < m("e2e_ms_p50")
    # output throughput per repetition is tokens / wall; the median lies within the CI's reach
    tput = result.metrics["output_tokens_per_s"]
    assert tput.n == 2 and tput.ci95_low is not None and tput.value > 0
    assert abs(m("output_tokens_per_s") * m("wall_s") - 24) < 24 * 0.5
    assert m("decode_tokens_per_s") > 0 and m("prefill_tokens_per_s") > 0
    assert m("model_weights_bytes") > 100e6 and m("peak_rss_bytes") > m("model_weights_bytes")
    assert m("load_time_s") > 0
    kinds = {e["type"] for e in events}
    assert {"loaded", "progress", "request", "telemetry"} <= kinds
    assert sum(e["type"] == "request" for e in events) == 8


def test_telemetry_samples_have_the_shared_format(client: WorkerClient) -> None:
    result = client.run_trial(tiny(telemetry_hz=50.0, num_requests=2, repetitions=1))
    assert result.status == "ok", result.failure_message
    assert len(result.telemetry) >= 2
    for s in result.telemetry:
        assert set(s) == SAMPLE_KEYS and s["gpus"] == []
        assert 0 < s["worker_rss_bytes"] and 0 < s["ram_used_bytes"] <= s["ram_total_bytes"]
    assert [s["t"] for s in result.telemetry] == sorted(s["t"] for s in result.telemetry)


def test_unavailable_meters_say_why_without_nvml_or_rapl(client: WorkerClient) -> None:
    result = client.run_trial(tiny(num_requests=2, repetitions=1, idle_baseline_s=0.2))
    assert result.status == "ok", result.failure_message
    for name in ("gpu_energy_j", "gpu_energy_net_j", "gpu_j_per_output_token", "cpu_energy_j",
                 "energy_j_per_output_token", "peak_cuda_allocated_bytes", "peak_gpu_memory_used_bytes"):
        meas = result.metrics[name]
        assert meas.status == "unavailable" and meas.value is None and len(meas.method) > 10, name
    assert "NVML" in result.metrics["gpu_energy_j"].method
    assert "RAPL" in result.metrics["cpu_energy_j"].method
    env = result.environment
    assert env["hardware"]["cores_available"] >= 1 and env["software"]["torch"]
    assert env["threads"]["torch_num_threads"] == 1 and env["model"]["kind"] == "demo"


def test_model_is_reused_for_equal_load_keys_and_reloaded_otherwise(client: WorkerClient) -> None:
    client.run_trial(tiny(num_requests=2, repetitions=1))
    events: list[dict[str, Any]] = []
    same = client.run_trial(tiny(num_requests=2, repetitions=1, batch_size=1, output_tokens=4),
                            on_event=events.append)
    loaded = [e for e in events if e["type"] == "loaded"]
    assert loaded and loaded[0]["reused"] is True and loaded[0]["load_time_s"] == 0
    assert same.metrics["load_time_s"].status == "unavailable"
    assert any("reused" in n for n in same.notes)
    other = client.run_trial(tiny(num_requests=2, repetitions=1, attn_implementation="eager"))
    assert other.status == "ok" and other.metrics["load_time_s"].status == "measured"


def test_invalid_config_is_refused_before_anything_runs(client: WorkerClient) -> None:
    with pytest.raises(ConfigError) as err:
        client.run_trial(tiny(output_tokens=0))
    assert err.value.field == "output_tokens" and "[1, 131072]" in str(err.value)
    with pytest.raises(ConfigError) as err:
        client.run_trial(tiny(batchsize=4))
    assert err.value.field == "batchsize"


def test_options_this_machine_cannot_run_are_refused_with_the_reason(client: WorkerClient) -> None:
    result = client.run_trial(tiny(quantization="bnb-8bit"))
    assert result.status == "failed" and result.failure_cause == "unsupported"
    assert "quantization" in result.failure_message and "CUDA" in result.failure_message
    # a rule between options is refused by the client before the worker sees it (engine.rules)
    with pytest.raises(ConfigError) as err:
        client.run_trial(tiny(speculative="prompt-lookup", batch_size=2))
    assert err.value.field == "batch_size" and "batch_size 1" in err.value.message


def test_chat_workload_counts_templated_tokens(client: WorkerClient) -> None:
    result = client.run_trial(tiny(workload="chat", input_tokens=48, num_requests=2, repetitions=1))
    assert result.status == "ok", result.failure_message
    # the template's system prompt and markers are counted; the body is sized to land near 48
    assert all(40 <= r.input_tokens <= 56 for r in result.requests)
    assert result.value("output_tokens_total") == 2 * 6


def test_jsonl_workload_and_natural_stopping(client: WorkerClient, tmp_path: Path) -> None:
    path = tmp_path / "prompts.jsonl"
    lines = [{"prompt": "Write the word yes."}, {"messages": [{"role": "user", "content": "Say hi."}]}]
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    result = client.run_trial(tiny(workload="jsonl", prompt_file=str(path), ignore_eos=False, output_tokens=24,
                                   num_requests=2, repetitions=1, warmup_requests=0))
    assert result.status == "ok", result.failure_message
    assert [r.input_tokens for r in result.requests][0] < [r.input_tokens for r in result.requests][1]
    assert all(1 <= r.output_tokens <= 24 for r in result.requests)
    assert any("natural stopping" in n for n in result.notes)


def test_bad_jsonl_line_names_file_and_line(client: WorkerClient, tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"prompt": "ok"}\n{"text": "wrong key"}\n')
    result = client.run_trial(tiny(workload="jsonl", prompt_file=str(path)))
    assert result.status == "failed" and result.failure_cause == "invalid-config"
    assert f"{path}:2" in result.failure_message


def test_hf_pipeline_backend_runs_batches_with_step_timing(client: WorkerClient) -> None:
    result = client.run_trial(tiny(engine="hf-pipeline", num_requests=3, repetitions=1))
    assert result.status == "ok", result.failure_message
    assert result.value("output_tokens_total") == 3 * 6
    assert all(r.ttft_ms is not None and r.ttft_ms < r.e2e_ms for r in result.requests)
    assert len({r.start_s for r in result.requests}) == 2  # two pipeline batches (2 + 1)


def test_sample_outputs_are_kept_for_reading(client: WorkerClient) -> None:
    for engine in ("hf-generate", "hf-pipeline"):
        result = client.run_trial(tiny(engine=engine, workload="chat", num_requests=2, repetitions=1))
        assert result.status == "ok", result.failure_message
        assert len(result.sample_outputs) == 2 and all(isinstance(t, str) and t for t in result.sample_outputs)
