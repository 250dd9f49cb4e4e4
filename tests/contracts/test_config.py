"""The trial option schema: validation names the field and what is allowed; flat round trips."""

from __future__ import annotations

import pytest

from engine import registry
from engine.config import TrialConfig, all_options
from engine.errors import ConfigError


@pytest.mark.parametrize("engine", registry.names())
def test_defaults_validate_and_round_trip_for_every_engine(engine: str) -> None:
    config = TrialConfig.from_flat({"engine": engine})
    assert TrialConfig.from_flat(config.to_flat()) == config


@pytest.mark.parametrize(
    ("flat", "field", "fragment"),
    [
        ({"engine": "nope"}, "engine", "hf-generate"),
        ({"engine": "hf-generate", "batch_size": 0}, "batch_size", "[1, 4096]"),
        ({"engine": "hf-generate", "bach_size": 4}, "bach_size", "unknown option"),
        ({"engine": "hf-generate", "dtype": "int3"}, "dtype", "'bfloat16'"),
        ({"engine": "hf-generate", "temperature": "hot"}, "temperature", "a number"),
        ({"engine": "hf-generate", "ignore_eos": 1}, "ignore_eos", "true or false"),
        ({"engine": "vllm", "max_num_seqs": 2.5}, "max_num_seqs", "an integer"),
        ({"engine": "hf-generate", "max_num_seqs": 8}, "max_num_seqs", "unknown option for engine 'hf-generate'"),
        ({"engine": "hf-generate", "workload": "jsonl"}, "prompt_file", "required"),
        ({"engine": "hf-generate", "speculative": "draft"}, "draft_model", "required"),
        ({"engine": "openai", "quantization": "int8-weight"}, "quantization", "decided by the server"),
    ],
)
def test_invalid_option_is_refused_naming_field_and_allowed_values(flat: dict, field: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as err:
        TrialConfig.from_flat(flat)
    assert err.value.field == field
    assert fragment in str(err.value)


def test_integral_float_is_accepted_as_int_but_bool_is_not() -> None:
    assert TrialConfig.from_flat({"engine": "hf-generate", "batch_size": 4.0}).common.batch_size == 4
    with pytest.raises(ConfigError):
        TrialConfig.from_flat({"engine": "hf-generate", "batch_size": True})


def test_load_key_changes_with_load_time_options_only() -> None:
    base = TrialConfig.from_flat({"engine": "hf-generate"})
    runtime = TrialConfig.from_flat({"engine": "hf-generate", "batch_size": 32, "cache_implementation": "static"})
    reload = TrialConfig.from_flat({"engine": "hf-generate", "dtype": "bfloat16"})
    assert runtime.load_key() == base.load_key()
    assert reload.load_key() != base.load_key()


def test_every_option_documents_itself() -> None:
    for engine in registry.names():
        for info in all_options(engine).values():
            assert info.help.strip(), info.name
            assert info.allowed()
