"""CLI conventions in real `inferlab` subprocesses on the real demo model and a real SQLite store:
--version, `gui` in --help, help on every flag, a one-shot run without a profile, --set on sweep,
-o/--output written in one step (refused by suffix before any work), INFERLAB_ENGINE_PYTHON."""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli.main import build_parser

REPO = Path(__file__).resolve().parents[2]
TINY = ["device=cpu", "input_tokens=8", "output_tokens=2", "num_requests=2", "warmup_requests=0",
        "idle_baseline_s=0.0", "repetitions=1"]


def inferlab(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app.main", *args], cwd=REPO, text=True, capture_output=True,
                          timeout=600, env={**os.environ, **(env or {})})


def _sets(items: list[str]) -> list[str]:
    return [arg for item in items for arg in ("--set", item)]


def test_version_help_lists_gui_and_every_flag_has_help() -> None:
    version = inferlab("--version")
    assert version.returncode == 0 and version.stdout.strip() == "inferlab 0.1.0"
    helped = inferlab("--help")
    assert helped.returncode == 0 and "gui" in helped.stdout and "start the desktop app" in helped.stdout
    for command in ("run", "sweep"):
        text = inferlab(command, "--help").stdout
        assert "-o FILE, --output FILE" in text and "--set KEY=VALUE" in text and "INFERLAB_ENGINE_PYTHON" in text

    def bare(parser: argparse.ArgumentParser, name: str) -> list[str]:
        found = []
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub, subparser in action.choices.items():
                    found += bare(subparser, f"{name} {sub}")
            elif not action.help:
                found.append(f"{name} {action.option_strings or action.dest}")
        return found

    assert bare(build_parser(), "inferlab") == []


def test_bad_output_suffix_and_a_half_one_shot_are_refused_before_any_work(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    refused = inferlab("run", "--engine", "hf-generate", "--model", "demo", *_sets(TINY), "-o",
                       str(tmp_path / "out.docx"), "--store", f"sqlite:///{db}")
    assert refused.returncode == 2 and "-o/--output: cannot tell the format from 'out.docx'" in refused.stderr
    half = inferlab("run", "--engine", "hf-generate", "--store", f"sqlite:///{db}")
    assert half.returncode == 2 and "--engine and --model" in half.stderr
    both = inferlab("run", "cpu-smoke", "--model", "demo", "--store", f"sqlite:///{db}")
    assert both.returncode == 2 and "only without a PROFILE" in both.stderr
    assert not db.exists()


@pytest.mark.slow
def test_one_shot_run_writes_json_and_a_sweep_with_set_writes_csv(tmp_path: Path, data_dir: Path) -> None:
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    out_json = tmp_path / "one.json"
    run = inferlab("run", "--engine", "hf-generate", "--model", "demo", "--set", "batch_size=2", *_sets(TINY),
                   "-o", str(out_json), "--store", url)
    assert run.returncode == 0, run.stderr
    assert f"wrote {out_json} (json, 1 run(s))" in run.stderr
    written = json.loads(out_json.read_text())
    assert "output_tokens_per_s" in json.dumps(written) and '"batch_size": 2' in json.dumps(written)

    out_csv = tmp_path / "sweep.csv"
    sweep = inferlab("sweep", "cpu-smoke", "--set", "batch_size=1", "--set", "output_tokens=2", "-o",
                     str(out_csv), "--store", url, "--json")
    assert sweep.returncode == 0, sweep.stderr
    runs = json.loads(sweep.stdout)["runs"]
    assert len(runs) == 1 and runs[0]["config"]["batch_size"] == 1  # the axis was fixed by --set
    rows = list(csv.reader(out_csv.open()))
    assert len(rows) >= 2 and any("output_tokens_per_s" in cell for cell in rows[0] + rows[1])


def test_engine_python_comes_from_the_environment_variable(tmp_path: Path, bare_python: str,
                                                           data_dir: Path) -> None:
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    run = inferlab("run", "--engine", "hf-generate", "--model", "demo", *_sets(TINY), "--store", url, "--json",
                   env={"INFERLAB_ENGINE_PYTHON": bare_python})
    assert run.returncode == 1 and "failed (worker-exit)" in run.stderr
    shown = json.loads(inferlab("show", "1", "--json", "--store", url).stdout)
    # The bare interpreter (no psutil) hosted the worker, not this test's Python: the engine names what it lacks.
    message = shown["summary"]["failure_message"]
    assert bare_python in message and "-m pip install psutil platformdirs" in message
