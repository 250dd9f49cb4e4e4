"""Grid and random planning: products, ranges, conditional axes, seeding, model-reuse order."""

from __future__ import annotations

import json
from pathlib import Path

from app.sweeps import parse_profile
from app.sweeps.planning import plan_grid, plan_random
from engine.config import TrialConfig

HEAD = 'name = "p"\nengine = "hf-generate"\nmodel = "demo"\n'


def _picks(configs: list[dict], *keys: str) -> list[tuple]:
    return [tuple(c[k] for k in keys) for c in configs]


def test_grid_is_the_product_of_value_lists_and_ranges() -> None:
    p = parse_profile(HEAD + "[axes]\nbatch_size = { min = 1, max = 8, log = true }\n"
                      "output_tokens = { min = 10, max = 30, step = 10 }\n", "p.toml")
    configs = plan_grid(p)
    assert sorted(_picks(configs, "batch_size", "output_tokens")) == [
        (b, o) for b in (1, 2, 4, 8) for o in (10, 20, 30)]
    assert all(c["input_tokens"] == 128 for c in configs)  # defaults filled in: full flat configs


def test_float_log_range_with_num_points() -> None:
    p = parse_profile(HEAD + "[axes]\ntemperature = { min = 0.01, max = 1.0, log = true, num = 3 }\n", "p.toml")
    assert [round(c["temperature"], 6) for c in plan_grid(p)] == [0.01, 0.1, 1.0]


def test_conditional_axis_applies_only_where_its_condition_holds(tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "config.json").write_text("{}")
    p = parse_profile(HEAD + '[options]\nbatch_size = 1\n[axes]\nspeculative = ["none", "draft", "prompt-lookup"]\n'
                      f'draft_model = {{ values = ["demo", "{other}"], when = {{ speculative = "draft" }} }}\n'
                      'prompt_lookup_max = { values = [2, 4], when = { speculative = ["prompt-lookup"] } }\n',
                      "p.toml")
    picks = sorted(_picks(plan_grid(p), "speculative", "draft_model", "prompt_lookup_max"), key=str)
    assert picks == sorted([("none", None, 3), ("draft", "demo", 3), ("draft", str(other), 3),
                            ("prompt-lookup", None, 2), ("prompt-lookup", None, 4)], key=str)


def test_grid_groups_trials_that_share_a_loaded_model() -> None:
    p = parse_profile(HEAD + '[axes]\nbatch_size = [1, 2]\ndtype = ["float32", "bfloat16"]\n'
                      'output_tokens = [4, 8]\n', "p.toml")
    keys = [json.dumps(TrialConfig.from_flat(c).load_key()) for c in plan_grid(p)]
    switches = sum(a != b for a, b in zip(keys, keys[1:], strict=False))
    assert len(keys) == 8 and switches == 1  # each dtype loads once


def test_random_is_seeded_distinct_and_in_bounds() -> None:
    text = HEAD + ('strategy = "random"\n[axes]\nbatch_size = { min = 1, max = 512, log = true }\n'
                   "temperature = { min = 0.0, max = 2.0 }\n[budget]\nn_trials = 12\nseed = 7\n")
    a = plan_random(parse_profile(text, "p.toml"))
    assert a == plan_random(parse_profile(text, "p.toml"))
    assert len({json.dumps(c, sort_keys=True) for c in a}) == 12
    assert all(1 <= c["batch_size"] <= 512 and 0.0 <= c["temperature"] <= 2.0 for c in a)
    assert a != plan_random(parse_profile(text.replace("seed = 7", "seed = 8"), "p.toml"))
    # log-uniform: about half the draws fall below the geometric middle (~22.6), not ~4%
    many = plan_random(parse_profile(text.replace("n_trials = 12", "n_trials = 200"), "p.toml"))
    assert 0.3 < sum(c["batch_size"] < 23 for c in many) / len(many) < 0.7


def test_random_on_a_small_space_stops_at_its_size() -> None:
    p = parse_profile(HEAD + 'strategy = "random"\n[axes]\nbatch_size = [1, 2, 3]\n[budget]\nn_trials = 10\n',
                      "p.toml")
    assert sorted(c["batch_size"] for c in plan_random(p)) == [1, 2, 3]
