"""bench/gpu_check.sh, the GPU check kit, runs end to end as a CPU dry run (tiny random-weight models
built from the carried configs, real worker, real store) so that it never rots between GPU visits."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_cpu_dry_run_stores_every_trial_and_skips_every_gpu_check_with_the_reason(tmp_path: Path) -> None:
    env = {**os.environ, "INFERLAB_PYTHON": sys.executable, "INFERLAB_NUM_THREADS": "1"}
    done = subprocess.run(["bash", str(ROOT / "bench" / "gpu_check.sh"), str(tmp_path / "out"), "--cpu"],
                          capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads((tmp_path / "out" / "gpu_check.json").read_text())
    assert report["failed"] is False and report["machine"]["gpu"] is False
    statuses = {c["status"] for c in report["checks"]}  # on a GPU machine --cpu says so instead
    assert statuses in ({"pass", "skipped: no NVIDIA GPU"}, {"pass", "skipped: CPU dry run (--cpu)"}), statuses
    trials = report["trials"]
    assert len(trials) == 7 and {t["status"] for t in trials} == {"ok"}
    assert {t["config"]["dtype"] for t in trials} == {"bfloat16", "float16"}
    assert {t["config"]["cache_implementation"] for t in trials} == {"static", "dynamic"}
    assert all(t["output_tokens"] == t["config"]["num_requests"] * 6 for t in trials)  # counted from the store
    assert {c["name"].rpartition(": ")[2] for c in report["checks"] if c["status"] != "pass"} >= {
        "GPU checks", "GPUs read are the GPUs used"}
    axis = report["gpu_axis_trials"]  # num_gpus=1 runs (on the CPU here); 2 is reported as not tried
    assert [(t["config"]["num_gpus"], t["status"]) for t in axis] == [(1, "ok")]
    assert [c["status"] for c in report["checks"] if c["name"] == "GPU axis: hf-generate with num_gpus=2"] in (
        ["skipped: no NVIDIA GPU"], ["skipped: CPU dry run (--cpu)"])
    assert (tmp_path / "out" / "store.db").stat().st_size > 0
    assert "InferLab GPU check" in (tmp_path / "out" / "gpu_check.html").read_text()
