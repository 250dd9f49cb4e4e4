"""`inferlab runs` / `show` on a real SQLite store, and the CLI's usage-error exit code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli.main import main
from app.store import Store
from engine.results import Measurement, Summary, TrialResult


@pytest.fixture()
def filled_store(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    with Store(url) as store:
        sweep = store.create_sweep("s", {}, "grid")
        for i, engine in enumerate(["hf-generate", "vllm", "hf-generate"]):
            store.add_run(TrialResult(f"t{i}", {"engine": engine, "model": "demo", "batch_size": i + 1}, "ok",
                                      {"output_tokens_per_s": Measurement.measured(10.0 * (i + 1), "tok/s", "m")}),
                          sweep_id=sweep, tags=["cpu"] if i == 2 else ())
        store.add_run(TrialResult("bad", {"engine": "vllm", "model": "/nope"}, "failed",
                                  failure_cause="invalid-config", failure_message="model: no such folder"))
    return url


def test_runs_lists_and_filters_as_json(filled_store: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["runs", "--store", filled_store, "--json", "--engine", "hf-generate"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["config"]["batch_size"] for r in rows] == [3, 1]
    assert rows[0]["metrics"]["output_tokens_per_s"]["value"] == 30.0
    assert main(["runs", "--store", filled_store, "--json", "--status", "failed"]) == 0
    failed = json.loads(capsys.readouterr().out)
    assert [(r["failure_cause"], r["model"]) for r in failed] == [("invalid-config", "/nope")]
    assert main(["runs", "--store", filled_store, "--json", "--tag", "cpu", "--limit", "5"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 1
    assert main(["runs", "--store", filled_store, "--json", "--sort=-output_tokens_per_s", "--limit", "1"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["config"]["batch_size"] == 3


def test_runs_table_and_show(filled_store: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["runs", "--store", filled_store, "--sweep", "1"]) == 0
    out = capsys.readouterr().out
    assert "output_tokens_per_s [tok/s]" in out and out.count("hf-generate") == 2
    assert main(["show", "1", "--store", filled_store]) == 0
    assert "batch_size = 1" in capsys.readouterr().out
    assert main(["show", "4", "--store", filled_store, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["summary"]["failure_message"] == "model: no such folder"


def test_usage_and_profile_errors_exit_2(filled_store: str, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", "999", "--store", filled_store]) == 2
    assert "no run 999" in capsys.readouterr().err
    assert main(["runs", "--bogus"]) == 2
    bad = tmp_path / "bad.toml"
    bad.write_text('engine = "hf-generate"\n\n[options]\nbatch_size = -1\n')
    assert main(["sweep", str(bad), "--store", filled_store]) == 2
    assert f"{bad}:4: options.batch_size" in capsys.readouterr().err
    assert main(["run", "cpu-smoke", "--store", filled_store]) == 2  # a shipped profile, found by name
    assert "sweeps batch_size" in capsys.readouterr().err
    assert main(["run", "cpu-smoke", "--set", "batch_size=0", "--store", filled_store]) == 2
    assert "batch_size" in capsys.readouterr().err
    assert main(["--help"]) == 0
    assert "130  interrupted" in capsys.readouterr().out


def test_show_says_what_the_interval_is_and_flags_unsupported_percentiles(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'stats.db'}"
    with Store(url) as store:
        store.add_run(TrialResult("t", {"engine": "hf-generate", "model": "demo"}, "ok", {
            "output_tokens_per_s": Measurement.from_repetitions([9.0, 10.0, 10.5, 11.0, 12.0, 30.0], "tok/s", "m"),
            "ttft_ms_p99": Summary.from_values([5.0] * 4 + [6.0] * 4).as_measurements("ttft_ms", "ms", "s")[
                "ttft_ms_p99"]}))
    assert main(["show", "1", "--store", url]) == 0
    out = capsys.readouterr().out
    assert "9..30" in out and "95% CI of the median (distribution-free order statistics, binomial)" in out
    assert "n=8 (2 distinct); too few samples for p99: 8 values, 2 distinct; needs at least 100 distinct" in out


def test_runs_where_filters_on_environment_fields_and_refuses_an_unknown_key(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'env.db'}"
    gpus = {"gpus": [{"index": 0, "uuid": "GPU-0", "pci_bus_id": "0", "name": "NVIDIA H200"}], "how": "", "reason": ""}
    with Store(url) as store:
        for i, env in enumerate([{"host": "box-a", "devices": gpus}, {"host": "box-b", "devices": gpus},
                                 {"host": "box-a", "devices": {"gpus": [], "how": "", "reason": "cpu"}}]):
            store.add_run(TrialResult(f"t{i}", {"engine": "hf-generate", "model": "demo", "batch_size": i + 1}, "ok",
                                      environment=env))
    assert main(["runs", "--store", url, "--json", "--where", "gpu_name=NVIDIA H200", "--where", "host~=A"]) == 0
    assert [r["config"]["batch_size"] for r in json.loads(capsys.readouterr().out)] == [1]
    assert main(["runs", "--store", url, "--json", "--where", "gpu_count=0"]) == 0
    assert [r["config"]["batch_size"] for r in json.loads(capsys.readouterr().out)] == [3]
    assert main(["runs", "--store", url, "--where", "gpu=H200"]) == 2
    err = capsys.readouterr().err
    assert "--where: unknown environment field 'gpu'" in err and "known: gpu_name, gpu_count, host" in err
