"""The `vllm` backend on the real demo model, driven through a real worker process (WorkerClient).

One worker serves the module; its engines are created at most twice (plain, then ngram speculative), so
the module stays within a few minutes on two cores. Refusals are checked before any engine loads.
"""

from __future__ import annotations

import threading
from pathlib import Path

import psutil
import pytest

from app.core.worker_client import WorkerClient
from app.store.store import Store
from engine.config import TrialConfig
from engine.errors import UnsupportedError
from tests.vllm.vllm_procs import KV_CACHE_BYTES, tree, tree_rss_bytes

pytestmark = [pytest.mark.vllm, pytest.mark.slow]

BASE = {
    "engine": "vllm", "model": "demo", "input_tokens": 32, "output_tokens": 8, "batch_size": 4,
    "num_requests": 8, "warmup_requests": 2, "repetitions": 1, "temperature": 0.0, "ignore_eos": True,
    "enforce_eager": True, "kv_cache_memory_bytes": KV_CACHE_BYTES, "max_model_len": 512, "max_num_seqs": 16,
    "idle_baseline_s": 0.0, "telemetry_hz": 2.0, "timeout_s": 600.0,
}


@pytest.fixture(scope="module")
def worker(demo_model_dir: Path):
    client = WorkerClient(heartbeat_timeout_s=120.0)
    client.start(timeout_s=180)
    yield client
    client.close()


@pytest.fixture(scope="module")
def first_trial(worker: WorkerClient):
    events: list[dict] = []
    result = worker.run_trial(BASE, on_event=events.append)
    assert result.status == "ok", result.failure_message
    return result, events


def test_worker_reports_vllm_available(worker: WorkerClient) -> None:
    vllm = worker.hello["backends"]["vllm"]
    assert vllm["available"], vllm["reason"]
    assert "0.32" in vllm["reason"]


def test_trial_counts_tokens_and_times_every_request(first_trial) -> None:
    result, _ = first_trial
    assert len(result.requests) == BASE["num_requests"]
    for record in result.requests:
        assert record.ok
        assert record.input_tokens == BASE["input_tokens"]
        assert record.output_tokens == BASE["output_tokens"]
        assert record.first_token_s is not None
        assert record.start_s <= record.first_token_s <= record.end_s
        assert 0 < record.ttft_ms <= record.e2e_ms
    assert result.value("output_tokens_total") == BASE["num_requests"] * BASE["output_tokens"]
    assert result.value("output_tokens_per_s") > 0
    assert result.metrics["itl_ms_p50"].status == "unavailable"  # offline vLLM exposes no per-token times
    assert any("first_token_ts" in note for note in result.notes)


def test_each_completion_is_one_record_and_times_come_from_the_engine_core(worker: WorkerClient, first_trial,
                                                                           tmp_path: Path) -> None:
    # n = 2 completions per prompt: two records per request, each with its own token count (TPOT per token)
    result = worker.run_trial({**BASE, "n": 2, "temperature": 0.8, "warmup_requests": 0, "num_requests": 4})
    assert result.status == "ok", result.failure_message
    assert len(result.requests) == 2 * 4
    assert all(r.output_tokens == BASE["output_tokens"] for r in result.requests)
    assert sorted(r.index for r in result.requests) == list(range(8))  # request index × n + completion index
    assert result.value("output_tokens_total") == 2 * 4 * BASE["output_tokens"]
    store = Store(f"sqlite:///{tmp_path / 'runs.db'}")  # every completion's record is kept
    assert len(store.get_run(store.add_run(result)).requests) == 2 * 4
    # first and last token are both engine-core stamps: a one-token request ends at its first token
    one = worker.run_trial({**BASE, "output_tokens": 1, "warmup_requests": 0, "num_requests": 4})
    assert one.status == "ok", one.failure_message
    assert all(r.end_s == r.first_token_s and r.ttft_ms == r.e2e_ms for r in one.requests)
    assert "last_token_ts" in one.metrics["e2e_ms_p50"].method


def test_batch_median_throughput_is_per_engine_call(first_trial) -> None:
    result, _ = first_trial
    m = result.metrics["batch_median_output_tokens_per_s"]
    assert m.status == "measured" and m.n == 2 and "median over 2 batches" in m.method  # 8 requests, batches of 4
    window = result.value("output_tokens_per_s")
    assert window is not None and m.value is not None and 0.5 * window < m.value < 3 * window


def test_queue_and_prefill_times_come_from_vllm_scheduling_stamps(first_trial) -> None:
    result, _ = first_trial
    for name in ("queue_ms_p50", "prefill_ms_p50"):
        m = result.metrics[name]
        assert m.status == "measured" and m.n == BASE["num_requests"] and m.value >= 0, name
        assert "scheduled_ts" in m.method
    # queued and scheduled after the worker sent the request: neither phase exceeds the slowest TTFT
    assert max(result.value("prefill_ms_max"), result.value("queue_ms_max")) <= result.value("ttft_ms_max")


def test_effective_engine_settings_are_read_back(first_trial) -> None:
    result, _ = first_trial
    runtime = result.environment["runtime"]
    assert runtime["max_num_seqs"] == BASE["max_num_seqs"]
    assert runtime["max_model_len"] == BASE["max_model_len"]
    assert runtime["enable_prefix_caching"] is False
    assert runtime["enforce_eager"] is True
    assert runtime["kv_cache_memory_bytes"] == KV_CACHE_BYTES
    assert runtime["kv_cache_tokens"] > BASE["max_model_len"]
    assert isinstance(runtime["max_num_batched_tokens"], int)
    assert isinstance(runtime["enable_chunked_prefill"], bool)
    assert runtime["dtype"] in ("bfloat16", "float32", "float16")


