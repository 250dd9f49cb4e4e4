"""Profiles: every shipped one validates; broken ones name the file, the line and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.sweeps import ProfileError, dump_profile, load_profile, parse_profile
from app.sweeps.planning import normalize, plan_grid

PROFILES = sorted((Path(__file__).resolve().parents[2] / "profiles").glob("*.toml"))
REQUIRED = {"cpu-smoke", "hf-batch-x-output", "vllm-engine-args", "quantization-compare",
            "speculative-compare", "serving-rate", "study-cpu", "study-gpu"}

GOOD = """\
name = "t"
engine = "hf-generate"
model = "demo"
strategy = "optuna"
repetitions = 1
constraints = ["ttft_ms_p99 <= 200", "peak_rss_bytes <= 20e9"]

[options]
input_tokens = 8
num_requests = 2

[axes]
batch_size = { min = 1, max = 64, log = true }
output_tokens = [4, 8]
speculative = ["none", "draft"]
draft_model = { values = ["demo"], when = { speculative = "draft" } }

[budget]
n_trials = 10
seed = 3

[[objectives]]
metric = "output_tokens_per_s"
direction = "maximize"
"""


def test_the_required_profiles_ship() -> None:
    assert REQUIRED <= {p.stem for p in PROFILES}


@pytest.mark.parametrize("path", PROFILES, ids=lambda p: p.stem)
def test_every_shipped_profile_loads_and_its_trials_validate(path: Path) -> None:
    profile = load_profile(path)
    assert profile.name == path.stem and profile.description
    if profile.strategy == "grid":
        configs = plan_grid(profile)
        assert configs and all(normalize(c) == c for c in configs)
    else:
        assert profile.n_trials and profile.objectives
    assert parse_profile(dump_profile(profile), "again.toml") == profile


def test_good_profile_parses_into_typed_parts() -> None:
    p = parse_profile(GOOD, "t.toml")
    assert p.base == {"engine": "hf-generate", "model": "demo", "repetitions": 1, "input_tokens": 8,
                      "num_requests": 2}
    assert [a.name for a in p.axes][-1] == "draft_model"  # conditional axes come after those they test
    assert [str(c) for c in p.constraints] == ["ttft_ms_p99 <= 200", "peak_rss_bytes <= 2e+10"]
    assert (p.strategy, p.n_trials, p.seed) == ("optuna", 10, 3)


@pytest.mark.parametrize(("old", "new", "line", "key", "fragment"), [
    ("num_requests = 2", "num_requests = 0", 10, "options.num_requests", "[1, 1e+06]"),
    ("input_tokens = 8", "input_tokenz = 8", 9, "options.input_tokenz", "did you mean 'input_tokens'"),
    ("output_tokens = [4, 8]", "output_tokens = [4, \"x\"]", 14, "axes.output_tokens.values", "an integer"),
    ("max = 64, log", "max = 64, logg", 13, "axes.batch_size.logg", "unknown key"),
    ("min = 1, max = 64", "min = 64, max = 1", 13, "axes.batch_size.max", "above min"),
    ("speculative = \"draft\" }", "speculatve = \"draft\" }", 16, "axes.draft_model.when.speculatve",
     "unknown trial option"),
    ("metric = \"output_tokens_per_s\"", "metric = \"tokens_per_sec\"", 23, "objectives[0].metric",
     "metric name"),
    ("direction = \"maximize\"", "direction = \"up\"", 24, "objectives[0].direction", "maximize, minimize"),
    ("\"ttft_ms_p99 <= 200\"", "\"ttft_ms_p99 <== 200\"", 6, "constraints[0]", "metric <=|>=|<|> number"),
    ("n_trials = 10", "n_trials = \"ten\"", 19, "budget.n_trials", "positive integer"),
    ("n_trials = 10\n", "", 18, "budget.n_trials", "needs budget.n_trials"),
    ("strategy = \"optuna\"", "strategy = \"anneal\"", 4, "strategy", "grid, random, optuna"),
    ("[axes]", "[axes", 12, "", "TOML syntax error"),
    ("model = \"demo\"", "model = \"demo\"\nbatch_size = 2", 4, "batch_size", "unknown key"),
])
def test_broken_profile_names_file_line_and_key(old: str, new: str, line: int, key: str, fragment: str) -> None:
    text = GOOD.replace(old, new, 1)
    assert text != GOOD
    with pytest.raises(ProfileError) as caught:
        parse_profile(text, "/x/broken.toml")
    err = caught.value
    assert (err.source, err.line, err.key) == ("/x/broken.toml", line, key), str(err)
    assert fragment in str(err)
    assert str(err).startswith(f"/x/broken.toml:{line}: ")


def test_grid_with_an_invalid_combination_is_refused_at_load() -> None:
    text = GOOD.replace('strategy = "optuna"', 'strategy = "grid"').replace(
        'draft_model = { values = ["demo"], when = { speculative = "draft" } }\n', "")
    with pytest.raises(ProfileError, match="draft_model.*required when speculative='draft'") as caught:
        parse_profile(text, "g.toml")
    assert caught.value.line == 12  # the [axes] table


def test_float_range_in_a_grid_needs_points() -> None:
    text = GOOD.replace('strategy = "optuna"', 'strategy = "grid"').replace(
        "output_tokens = [4, 8]", "temperature = { min = 0.1, max = 1.0 }")
    with pytest.raises(ProfileError, match="needs `step` or `num`") as caught:
        parse_profile(text, "g.toml")
    assert (caught.value.key, caught.value.line) == ("axes.temperature", 14)


def test_missing_file_is_a_profile_error(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="cannot read"):
        load_profile(tmp_path / "nope.toml")


def test_the_documented_example_profile_parses() -> None:
    import re

    readme = (Path(__file__).resolve().parents[2] / "profiles" / "README.md").read_text()
    block = re.search(r"```toml\n(.*?)```", readme, re.S)
    assert block is not None
    profile = parse_profile(block.group(1), "README.md")
    assert profile.strategy == "optuna" and profile.axes[-1].when == {"speculative": ("draft",)}


def test_study_gpu_is_the_seed_studys_full_design() -> None:
    profile = load_profile(Path(__file__).resolve().parents[2] / "profiles" / "study-gpu.toml")
    trials = plan_grid(profile)
    assert profile.engines == ("hf-pipeline", "vllm")
    assert {t["num_gpus"] for t in trials} == {1, 2, 4, 8}
    assert sorted({t["batch_size"] for t in trials}) == [2 ** i for i in range(11)]
    assert {t["output_tokens"] for t in trials} == {5, 10, 20} and len(trials) == 2 * 4 * 11 * 3
    assert [a.name for a in profile.axes if a.stop_after_oom] == ["batch_size"]
    assert {t["prompt_order"] for t in trials} == {"sorted"} and {t["device"] for t in trials} == {"cuda"}
