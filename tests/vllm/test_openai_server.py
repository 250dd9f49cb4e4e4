"""The `openai` backend against a real `vllm serve` of the demo model on 127.0.0.1 (random free port).

The server is module-scoped; the last test kills it mid-run (so it runs last in this file).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.core.worker_client import WorkerClient
from engine.backends.openai.load import poisson_offsets_s
from engine.errors import ConfigError
from tests.vllm.vllm_procs import free_port, kill_group, start_vllm_server, stop_server

pytestmark = [pytest.mark.vllm, pytest.mark.slow]

BASE = {
    "engine": "openai", "model": "demo", "input_tokens": 32, "output_tokens": 8, "batch_size": 4,
    "num_requests": 8, "warmup_requests": 2, "repetitions": 1, "temperature": 0.0, "ignore_eos": True,
    "idle_baseline_s": 0.0, "telemetry_hz": 2.0, "request_timeout_s": 60.0, "timeout_s": 600.0,
    "api_key_env": "INFERLAB_TEST_KEY",
}
SECRET = "sk-inferlab-test-secret-123"


@pytest.fixture(scope="module")
def server(demo_model_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    port = free_port()
    proc = start_vllm_server(demo_model_dir, port, tmp_path_factory.mktemp("serve") / "vllm-serve.log",
                             api_key=SECRET)
    yield proc, f"http://127.0.0.1:{port}/v1"
    stop_server(proc)


@pytest.fixture(scope="module")
def worker():
    client = WorkerClient(heartbeat_timeout_s=120.0, env={"INFERLAB_TEST_KEY": SECRET})
    client.start(timeout_s=180)
    yield client
    client.close()


def run(worker: WorkerClient, url: str, **options):
    events: list[dict] = []
    result = worker.run_trial({**BASE, "base_url": url, **options}, on_event=events.append)
    return result, events


def test_streamed_completions_are_timed_per_request(worker: WorkerClient, server) -> None:
    _, url = server
    result, _ = run(worker, url)
    assert result.status == "ok", result.failure_message
    assert len(result.requests) == BASE["num_requests"]
    for r in result.requests:
        assert r.ok, r.error
        assert r.output_tokens == BASE["output_tokens"]
        assert r.input_tokens == BASE["input_tokens"]
        assert r.start_s < r.first_token_s <= r.end_s
    assert result.metrics["itl_ms_p50"].status == "measured"
    assert result.value("usage_reported_requests") == BASE["num_requests"]
    assert result.metrics["peak_rss_bytes"].status == "unavailable"
    assert any("server is local" in n for n in result.notes)
    assert any("INFERLAB_TEST_KEY" in n for n in result.notes)
    assert SECRET not in repr(result.to_dict())


def test_e2e_ends_at_the_last_content_event_not_at_done(worker: WorkerClient, server) -> None:
    _, url = server
    result, _ = run(worker, url, num_requests=1, warmup_requests=0)
    assert result.status == "ok", result.failure_message
    (r,) = result.requests
    itl = result.metrics["itl_ms_mean"]
    # e2e = TTFT + every gap between text-carrying events: nothing after the last one ([DONE], usage) is timed
    assert itl.n == BASE["output_tokens"] - 1
    assert abs(r.e2e_ms - r.ttft_ms - itl.value * itl.n) < 1e-3
    assert "[DONE]" in result.metrics["e2e_ms_p50"].method


def test_missing_api_key_is_refused_by_the_server_and_never_stored(worker: WorkerClient, server) -> None:
    _, url = server
    no_key = {"api_key_env": "INFERLAB_UNSET_KEY_VAR"}
    loaded, _ = run(worker, url, num_requests=2, warmup_requests=0)
    assert loaded.status == "ok", loaded.failure_message
    # Same server as the loaded trial: every request is sent without the key and recorded as failed.
    reused, _ = run(worker, url, **no_key)
    assert reused.status == "ok"
    assert reused.requests and all(not r.ok and "HTTP 401" in r.error for r in reused.requests)
    assert reused.value("failed_requests") == len(reused.requests)
    # A new base_url (a load option) checks the server afresh: GET /models answers 401.
    fresh, _ = run(worker, url.replace("127.0.0.1", "localhost"), **no_key)
    assert fresh.status == "failed" and fresh.failure_cause == "unsupported"
    assert "401" in fresh.failure_message
    assert SECRET not in repr(fresh.to_dict()) + repr(reused.to_dict())


def test_chat_completions_stream_with_the_chat_template(worker: WorkerClient, server) -> None:
    _, url = server
    result, _ = run(worker, url, endpoint="chat", workload="chat")
    assert result.status == "ok", result.failure_message
    assert all(r.ok and r.output_tokens == BASE["output_tokens"] for r in result.requests)
    assert all(r.ttft_ms is not None and r.ttft_ms <= r.e2e_ms for r in result.requests)


def test_fixed_concurrency_keeps_batch_size_requests_in_flight(worker: WorkerClient, server) -> None:
    _, url = server
    result, _ = run(worker, url, batch_size=2, num_requests=6, warmup_requests=0)
    assert result.status == "ok", result.failure_message
    records = sorted(result.requests, key=lambda r: r.start_s)
    for r in records:
        in_flight = sum(1 for o in records if o.start_s <= r.start_s < o.end_s)
        assert in_flight <= 2


def test_poisson_arrivals_follow_the_seeded_schedule(worker: WorkerClient, server) -> None:
    _, url = server
    rate = 4.0
    result, _ = run(worker, url, load_shape="rate", request_rate=rate, num_requests=6, warmup_requests=0)
    assert result.status == "ok", result.failure_message
    starts = sorted(r.start_s for r in result.requests)
    expected = poisson_offsets_s(6, rate, BASE.get("seed", 0) * 1000 + 1)
    for got, want in zip([s - starts[0] for s in starts], expected, strict=True):
        assert abs(got - want) < 0.25
    assert poisson_offsets_s(6, rate, 1) == poisson_offsets_s(6, rate, 1) != poisson_offsets_s(6, rate, 2)


def test_unreachable_server_is_refused_with_the_url(worker: WorkerClient) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    result, _ = run(worker, url)
    assert result.status == "failed" and result.failure_cause == "unsupported"
    assert "base_url" in result.failure_message and url in result.failure_message


def test_server_options_and_unresolvable_tokenizer_are_refused(worker: WorkerClient, server) -> None:
    _, url = server
    with pytest.raises(ConfigError) as err:  # refused before anything runs, as the form refuses it
        run(worker, url, quantization="int8-weight")
    assert err.value.field == "quantization" and "decided by the server" in err.value.message
    result, _ = run(worker, url, model=str(Path(os.sep, "no", "such", "model")))
    assert result.status == "failed" and "model" in result.failure_message


def test_server_killed_mid_run_records_failed_requests_and_keeps_the_result(worker: WorkerClient, server) -> None:
    proc, url = server
    killed: list[bool] = []

    def kill_after_two(event: dict) -> None:
        if event["type"] == "progress" and event["phase"] == "measure" and event["done"] >= 2 and not killed:
            kill_group(proc)
            killed.append(True)

    result = worker.run_trial({**BASE, "base_url": url, "num_requests": 12, "batch_size": 2,
                               "output_tokens": 32, "warmup_requests": 0}, on_event=kill_after_two)
    assert killed and proc.poll() is not None
    assert result.status == "ok", result.failure_message
    assert len(result.requests) == 12
    ok = [r for r in result.requests if r.ok]
    failed = [r for r in result.requests if not r.ok]
    assert len(ok) >= 2 and failed
    assert all(r.error for r in failed)
    assert any("Connect" in r.error or "closed" in r.error or "Protocol" in r.error or "Read" in r.error
               for r in failed)
    assert result.value("failed_requests") == len(failed)
    assert worker.alive
