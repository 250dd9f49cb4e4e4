"""Failures stay contained: cancel, a crashing backend, a killed or hung worker."""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time
from pathlib import Path
from typing import Any

from app.core.worker_client import WorkerClient
from engine.results import TrialResult
from tests.engine.conftest import WORKER_ENV, tiny

LONG = {"num_requests": 200, "output_tokens": 64, "repetitions": 3, "batch_size": 1, "warmup_requests": 4}


def _run_in_thread(client: WorkerClient, config: dict[str, Any], started: threading.Event
                   ) -> tuple[threading.Thread, list[TrialResult]]:
    box: list[TrialResult] = []

    def on_event(msg: dict[str, Any]) -> None:
        if msg["type"] == "loaded":  # warm-up generation starts right after
            threading.Timer(0.5, started.set).start()

    thread = threading.Thread(target=lambda: box.append(client.run_trial(config, on_event=on_event)))
    thread.start()
    return thread, box


def test_cancel_stops_within_two_seconds_and_worker_stays_usable(client: WorkerClient) -> None:
    pid = client.hello["pid"] if client.hello else None
    started = threading.Event()
    thread, box = _run_in_thread(client, tiny(**LONG), started)
    assert started.wait(120), "the trial never loaded its model"
    t = time.monotonic()
    client.cancel()
    thread.join(30)
    elapsed = time.monotonic() - t
    assert box and box[0].status == "cancelled" and box[0].failure_cause == "cancelled"
    assert elapsed < 2.0, f"cancel took {elapsed:.2f} s"
    after = client.run_trial(tiny(num_requests=2, repetitions=1))
    assert after.status == "ok" and client.hello and client.hello["pid"] == pid


def test_exception_inside_backend_is_a_structured_crash(client: WorkerClient, tmp_path: Path,
                                                        demo_model_dir: Path) -> None:
    broken = tmp_path / "broken-model"
    shutil.copytree(demo_model_dir, broken)
    (broken / "model.safetensors").write_bytes(b"\x00" * 64)  # weights file torn mid-copy
    result = client.run_trial(tiny(model=str(broken)))
    assert result.status == "failed" and result.failure_cause == "crash"
    assert result.failure_message and "Error" in result.failure_message
    assert client.alive and client.run_trial(tiny(num_requests=2, repetitions=1)).status == "ok"


def test_worker_killed_mid_trial_is_reported_and_next_trial_restarts_it(demo_model_dir: Path) -> None:
    with WorkerClient(env=WORKER_ENV) as c:
        first_pid = c.hello["pid"] if c.hello else 0
        started = threading.Event()
        thread, box = _run_in_thread(c, tiny(**LONG), started)
        assert started.wait(120)
        os.kill(first_pid, signal.SIGKILL)
        thread.join(30)
        assert box[0].status == "failed" and box[0].failure_cause == "worker-exit"
        assert "signal 9" in (box[0].failure_message or "")
        again = c.run_trial(tiny(num_requests=2, repetitions=1))
        assert again.status == "ok" and c.hello and c.hello["pid"] != first_pid


def test_hung_worker_is_detected_by_heartbeat(demo_model_dir: Path) -> None:
    with WorkerClient(env=WORKER_ENV, heartbeat_timeout_s=3.0) as c:
        pid = c.hello["pid"] if c.hello else 0
        started = threading.Event()
        thread, box = _run_in_thread(c, tiny(**LONG), started)
        assert started.wait(120)
        os.kill(pid, signal.SIGSTOP)  # frozen: no heartbeat, no output
        thread.join(30)
        assert box[0].status == "failed" and box[0].failure_cause == "heartbeat-lost"
        assert not c.alive


def test_trial_past_its_timeout_fails_with_cause_timeout(client: WorkerClient) -> None:
    result = client.run_trial(tiny(**{**LONG, "timeout_s": 1.0}))
    assert result.status == "failed" and result.failure_cause == "timeout"
    assert client.alive and client.run_trial(tiny(num_requests=2, repetitions=1)).status == "ok"
