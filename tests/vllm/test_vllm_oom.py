"""A real vLLM out-of-memory failure in a real sweep is an outcome (cause `oom`), not a crash.

vLLM's engine core runs in a child process; when it runs out of memory the worker only hears "Engine core
initialization failed. See root cause above". Here the CPU engine core is asked for a 1 TiB KV cache (far
above any test machine's RAM): after loading the weights it refuses with "Available memory on node 0 ... is
less than requested memory for kv". The next trial of the same sweep (a 256 MiB KV cache) runs in the same
worker. Two engine loads in all.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from app.store import Store
from app.sweeps import parse_profile, run_profile
from app.sweeps.planning import plan_grid
from tests.vllm.vllm_procs import KV_CACHE_BYTES

pytestmark = [pytest.mark.vllm, pytest.mark.slow]

TOO_BIG = 1 << 40  # 1 TiB

PROFILE = f"""\
name = "vllm-oom"
engine = "vllm"
model = "demo"
repetitions = 1

[options]
input_tokens = 16
output_tokens = 4
batch_size = 2
num_requests = 2
warmup_requests = 0
ignore_eos = true
enforce_eager = true
max_model_len = 256
max_num_seqs = 4
idle_baseline_s = 0.0
telemetry_hz = 2.0
timeout_s = 600.0

[axes]
kv_cache_memory_bytes = [{TOO_BIG}, {KV_CACHE_BYTES}]
"""


def test_a_vllm_engine_core_out_of_memory_is_oom_with_its_root_cause_and_the_sweep_goes_on(
        data_dir: Path, tmp_path: Path) -> None:
    profile = parse_profile(PROFILE, "vllm-oom.toml")
    assert [c["kv_cache_memory_bytes"] for c in plan_grid(profile)] == [TOO_BIG, KV_CACHE_BYTES]
    with Store(f"sqlite:///{tmp_path / 'store.db'}") as store:
        sweep_id = run_profile(profile, store)
        runs = store.list_runs(sweep_id=sweep_id, sort="id")
        assert [(r.config["kv_cache_memory_bytes"], r.status, r.failure_cause) for r in runs] == [
            (TOO_BIG, "failed", "oom"), (KV_CACHE_BYTES, "ok", None)], [r.failure_message for r in runs]
        failed, ok = store.get_runs([r.id for r in runs])
    root_cause = "is less than requested memory for kv"
    assert "engine core ran out of memory" in (failed.summary.failure_message or "")
    assert root_cause in (failed.summary.failure_message or "")
    evidence = [n for n in failed.notes_list if n.startswith("out-of-memory evidence: ")]
    assert evidence and all(root_cause in n for n in evidence), failed.notes_list
    assert ok.summary.value("output_tokens_total") == 2 * 4
