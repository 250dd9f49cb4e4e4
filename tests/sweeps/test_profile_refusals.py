"""Hostile or careless profiles found by an independent tester: each is refused by the one validation
pass (`load_profile` / `parse_profile`) with `FILE:LINE: key: what was expected`, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.sweeps import ProfileError, load_profile, parse_profile
from app.sweeps.profile import MAX_PROFILE_BYTES

HEAD = 'name = "p"\nengine = "hf-generate"\nmodel = "demo"\nstrategy = "grid"\n'


def _refused(text: str, key: str, fragment: str, line: int | None = None) -> ProfileError:
    with pytest.raises(ProfileError) as caught:
        parse_profile(text, "/x/p.toml")
    err = caught.value
    assert err.key == key and fragment in err.message, str(err)
    if line is not None:
        assert err.line == line, str(err)
    return err


def test_a_binary_profile_file_is_a_profile_error_naming_the_line(tmp_path: Path) -> None:
    path = tmp_path / "binary.toml"
    path.write_bytes(b'name = "p"\nengine = "hf-generate"\n\x89PNG\r\n\x1a\n\x00\xff\xfe')
    with pytest.raises(ProfileError, match="not UTF-8 text") as caught:
        load_profile(path)
    assert (caught.value.source, caught.value.line) == (str(path), 3)


def test_a_huge_profile_file_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    path = tmp_path / "huge.toml"
    path.write_text(HEAD + "# " + "x" * MAX_PROFILE_BYTES + "\n")
    with pytest.raises(ProfileError, match="larger than 1,048,576 bytes"):
        load_profile(path)


def test_a_profile_that_is_not_a_regular_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="not a regular file"):
        load_profile(tmp_path)


def test_pathologically_nested_toml_is_a_profile_error() -> None:
    with pytest.raises(ProfileError, match="nested too deeply"):
        parse_profile(HEAD + "[axes]\nbatch_size = " + "[" * 5000 + "]" * 5000 + "\n", "/x/p.toml")


def test_an_integer_of_thousands_of_digits_is_a_profile_error() -> None:
    with pytest.raises(ProfileError, match="TOML value error"):
        parse_profile(HEAD + "[options]\nbatch_size = " + "9" * 5000 + "\n", "/x/p.toml")


@pytest.mark.parametrize("value", ["nan", "+nan", "inf", "-inf"])
def test_a_non_finite_number_is_refused(value: str) -> None:
    _refused(HEAD + f"[options]\ntemperature = {value}\n", "options.temperature", "finite", line=6)
    _refused(HEAD + f"[axes]\ntemperature = [0.5, {value}]\n", "axes.temperature.values", "finite", line=6)
    _refused(HEAD + f"[budget]\ntimeout_s = {value}\n", "budget.timeout_s", "number of seconds", line=6)


def test_a_tag_with_a_control_character_is_refused_before_any_trial_runs() -> None:
    _refused(HEAD + 'tags = ["ok", "bad\\u001b[2J"]\n', "tags[1]", "non-printable character '\\x1b'", line=5)


def test_a_five_megabyte_sweep_name_is_refused() -> None:
    _refused(f'name = "{"n" * 5_000_000}"\nengine = "hf-generate"\n', "", "longer than 1,048,576 characters")
    _refused(f'name = "{"n" * 500_000}"\nengine = "hf-generate"\n', "name", "at most 200", line=1)


def test_a_huge_option_string_is_refused_with_a_short_message() -> None:
    err = _refused(HEAD + f'[options]\nattn_implementation = "{"a" * 100_000}"\n', "options.attn_implementation",
                   "at most 4,096")
    assert len(str(err)) < 400


def test_a_local_model_path_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-model"
    text = f'name = "p"\nengine = "hf-generate"\nmodel = "{missing}"\n'
    _refused(text, "model", f"no such file or folder: {missing}", line=3)
    text = HEAD.replace('model = "demo"\n', "") + f'[axes]\nmodel = ["demo", "{missing}"]\n'
    _refused(text, "axes.model", "no such file or folder", line=5)


def test_a_missing_draft_model_or_prompt_file_is_refused(tmp_path: Path) -> None:
    text = HEAD + (f'[options]\nbatch_size = 1\nspeculative = "draft"\ndraft_model = "{tmp_path / "draft"}"\n')
    _refused(text, "options.draft_model", "no such file or folder", line=8)
    text = HEAD + f'[options]\nworkload = "jsonl"\nprompt_file = "{tmp_path / "p.jsonl"}"\n'
    _refused(text, "options.prompt_file", "no such file", line=7)


def test_an_unreadable_prompt_file_is_refused(tmp_path: Path) -> None:
    import os

    if os.geteuid() == 0:
        pytest.skip("root reads every file")
    prompts = tmp_path / "p.jsonl"
    prompts.write_text('{"prompt": "hi"}\n')
    prompts.chmod(0)
    _refused(HEAD + f'[options]\nworkload = "jsonl"\nprompt_file = "{prompts}"\n', "options.prompt_file",
             "not readable")


@pytest.mark.parametrize(("url", "fragment"), [
    ("", "expected an http:// or https:// server URL"),
    ("file:///etc/passwd", "expected an http:// or https:// server URL"),
    ("http://", "expected an http:// or https:// server URL"),
    ("http://[::1/v1", "is not a URL"),
])
def test_an_openai_engine_without_an_http_url_is_refused(url: str, fragment: str) -> None:
    text = f'name = "p"\nengine = "openai"\nmodel = "demo"\n[options]\nbase_url = "{url}"\n'
    _refused(text, "base_url", fragment)


def test_a_batch_one_speculative_method_at_batch_eight_is_refused() -> None:
    text = HEAD + '[options]\nspeculative = "prompt-lookup"\nbatch_size = 8\n'
    err = _refused(text, "batch_size", "at batch_size 1 only", line=7)
    assert "grid sweep is invalid" in err.message
    # a random sweep's draws are checked too: the plan is seeded, so it is what would run
    text = HEAD.replace('"grid"', '"random"') + ('[options]\nbatch_size = 4\n[axes]\n'
                                                 'speculative = ["none", "draft"]\n'
                                                 '[budget]\nn_trials = 4\n')
    _refused(text.replace('speculative = ["none", "draft"]', 'speculative = ["none", "prompt-lookup"]'),
             "batch_size", "batch_size 1 only")


def test_cuda_only_quantization_on_device_cpu_is_refused() -> None:
    text = HEAD + '[options]\ndevice = "cpu"\nquantization = "bnb-4bit"\n'
    _refused(text, "quantization", "CUDA only")


def test_a_grid_too_large_to_plan_is_refused_quickly() -> None:
    text = HEAD + "[axes]\nseed = { min = 0, max = 2000000000 }\n"
    _refused(text, "axes.seed", "grid points; at most 1,000", line=6)
    text = HEAD + ("[axes]\nseed = { min = 0, max = 999 }\ninput_tokens = { min = 1, max = 999 }\n")
    _refused(text, "axes", "at most 10,000")
    text = HEAD + "[axes]\ntemperature = { min = 0.0, max = 1.0, step = 1e-300 }\n"
    _refused(text, "axes.temperature.step", "more than 1,000 points")


def test_a_seed_numpy_cannot_take_is_refused() -> None:
    _refused(HEAD + "[budget]\nseed = 99999999999999\n", "budget.seed", "[0, 2147483647]")


def test_keys_with_control_characters_are_escaped_in_the_message() -> None:
    err = _refused(HEAD + '"evil\\u001b[2J" = 1\n', '\'evil\\x1b[2J\'', "unknown key")
    assert "\x1b" not in str(err)


def test_an_optuna_sweep_whose_fixed_options_conflict_is_refused_but_a_partly_valid_space_is_not() -> None:
    optuna = HEAD.replace('"grid"', '"optuna"') + ('[budget]\nn_trials = 5\n[[objectives]]\n'
                                                   'metric = "output_tokens_per_s"\ndirection = "maximize"\n'
                                                   '[options]\nspeculative = "prompt-lookup"\n')
    _refused(optuna + "batch_size = 8\n[axes]\noutput_tokens = [4, 8]\n", "batch_size", "batch_size 1 only")
    profile = parse_profile(optuna + "[axes]\nbatch_size = [1, 8]\n", "/x/p.toml")
    assert profile.strategy == "optuna"  # batch 1 trials are valid: Optuna learns the rest as failures
