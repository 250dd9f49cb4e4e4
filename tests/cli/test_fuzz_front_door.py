"""Fuzzing the front door with Hypothesis: random bytes, random TOML and random profile tables to
profile loading, random `--set` overrides, random JSON and bytes to every importer. Only the front
door's own error type ever comes out (ProfileError with a location, UsageError, ImportFormatError),
and quickly. Example counts are modest so the suite stays fast on two cores."""

from __future__ import annotations

import json
import math
import tempfile
import time
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.cli.commands import UsageError, single_trial_profile
from app.reports.importers import LOADERS, ImportFormatError
from app.sweeps import ProfileError, load_profile, parse_profile
from app.sweeps.profile_parse import TOP_KEYS
from engine.config import all_options

FAST_S = 2.0  # a refusal is quick: no model, no worker, no store
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
OPTION_NAMES = sorted(all_options("hf-generate")) + sorted(all_options("openai"))
SCALARS = st.one_of(
    st.booleans(), st.integers(min_value=-(2**70), max_value=2**70), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20), st.sampled_from(["demo", "hf-generate", "openai", "vllm", "grid", "random", "optuna",
                                           "draft", "prompt-lookup", "cpu", "bnb-4bit", "file:///x", "nan"]))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.sampled_from([*OPTION_NAMES, "values", "min", "max", "step",
                                                                   "num", "log", "when", "metric", "direction"]),
                                                 inner, max_size=4)), max_leaves=12)
PRINTABLE = st.characters(min_codepoint=32, max_codepoint=126)
KEYS = st.one_of(st.sampled_from(TOP_KEYS), st.sampled_from(OPTION_NAMES), st.text(min_size=1, max_size=8))


def toml_value(v: Any) -> str:
    """A TOML inline value (the test's own writer: any value Hypothesis draws, nan and inf included)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and not math.isfinite(v):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):  # a JSON string is a TOML basic string, once DEL is escaped too
        return json.dumps(v, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return "{ " + ", ".join(f"{toml_value(k)} = {toml_value(x)}" for k, x in v.items()) + " }"


def _only_profile_errors(call: Any) -> None:
    started = time.perf_counter()
    try:
        call()
    except ProfileError as exc:
        assert exc.source and str(exc).startswith(exc.source if len(exc.source) < 300 else "'"), str(exc)
    assert time.perf_counter() - started < FAST_S


@FUZZ
@given(st.binary(max_size=2000))
def test_random_bytes_as_a_profile_file_give_only_profile_errors(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.toml"
        path.write_bytes(data)
        _only_profile_errors(lambda: load_profile(path))


@FUZZ
@given(st.text(max_size=400))
def test_random_text_as_a_profile_gives_only_profile_errors(text: str) -> None:
    _only_profile_errors(lambda: parse_profile(text, "fuzz.toml"))


@FUZZ
@given(st.dictionaries(KEYS, VALUES, max_size=8))
def test_random_toml_tables_give_only_profile_errors(table: dict[str, Any]) -> None:
    text = "\n".join(f"{toml_value(k)} = {toml_value(v)}" for k, v in table.items())
    _only_profile_errors(lambda: parse_profile(text, "fuzz.toml"))


@FUZZ
@given(st.fixed_dictionaries({"name": st.text(PRINTABLE, max_size=30) | st.text(max_size=30), "engine": st.sampled_from(["hf-generate", "openai"]),
                              "strategy": st.sampled_from(["grid", "random", "optuna"])},
                             optional={"tags": st.lists(st.text(max_size=10), max_size=3),
                                       "constraints": st.lists(st.text(max_size=20), max_size=2),
                                       "options": st.dictionaries(st.sampled_from(OPTION_NAMES), SCALARS, max_size=4),
                                       "axes": st.dictionaries(st.sampled_from(OPTION_NAMES), VALUES, max_size=3),
                                       "budget": st.dictionaries(st.sampled_from(["n_trials", "timeout_s", "seed"]),
                                                                 SCALARS, max_size=3)}))
def test_random_profile_dicts_give_only_profile_errors(profile: dict[str, Any]) -> None:
    lines = [f"{k} = {toml_value(v)}" for k, v in profile.items() if not isinstance(v, dict)]
    for table in ("options", "axes", "budget"):
        if table in profile:
            lines += [f"[{table}]", *(f"{k} = {toml_value(v)}" for k, v in profile[table].items())]
    _only_profile_errors(lambda: parse_profile("\n".join(lines), "fuzz.toml"))


BASE = parse_profile('name = "p"\nengine = "hf-generate"\nmodel = "demo"\n[options]\nbatch_size = 1\n', "p.toml")


@FUZZ
@given(st.lists(st.one_of(st.text(max_size=40), st.builds(lambda k, v: f"{k}={v}", st.sampled_from(OPTION_NAMES),
                                                          st.text(max_size=30))), min_size=1, max_size=3))
def test_random_set_overrides_give_only_usage_errors(overrides: list[str]) -> None:
    started = time.perf_counter()
    try:
        single_trial_profile(BASE, overrides)
    except UsageError as exc:
        assert "--set" in str(exc) or "p.toml" in str(exc), str(exc)
    assert time.perf_counter() - started < FAST_S


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
                        st.sampled_from(["duration", "completed", "request_throughput", "output_throughput",
                                         "elapsed_time", "tokens_per_second", "report", "config", "prefill",
                                         "decode", "per_token", "latency", "throughput", "memory", "energy",
                                         "values", "mean_ttft_ms", "ttfts", "input_lens", "output_lens", "date",
                                         "backend", "value", "unit", "model_id", "latencies", "start_times",
                                         "errors", "requests_per_second", "environment", "scenario",
                                         "input_shapes", "generate_kwargs", "batch_size", "max_new_tokens",
                                         "min_new_tokens", "mean", "gpu", "efficiency", "launcher", "name",
                                         "max_ram"]) | st.text(max_size=6),
                        inner, max_size=6), max_leaves=25)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(JSON.map(lambda v: json.dumps(v).encode()), st.binary(max_size=300)), st.sampled_from(list(LOADERS)))
def test_random_json_to_every_importer_gives_only_importer_errors(content: bytes, kind: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "result.json"
        path.write_bytes(content)
        started = time.perf_counter()
        try:
            LOADERS[kind](path)
        except ImportFormatError as exc:
            assert str(path) in str(exc)
        assert time.perf_counter() - started < FAST_S
