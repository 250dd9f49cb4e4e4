"""Failures stay contained: cancel, a crashing backend, a killed or hung worker."""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from app.core import worker_client
from app.core.worker_client import WorkerClient
from engine.causes import FailureCause
from engine.results import TrialResult
from tests.engine.conftest import WORKER_ENV, tiny

LONG = {"num_requests": 200, "output_tokens": 64, "repetitions": 3, "batch_size": 1, "warmup_requests": 4}


def _run_in_thread(client: WorkerClient, config: dict[str, Any], started: threading.Event,
                   on: str = "loaded") -> tuple[threading.Thread, list[TrialResult]]:
    """Run a trial on a thread; `started` is set 0.5 s after the first message of type `on`."""
    box: list[TrialResult] = []

    def on_event(msg: dict[str, Any]) -> None:
        if msg["type"] == on and not started.is_set():  # after "loaded", warm-up generation starts
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
        thread, box = _run_in_thread(c, tiny(**LONG), started, on="telemetry")
        assert started.wait(120)
        os.kill(first_pid, signal.SIGKILL)  # not sent by the client: what the kernel's OOM killer does
        thread.join(30)
        assert box[0].status == "failed" and box[0].failure_cause == FailureCause.KILLED
        assert "did not send it" in (box[0].failure_message or "")
        evidence = dict(n.split(": ", 1) for n in box[0].notes if n.startswith("evidence."))
        oom = evidence["evidence.kernel_oom_message"]
        assert oom.startswith(("none found", "not readable: ")) and (str(first_pid) in oom or "not readable" in oom)
        rss = evidence["evidence.worker_rss_last_sample"]
        assert int(rss.split(" bytes")[0]) > 50e6, rss  # the demo model alone is ~270 MB
        assert box[0].telemetry  # the samples that arrived are kept on the result
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


def _frozen_mid_trial(c: WorkerClient, config: dict[str, Any]) -> tuple[threading.Thread, list[TrialResult]]:
    """Start a trial and freeze the worker (SIGSTOP) once it is generating: it answers nothing more."""
    started = threading.Event()
    thread, box = _run_in_thread(c, config, started)
    assert started.wait(120), "the trial never loaded its model"
    os.kill(c.hello["pid"] if c.hello else 0, signal.SIGSTOP)
    return thread, box


def test_a_cancel_the_frozen_worker_ignores_ends_in_a_client_kill_with_cause_cancelled(
        demo_model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(worker_client, "CANCEL_GRACE_S", 2.0)
    with WorkerClient(env=WORKER_ENV, heartbeat_timeout_s=120.0) as c:
        thread, box = _frozen_mid_trial(c, tiny(**LONG))
        c.cancel()
        thread.join(30)
        assert box[0].status == "cancelled" and box[0].failure_cause == FailureCause.CANCELLED
        assert "the client ended it (signal 9)" in (box[0].failure_message or "")
        assert not any(n.startswith("evidence.") for n in box[0].notes)


def test_a_trial_the_client_kills_past_its_deadline_says_timeout(demo_model_dir: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(worker_client, "TIMEOUT_GRACE_S", 0.0)
    with WorkerClient(env=WORKER_ENV, heartbeat_timeout_s=120.0) as c:
        os.kill(c.hello["pid"] if c.hello else 0, signal.SIGSTOP)  # frozen: its own timeout never fires
        result = c.run_trial(tiny(timeout_s=2.0))
        assert result.status == "failed" and result.failure_cause == FailureCause.TIMEOUT
        assert "the client killed it" in (result.failure_message or "")


def test_a_worker_the_client_shuts_down_mid_trial_is_cancelled_not_blamed_on_the_oom_killer(
        demo_model_dir: Path) -> None:
    with WorkerClient(env=WORKER_ENV, heartbeat_timeout_s=120.0) as c:
        thread, box = _frozen_mid_trial(c, tiny(**LONG))
        c.close()  # shutdown is not answered: terminate, then SIGKILL from the client
        thread.join(30)
        assert box[0].status == "cancelled" and box[0].failure_cause == FailureCause.CANCELLED
        assert "OOM" not in (box[0].failure_message or "")