@pytest.mark.parametrize(("option", "value", "reason"), [
    ("num_gpus", 2, "CPU platform"),
    ("device", "cuda", "CPU platform"),
    ("kv_cache_dtype", "bfloat16", "CPU attention backend"),
    ("quantization", "bnb-4bit", "bitsandbytes"),
    ("speculative", "eagle", "EAGLE"),
    ("max_model_len", 32, "exceeds max_model_len"),
])
def test_unsupported_options_are_refused_before_loading(worker: WorkerClient, option: str, value: object,
                                                        reason: str) -> None:
    events: list[dict] = []
    result = worker.run_trial({**BASE, option: value}, on_event=events.append)
    assert result.status == "failed" and result.failure_cause == "unsupported"
    assert result.failure_message.startswith(f"{option}: ")
    assert reason in result.failure_message
    assert not [e for e in events if e["type"] == "loaded"]


def test_engine_argument_unknown_to_this_vllm_is_refused() -> None:
    from engine.backends.vllm import engine_args

    with pytest.raises(UnsupportedError) as err:
        engine_args._check_known({"model": "x", "no_such_engine_arg": 1})
    assert err.value.field == "no_such_engine_arg"


def test_same_load_key_reuses_the_engine(worker: WorkerClient, first_trial) -> None:
    children_before = {p.pid for p in tree(worker.hello["pid"])[1:]}
    events: list[dict] = []
    # Sampling (temperature > 0) on the same engine: runtime options do not reload it.
    result = worker.run_trial({**BASE, "batch_size": 8, "num_requests": 8, "temperature": 0.8},
                              on_event=events.append)
    assert result.status == "ok", result.failure_message
    assert all(r.ok and r.output_tokens == BASE["output_tokens"] for r in result.requests)
    loaded = [e for e in events if e["type"] == "loaded"]
    assert loaded and loaded[0]["reused"] is True
    assert result.metrics["load_time_s"].status == "unavailable"
    assert {p.pid for p in tree(worker.hello["pid"])[1:]} == children_before


def test_cancel_stops_a_running_trial_and_the_engine_stays_usable(worker: WorkerClient, first_trial) -> None:
    def cancel_on_first_measure(event: dict) -> None:
        if event["type"] == "progress" and event["phase"] == "measure" and event["done"] >= 1:
            worker.cancel()

    long = {**BASE, "output_tokens": 256, "num_requests": 16, "batch_size": 2, "warmup_requests": 0}
    result = worker.run_trial(long, on_event=cancel_on_first_measure)
    assert result.status == "cancelled" and result.failure_cause == "cancelled"
    assert worker.alive
    again = worker.run_trial({**BASE, "warmup_requests": 0, "num_requests": 4})
    assert again.status == "ok", again.failure_message
    assert again.value("output_tokens_total") == 4 * BASE["output_tokens"]


def test_new_load_key_restarts_the_engine_without_leaks_and_ngram_speculation_reports_acceptance(
        worker: WorkerClient, first_trial) -> None:
    worker_pid = worker.hello["pid"]
    old_children = _engine_processes(worker_pid)
    assert old_children, "vLLM's engine core runs in child processes of the worker"
    rss_before = tree_rss_bytes(worker_pid)
    spec = {**BASE, "speculative": "ngram", "num_speculative_tokens": 3, "prompt_lookup_max": 3,
            "workload": "chat", "input_tokens": 64, "output_tokens": 24}
    result = worker.run_trial(spec)
    assert result.status == "ok", result.failure_message
    assert result.metrics["load_time_s"].status == "measured"
    assert result.environment["runtime"]["speculative_method"] == "ngram"
    assert not [p for p in old_children if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert len(_engine_processes(worker_pid)) == len(old_children)
    assert tree_rss_bytes(worker_pid) < 1.5 * rss_before
    rate = result.metrics["spec_acceptance_rate"]
    accepted = result.metrics["spec_mean_accepted_tokens"]
    if rate.status == "measured":
        assert 0.0 <= rate.value <= 1.0
        assert 0.0 <= accepted.value <= 3.0
        assert "aggregate" in rate.method
    else:
        assert "proposed no draft tokens" in rate.method
    assert all(r.output_tokens == 24 for r in result.requests)


def _engine_processes(worker_pid: int) -> list[psutil.Process]:
    """The worker's vLLM children (engine core, executor workers), not multiprocessing's resource
    tracker, which is started once per worker and shared by every engine."""
    return [p for p in tree(worker_pid)[1:] if "resource_tracker" not in " ".join(p.cmdline())]


def test_unload_is_idempotent_and_a_set_cancel_stops_before_the_engine_is_called() -> None:
    from engine.backends.base import Request
    from engine.backends.vllm.backend import Backend
    from engine.errors import CancelledError

    backend = Backend(TrialConfig.from_flat(BASE))  # never loaded: run must stop before touching the engine
    backend.unload()
    backend.unload()
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(CancelledError):
        backend.run(backend.config, [Request(0, "hi", 1, 4)], 0, 0.0, cancel, lambda n: None)
