"""Fair comparison across engines: the options that must hold the same values for every compared engine
(sampling, precision, workload and the number of new tokens), and the warnings a profile earns when it
makes one of them differ between its engines (one engine's fixed option, or an axis conditional on the
engine). The study report checks the same fields over stored runs (`app.study.report`)."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from app.sweeps.profile import Axis, Profile
from engine import registry
from engine.config import all_options

# Options that must hold the same values for every compared value of a group, or the comparison is
# not like for like: sampling, precision, workload and the number of new tokens.
FAIR_FIELDS = ("temperature", "top_p", "seed", "dtype", "quantization", "kv_cache_dtype", "workload",
               "prompt_file", "prompt_order", "input_tokens", "num_requests", "output_tokens", "ignore_eos")


@functools.cache
def fair_defaults() -> Mapping[str, Any]:
    """For each fair field, its default where an engine declares it: what a trial used for an option its
    engine does not have (hf-pipeline has no `kv_cache_dtype`: its KV cache is the default one)."""
    defaults: dict[str, Any] = {}
    for name in registry.names():
        for field, declared in all_options(name).items():
            if field in FAIR_FIELDS:
                defaults.setdefault(field, declared.default)
    return defaults


def fairness_warnings(profile: Profile) -> list[str]:
    """One line per fair field whose values the profile makes differ between its engines, naming the
    field and each engine's values (empty for a one-engine profile)."""
    if len(profile.engines) < 2:
        return []
    out = []
    for field in FAIR_FIELDS:
        per_engine = {engine: _values(profile, engine, field) for engine in profile.engines}
        if len(set(per_engine.values())) > 1:
            shown = "; ".join(f"{engine}: {values}" for engine, values in per_engine.items())
            out.append(f"{field} differs between engines ({shown}): they are not compared like for like")
    return out


def _values(profile: Profile, engine: str, field: str) -> str:
    """What trials on `engine` use for `field`: the axis that applies on that engine, else its fixed value
    (its own, then the shared one), else the default."""
    for axis in profile.axes:
        if axis.name == field and engine in axis.when.get("engine", (engine,)):
            return _axis_text(axis)
    config = profile.start(engine)
    if field in config:
        return repr(config[field])
    info = all_options(engine).get(field)
    return repr(info.default if info is not None else fair_defaults().get(field))


def _axis_text(axis: Axis) -> str:
    if axis.values is not None:
        return "swept over " + ", ".join(repr(v) for v in axis.values)
    spacing = " log" * axis.log + f" step={axis.step:g}" * (axis.step is not None) + f" num={axis.num}" * (
        axis.num is not None)
    return f"swept over {axis.low:g}..{axis.high:g}{spacing}"
