"""`inferlab doctor` through a real subprocess, on this machine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from app.envs.settings import EnvSettings, save_settings
from tests.hardware import nvidia_gpu_count

REPO = Path(__file__).resolve().parents[2]
# The full CLI routes `doctor` to app.envs.cli; until app/cli/main.py exists, call app.envs.cli itself.
ENTRY = ["-m", "app.main"] if (REPO / "app" / "cli" / "main.py").exists() else ["-m", "app.envs.cli"]


def doctor(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *ENTRY, "doctor", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=120, env=dict(os.environ))


def test_doctor_json_reports_every_first_run_check(data_dir: Path) -> None:
    done = doctor("--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] is True and report["data_dir"] == str(data_dir)
    statuses = {c["name"]: c["status"] for c in report["checks"]}
    gpus = nvidia_gpu_count() or 0  # the venv's torch is a CPU build: with a GPU, "python" warns of it
    assert statuses == {"gpu": "ok" if gpus else "warning", "python": "warning" if gpus else "ok",
                        "engine": "ok", "demo-model": "ok", "store": "ok"}
    engine = next(c for c in report["checks"] if c["name"] == "engine")
    assert "inferlab-engine-" in engine["summary"] and "hf-generate" in engine["summary"]
    assert len(report["nvml"]["gpus"]) == gpus
    if nvidia_gpu_count() is None:
        assert report["nvml"]["available"] is False and "NVML" in report["nvml"]["reason"]
    venv = next(e for e in report["environments"] if e["python"] == sys.executable)
    assert venv["can_host_engine"] and venv["packages"]["transformers"] and venv["torch_cuda_build"] == ""
    assert report["engine_python"] == sys.executable


def test_doctor_fails_and_says_how_to_fix_a_configured_env_that_cannot_run(data_dir: Path,
                                                                           bare_python: str) -> None:
    save_settings(EnvSettings(engine_python=bare_python))
    done = doctor()
    assert done.returncode == 1
    assert f"[error]    The chosen engine environment {bare_python} cannot run the engine" in done.stdout
    assert "fix: create one: python3 -m venv" in done.stdout
    assert f"does not run in {bare_python}" in done.stdout  # the engine file, run there, says what it lacks
    assert f"fix: {bare_python} -m pip install psutil platformdirs" in done.stdout
    assert "[ok]       Demo model SmolLM2-135M-Instruct is ready" in done.stdout
