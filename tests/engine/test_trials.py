"""Real trials through a real worker process on the demo model: meters, reuse, workloads, options."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from app.core.worker_client import WorkerClient
from engine.errors import ConfigError
from engine.results import MEDIAN_CI
from tests.engine.conftest import tiny
from tests.hardware import nvidia_gpu_count, rapl_readable

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
    # output throughput per repetition is tokens / wall; 2 repetitions cannot give a 95% CI of the median
    tput = result.metrics["output_tokens_per_s"]
    assert tput.n == 2 and tput.value > 0 and (tput.ci95_low, tput.ci95_high) == (None, None)
    assert "unavailable" in tput.ci_method and "at least 6" in tput.ci_method
    # batch-mates (batch 2) share one first-token time: 8 requests give at most 4 distinct TTFTs
    ttft99 = result.metrics["ttft_ms_p99"]
    assert ttft99.n == 8 and ttft99.n_distinct <= 4 and f"8 values, {ttft99.n_distinct} distinct" in ttft99.caveat
    assert result.metrics["ttft_ms_p50"].caveat is None
    assert abs(m("output_tokens_per_s") * m("wall_s") - 24) < 24 * 0.5
    assert m("decode_tokens_per_s") > 0 and m("prefill_tokens_per_s") > 0
    assert m("model_weights_bytes") > 100e6 and m("peak_rss_bytes") > m("model_weights_bytes")
    assert m("load_time_s") > 0
    kinds = {e["type"] for e in events}
    assert {"loaded", "progress", "request", "telemetry"} <= kinds
    assert sum(e["type"] == "request" for e in events) == 8


def test_six_repetitions_give_a_95_ci_of_the_median_around_the_median(client: WorkerClient) -> None:
    result = client.run_trial(tiny(repetitions=6, num_requests=2, output_tokens=4))
    assert result.status == "ok", result.failure_message
    tput = result.metrics["output_tokens_per_s"]
    assert tput.n == 6 and tput.ci95_low <= tput.value <= tput.ci95_high
    assert tput.ci_label == MEDIAN_CI and "x(1), x(6) of 6" in tput.ci_method and "96.9%" in tput.ci_method


def test_telemetry_samples_have_the_shared_format(client: WorkerClient) -> None:
    result = client.run_trial(tiny(telemetry_hz=50.0, num_requests=2, repetitions=1, device="cpu"))
    assert result.status == "ok", result.failure_message
    assert len(result.telemetry) >= 2
    for s in result.telemetry:
        assert set(s) == SAMPLE_KEYS and s["gpus"] == []  # a CPU trial samples no GPU, whatever the machine has
        assert 0 < s["worker_rss_bytes"] and 0 < s["ram_used_bytes"] <= s["ram_total_bytes"]
    assert [s["t"] for s in result.telemetry] == sorted(s["t"] for s in result.telemetry)


def test_meters_report_what_this_machine_has_and_say_why_not(client: WorkerClient) -> None:
    events: list[dict[str, Any]] = []
    result = client.run_trial(tiny(num_requests=2, repetitions=1, idle_baseline_s=0.2, device="cpu",
                                   dtype="float32"), on_event=events.append)  # dtype: a fresh load
    assert result.status == "ok", result.failure_message
    for name in ("gpu_energy_j", "gpu_energy_net_j", "gpu_j_per_output_token", "peak_cuda_allocated_bytes",
                 "peak_gpu_memory_used_bytes"):
        meas = result.metrics[name]
        assert meas.status == "unavailable" and meas.value is None, name
        assert "CPU" in meas.method or "not run on CUDA" in meas.method, name
    cpu = result.metrics["cpu_energy_j"]
    if rapl_readable():  # pragma: no cover - bare metal with readable RAPL
        assert cpu.status in ("measured", "estimated") and cpu.value > 0
    else:
        assert cpu.status == "unavailable" and "RAPL" in cpu.method
        assert result.metrics["energy_j_per_output_token"].status == "unavailable"
    phases = [e["phase"] for e in events if e["type"] == "progress"]
    assert phases.index("idle") < phases.index("load")  # idle power is read before the model loads
    env = result.environment
    assert len(env["hardware"]["gpus"]) == (nvidia_gpu_count() or 0)
    assert "CUDA_VISIBLE_DEVICES" in env["hardware"] and env["devices"]["gpus"] == []
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


def test_torch_compile_without_warmup_is_refused_before_anything_runs(client: WorkerClient) -> None:
    with pytest.raises(ConfigError) as err:
        client.run_trial(tiny(torch_compile=True, warmup_requests=0))
    assert err.value.field == "warmup_requests" and "measured window" in str(err.value)
    with pytest.raises(ConfigError) as err:  # a smaller warm-up batch compiles another shape
        client.run_trial(tiny(torch_compile=True, warmup_requests=1, batch_size=2))
    assert err.value.field == "warmup_requests" and "batch_size (2)" in str(err.value)


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
    events: list[dict[str, Any]] = []
    result = client.run_trial(tiny(engine="hf-pipeline", num_requests=3, repetitions=1), on_event=events.append)
    assert result.status == "ok", result.failure_message
    assert result.value("output_tokens_total") == 3 * 6
    assert all(r.ttft_ms is not None and r.ttft_ms < r.e2e_ms for r in result.requests)
    assert len({r.start_s for r in result.requests}) == 2  # two pipeline batches (2 + 1)
    measured = [e for e in events if e["type"] == "progress" and e["phase"] == "measure"]
    assert [e["done"] for e in measured] == [2, 3]  # live progress after each batch, not once per repetition
    assert all(e["tokens_per_s"] > 0 for e in measured)


def test_hf_pipeline_counts_the_prompt_tokens_it_fed(client: WorkerClient, tmp_path: Path,
                                                     demo_model_dir: Path) -> None:
    from transformers import AutoTokenizer

    from engine.workloads import count_tokens

    # A final assistant message: the pipeline continues it (no generation prompt), unlike the workload's count.
    messages = [{"role": "user", "content": "Name a colour."}, {"role": "assistant", "content": "Blue"}]
    path = tmp_path / "continue.jsonl"
    path.write_text(json.dumps({"messages": messages}) + "\n")
    result = client.run_trial(tiny(engine="hf-pipeline", workload="jsonl", prompt_file=str(path), num_requests=2,
                                   repetitions=1))
    assert result.status == "ok", result.failure_message
    tokenizer = AutoTokenizer.from_pretrained(str(demo_model_dir))
    fed = tokenizer.apply_chat_template(messages, tokenize=False, continue_final_message=True)
    fed_tokens = len(tokenizer.encode(fed, add_special_tokens=False))
    assert fed_tokens != count_tokens(tokenizer, messages)
    assert [r.input_tokens for r in result.requests] == [fed_tokens, fed_tokens]
    assert result.value("input_tokens_total") == 2 * fed_tokens


def test_sample_outputs_are_kept_for_reading(client: WorkerClient) -> None:
    for engine in ("hf-generate", "hf-pipeline"):
        result = client.run_trial(tiny(engine=engine, workload="chat", num_requests=2, repetitions=1))
        assert result.status == "ok", result.failure_message
        assert len(result.sample_outputs) == 2 and all(isinstance(t, str) and t for t in result.sample_outputs)
