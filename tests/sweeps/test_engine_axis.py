"""`engine` as a sweep axis: per-engine fixed options, axes conditional on the engine (given or implied),
planning/Optuna/writer per config engine, the refusals naming file, line and key, and the fair-comparison
warning (`inferlab sweep` prints it before any work)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from app.cli.commands import UsageError, single_trial_profile, with_overrides
from app.sweeps import ProfileError, dump_profile, load_profile, parse_profile
from app.sweeps.fairness import fairness_warnings
from app.sweeps.optuna_search import OptunaSearch
from app.sweeps.planning import config_identity, load_key, plan_grid, plan_random

REPO = Path(__file__).resolve().parents[2]
TWO_ENGINES = """\
name = "two-engines"
model = "demo"
strategy = "grid"

[options]
device = "cpu"
output_tokens = 8

[options.vllm]
enforce_eager = true
max_model_len = 256

[axes]
engine = ["hf-pipeline", "vllm"]
batch_size = [1, 4]
max_num_seqs = [8, 16]                                           # vLLM only: applies to vllm trials
attn_implementation = { values = ["sdpa", "eager"], when = { engine = "hf-pipeline" } }
"""


def test_engine_axis_with_per_engine_and_conditional_options() -> None:
    profile = parse_profile(TWO_ENGINES, "two.toml")
    assert profile.engines == ("hf-pipeline", "vllm") and "engine" not in profile.base
    assert profile.axes[0].name == "engine"
    assert dict(next(a for a in profile.axes if a.name == "max_num_seqs").when) == {"engine": ("vllm",)}
    configs = plan_grid(profile)
    hf = [c for c in configs if c["engine"] == "hf-pipeline"]
    vllm = [c for c in configs if c["engine"] == "vllm"]
    assert len(hf) == 2 * 2 and len(vllm) == 2 * 2
    assert all("max_num_seqs" not in c and "enforce_eager" not in c for c in hf)
    assert {c["attn_implementation"] for c in hf} == {"sdpa", "eager"}
    assert all(c["enforce_eager"] is True and c["max_model_len"] == 256 for c in vllm)
    assert {(c["batch_size"], c["max_num_seqs"]) for c in vllm} == {(b, m) for b in (1, 4) for m in (8, 16)}
    assert all(c["output_tokens"] == 8 for c in configs)
    engines = [c["engine"] for c in configs]  # by load key: each engine (and each of its loads) once
    assert engines == sorted(engines, key=["hf-pipeline", "vllm"].index)
    keys = [load_key(c) for c in configs]
    assert all(k not in keys[i + 1:] or keys[i + 1] == k for i, k in enumerate(keys))
    # resume matches trials by flat config: planning again gives the same identities
    assert [config_identity(c) for c in plan_grid(parse_profile(TWO_ENGINES, "two.toml"))] == list(
        map(config_identity, configs))
    assert parse_profile(dump_profile(profile), "two.toml") == profile
    assert fairness_warnings(profile) == []


def test_random_and_optuna_draw_each_engines_own_options() -> None:
    profile = parse_profile(TWO_ENGINES.replace('strategy = "grid"', 'strategy = "random"') +
                            "[budget]\nn_trials = 6\nseed = 3\n", "two.toml")
    for config in plan_random(profile):
        assert ("max_num_seqs" in config) == (config["engine"] == "vllm")
    optuna = parse_profile(TWO_ENGINES.replace('strategy = "grid"', 'strategy = "optuna"') +
                           "[budget]\nn_trials = 8\n[[objectives]]\nmetric = \"output_tokens_per_s\"\n"
                           "direction = \"maximize\"\n", "two.toml")
    search = OptunaSearch(optuna)
    seen = set()
    for _ in range(8):
        trial, config = search.ask()
        seen.add(config["engine"])
        assert ("max_num_seqs" in config) == (config["engine"] == "vllm") == ("enforce_eager" in config)
        assert ("attn_implementation" in config) == (config["engine"] == "hf-pipeline")
        search.tell(trial, True, {"output_tokens_per_s": float(config["batch_size"])})
    assert seen == {"hf-pipeline", "vllm"}


@pytest.mark.parametrize(("text", "line", "key", "message"), [
    ('[options]\nmax_num_seqs = 64\n[axes]\nengine = ["hf-pipeline", "vllm"]\n', 4, "options.max_num_seqs",
     "is an option of vllm only, not of hf-pipeline: set it in [options.vllm]"),
    ('[axes]\nengine = ["hf-pipeline", "vllm"]\nmax_num_seqs = { values = [8], when = { engine = '
     '["vllm", "hf-pipeline"] } }\n', 5, "axes.max_num_seqs.when.engine",
     "max_num_seqs is not an option of hf-pipeline (only of vllm)"),
    ('engine = "vllm"\n[axes]\nengine = ["hf-pipeline", "vllm"]\n', 3, "engine", "is also swept in [axes] engine"),
    ('[options.vllm]\nmax_num_seqs = 8\n[axes]\nengine = ["hf-pipeline", "hf-generate"]\n', 3, "options.vllm",
     "options for engine 'vllm', which this profile does not run"),
    ('[options.vllm]\nmax_num_seqs = 8\n[axes]\nengine = ["hf-pipeline", "vllm"]\nmax_num_seqs = [4]\n', 7,
     "axes.max_num_seqs", "is also a fixed option of vllm"),
    ('[axes]\nengine = ["hf-pipeline", "tgi"]\n', 4, "axes.engine", "got 'tgi'"),
])
def test_refusals_name_file_line_and_key(tmp_path: Path, text: str, line: int, key: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('name = "bad"\nmodel = "demo"\n' + text, encoding="utf-8")
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    assert (info.value.source, info.value.line, info.value.key) == (str(path), line, key)
    assert message in info.value.message


UNFAIR = """\
name = "unfair"
model = "demo"

