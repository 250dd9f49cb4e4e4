"""Writing a `Profile` back as TOML (what the GUI saves); `parse_profile(dump_profile(p))` equals p.

A small writer for the profile's own shapes (scalars, lists, inline tables), so no TOML-writing
dependency is needed.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from app.sweeps.profile import Axis, Profile


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)  # a JSON string is a valid TOML basic string
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, Mapping):
        return "{ " + ", ".join(f"{_key(k)} = {_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"cannot write {v!r} ({type(v).__name__}) to TOML")


def _key(k: str) -> str:
    return k if k.replace("_", "").replace("-", "").isalnum() else json.dumps(k)


def _axis(axis: Axis) -> Any:
    spec: dict[str, Any] = {}
    if axis.values is not None:
        spec["values"] = list(axis.values)
    else:
        spec["min"], spec["max"] = axis.low, axis.high
        if axis.log:
            spec["log"] = True
        if axis.step is not None:
            spec["step"] = axis.step
        if axis.num is not None:
            spec["num"] = axis.num
    if axis.when:
        spec["when"] = {k: list(v) if len(v) > 1 else v[0] for k, v in axis.when.items()}
    if axis.stop_after_oom:
        spec["stop_after_oom"] = True
    return spec["values"] if list(spec) == ["values"] else spec


def dump_profile(profile: Profile) -> str:
    """The profile as TOML text (None options are left out: they mean the option's default)."""
    lines = [f"name = {_value(profile.name)}"]
    if profile.description:
        lines.append(f"description = {_value(profile.description)}")
    if "engine" in profile.base:
        lines.append(f"engine = {_value(profile.base['engine'])}")
    lines.append(f"strategy = {_value(profile.strategy)}")
    if profile.tags:
        lines.append(f"tags = {_value(list(profile.tags))}")
    if profile.host:
        lines.append(f"host = {_value(profile.host)}")
    if profile.constraints:
        lines.append(f"constraints = {_value([str(c) for c in profile.constraints])}")
    options = {k: v for k, v in profile.base.items() if k != "engine" and v is not None}
    if options:
        lines += ["", "[options]", *(f"{_key(k)} = {_value(v)}" for k, v in options.items())]
    for engine in profile.engines:
        own = {k: v for k, v in profile.engine_options.get(engine, {}).items() if v is not None}
        if own:
            lines += ["", f"[options.{_key(engine)}]", *(f"{_key(k)} = {_value(v)}" for k, v in own.items())]
    if profile.axes:
        lines += ["", "[axes]", *(f"{_key(a.name)} = {_value(_axis(a))}" for a in profile.axes)]
    budget = {"n_trials": profile.n_trials, "timeout_s": profile.timeout_s, "seed": profile.seed}
    lines += ["", "[budget]", *(f"{k} = {_value(v)}" for k, v in budget.items() if v is not None)]
    for o in profile.objectives:
        lines += ["", "[[objectives]]", f"metric = {_value(o.metric)}", f"direction = {_value(o.direction)}"]
    return "\n".join(lines) + "\n"
