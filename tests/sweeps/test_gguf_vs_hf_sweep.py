"""The shipped `gguf-vs-hf-cpu` profile for real: llama.cpp on the demo's Q4_1 file and hf-generate at
float32, bfloat16 and int8 weights, one sweep over the same prompts (engine axis), run by `inferlab sweep`
into a real SQLite store; each run carries its checkpoint's quantization and its quality figures."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli.commands import with_overrides
from app.store import Store
from app.sweeps import dump_profile, load_profile

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def test_llama_cpp_and_hf_precisions_in_one_sweep(tmp_path: Path, demo_model_dir: Path) -> None:
    (tmp_path / "data" / "models").mkdir(parents=True)
    (tmp_path / "data" / "models" / demo_model_dir.name).symlink_to(demo_model_dir)
    shipped = load_profile(REPO / "profiles" / "gguf-vs-hf-cpu.toml")
    small = with_overrides(shipped, {"num_requests": 2, "output_tokens": 8, "repetitions": 1,
                                     "warmup_requests": 0}, "the test's slice")
    path = tmp_path / "gguf-vs-hf.toml"
    path.write_text(dump_profile(small), encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    env = {**os.environ, "INFERLAB_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-m", "app.main", "sweep", str(path), "--store", url], cwd=REPO,
                         capture_output=True, text=True, timeout=900, env=env)
    assert out.returncode == 0, out.stderr[-4000:]
    assert "warning: " in out.stderr and "dtype differs between engines" in out.stderr  # compared on purpose
    with Store(url) as store:
        runs = [store.get_run(r.id) for r in store.list_runs(sort="id")]
    seen = {(r.summary.engine, r.summary.config["dtype"], r.summary.config["quantization"]) for r in runs}
    assert seen == {("llama-cpp", "auto", "none"), ("hf-generate", "float32", "none"),
                    ("hf-generate", "float32", "int8-weight"), ("hf-generate", "bfloat16", "none")}
    assert all(r.summary.status == "ok" for r in runs), [(r.summary.engine, r.summary.failure_message) for r in runs]
    checkpoint = {r.summary.engine: r.environment["model"]["checkpoint_quantization"] for r in runs}
    assert checkpoint == {"llama-cpp": "gguf-q4_1", "hf-generate": "none"}
    fed = {tuple(sorted(q.input_tokens for q in r.requests)) for r in runs}
    assert len(fed) == 1  # the same prompt lengths, token for token, on every run
    for run in runs:
        config = run.summary.config
        reference = (run.summary.engine, config["dtype"], config["quantization"]) == ("hf-generate", "float32",
                                                                                     "none")
        agreement = run.summary.metrics["quality_agreement"]
        assert agreement.status == ("unavailable" if reference else "measured"), (run.summary.engine, agreement)
        assert run.summary.metrics["perplexity"].status == "measured"