[options.vllm]
output_tokens = 20
kv_cache_dtype = "fp8"

[axes]
engine = ["hf-pipeline", "vllm"]
output_tokens = { values = [5, 10], when = { engine = "hf-pipeline" } }
"""


def test_fair_comparison_warning_loads_and_names_field_and_engines(tmp_path: Path) -> None:
    profile = parse_profile(UNFAIR, "unfair.toml")
    assert fairness_warnings(profile) == [
        "kv_cache_dtype differs between engines (hf-pipeline: 'auto'; vllm: 'fp8'): they are not compared like "
        "for like",
        "output_tokens differs between engines (hf-pipeline: swept over 5, 10; vllm: 20): they are not compared "
        "like for like"]
    fixed = with_overrides(profile, {"output_tokens": 5, "kv_cache_dtype": "auto"}, "--set")
    # both engines have kv_cache_dtype: --set fixes it for all of them, in [options]
    assert fairness_warnings(fixed) == [] and fixed.engine_options == {}
    assert fixed.base["kv_cache_dtype"] == "auto" and fixed.base["output_tokens"] == 5
    path = tmp_path / "unfair.toml"
    path.write_text(UNFAIR, encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "app.main", "sweep", str(path), "--python", str(tmp_path / "none"),
                          "--store", f"sqlite:///{tmp_path / 'r.db'}"], cwd=REPO, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 2 and "--python" in out.stderr  # refused before any work, after the warnings
    assert f"warning: {path}: output_tokens differs between engines (hf-pipeline: swept over 5, 10; vllm: 20)" \
        in out.stderr


def test_setting_the_engine_keeps_that_engines_options_and_axes() -> None:
    profile = parse_profile(TWO_ENGINES, "two.toml")
    hf = with_overrides(profile, {"engine": "hf-pipeline"}, "--set engine=hf-pipeline")
    assert hf.engines == ("hf-pipeline",) and [a.name for a in hf.axes] == ["batch_size", "attn_implementation"]
    assert all("enforce_eager" not in c for c in plan_grid(hf))
    vllm = with_overrides(profile, {"max_num_seqs": 32}, "--set max_num_seqs=32")
    assert vllm.engine_options["vllm"]["max_num_seqs"] == 32 and len(plan_grid(vllm)) == 2 * 2 + 2
    one = single_trial_profile(profile, ["engine=hf-pipeline", "batch_size=2", "attn_implementation=eager"])
    assert one.axes == () and plan_grid(one)[0]["attn_implementation"] == "eager"  # vllm's axes do not apply
    with pytest.raises(UsageError, match="the profile sweeps max_num_seqs"):
        single_trial_profile(profile, ["engine=vllm", "batch_size=2"])


def test_shipped_study_cpu_profile() -> None:
    profile = load_profile(REPO / "profiles" / "study-cpu.toml")
    configs = plan_grid(profile)
    assert profile.engines == ("hf-pipeline", "vllm") and len(configs) == 2 * 7 * 3
    assert sorted({c["batch_size"] for c in configs}) == [1, 2, 4, 8, 16, 32, 64]
    assert sorted({c["output_tokens"] for c in configs}) == [5, 10, 20]
    assert fairness_warnings(profile) == []
