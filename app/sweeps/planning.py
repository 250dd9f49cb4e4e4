"""Which trials a grid or random sweep runs, validated and ordered to reuse loaded models.

Configs are full flat configs (`TrialConfig.from_flat(...).to_flat()`: defaults filled in), so two
trials are "the same" exactly when their flat configs are equal — what resume relies on.
"""

from __future__ import annotations

import functools
import json
import math
import random
from collections.abc import Iterable, Mapping
from typing import Any

from app.sweeps.profile import Axis, Profile
from engine.config import TrialConfig, all_options
from engine.errors import ConfigError


def normalize(config: Mapping[str, Any]) -> dict[str, Any]:
    """The full flat config (defaults filled in); ConfigError naming the option if invalid."""
    return TrialConfig.from_flat(config).to_flat()


def normalized_or_as_is(config: Mapping[str, Any]) -> dict[str, Any]:
    """`normalize(config)`, or a plain copy of a stored config that no longer validates."""
    try:
        return normalize(config)
    except ConfigError:
        return dict(config)


def identity_or_none(config: Mapping[str, Any]) -> str | None:
    """`config_identity` of the normalized config; None for a config that does not validate."""
    try:
        return config_identity(normalize(config))
    except ConfigError:
        return None


@functools.cache
def _load_time_options(engine: str) -> frozenset[str]:
    return frozenset(name for name, info in all_options(engine).items() if info.load_time)


@functools.cache
def defaults_of(engine: str) -> Mapping[str, Any]:
    """The flat config of `engine` with every option at its default."""
    return normalize({"engine": engine})


def load_key(flat: Mapping[str, Any]) -> str:
    """`TrialConfig.load_key` of a normalized flat config, as a string (without re-validating it)."""
    keep = _load_time_options(str(flat["engine"]))
    return json.dumps([(k, v) for k, v in flat.items() if k == "engine" or k in keep], default=str)


def config_identity(config: Mapping[str, Any]) -> str:
    """A string equal for equal flat configs (key order ignored)."""
    return json.dumps(config, sort_keys=True, default=str)


def _expand(profile: Profile, choose: Any) -> list[dict[str, Any]]:
    """Configs from the profile's base × its axes, applying conditional axes only where their condition
    holds (judged with the config's engine's defaults). `choose(axis)` gives the values to branch on for
    one axis; the engine axis also brings in its engine's own fixed options."""
    engines = profile.engines if profile.engine_axis is None else choose(profile.engine_axis)
    configs = [profile.start(engine) for engine in engines]
    for axis in profile.axes:
        if axis.name == "engine":
            continue
        grown = []
        for config in configs:
            if axis.active({**defaults_of(config["engine"]), **config}):
                grown.extend({**config, axis.name: v} for v in choose(axis))
            else:
                grown.append(config)
        configs = grown
    return configs


def plan_grid(profile: Profile) -> list[dict[str, Any]]:
    """Every combination of the axes' grid points (capped by n_trials), ordered by load key."""
    configs = _expand(profile, Axis.grid_points)
    unique = list({config_identity(c): c for c in map(normalize, configs)}.values())
    if profile.n_trials is not None:
        unique = unique[:profile.n_trials]
    return order_by_load_key(_climbing(profile, unique))


def plan_random(profile: Profile) -> list[dict[str, Any]]:
    """n_trials configs sampled with the profile's seed (distinct where the space allows), by load key."""
    rng = random.Random(profile.seed)
    assert profile.n_trials is not None
    seen: dict[str, dict[str, Any]] = {}
    drawn: set[str] = set()
    for _ in range(profile.n_trials * 20):
        if len(seen) == profile.n_trials:
            break
        config = _expand(profile, lambda axis: [sample_axis(axis, rng)])[0]
        raw = config_identity(config)
        if raw not in drawn:  # validating is the costly part: once per distinct draw
            drawn.add(raw)
            flat = normalize(config)
            seen.setdefault(config_identity(flat), flat)
    return order_by_load_key(_climbing(profile, list(seen.values())))


def require_a_valid_draw(profile: Profile, draws: int = 32) -> None:
    """For a search that picks its own trials (Optuna): raise the first draw's ConfigError if none of
    `draws` seeded random draws is a valid config, i.e. the fixed options conflict whatever is swept."""
    rng = random.Random(profile.seed)
    first: ConfigError | None = None
    for _ in range(draws):
        try:
            normalize(_expand(profile, lambda axis: [sample_axis(axis, rng)])[0])
            return
        except ConfigError as exc:
            first = first or exc
    assert first is not None
    raise first


def sample_axis(axis: Axis, rng: random.Random) -> Any:
    """One value of an axis: uniform over values, uniform or log-uniform over a range (on its step)."""
    if axis.values is not None:
        return rng.choice(axis.values)
    assert axis.low is not None and axis.high is not None
    if axis.step is not None or axis.num is not None:
        return rng.choice(axis.grid_points())
    if axis.log:
        value = math.exp(rng.uniform(math.log(axis.low), math.log(axis.high)))
    else:
        value = rng.uniform(axis.low, axis.high)
    return min(max(int(round(value)), int(axis.low)), int(axis.high)) if axis.integer else value


def order_by_load_key(configs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Group configs sharing a load key (first-seen order kept), so each model loads once."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for config in configs:
        groups.setdefault(load_key(config), []).append(config)
    return [c for group in groups.values() for c in group]


def _climbing(profile: Profile, configs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Configs in ascending order of the stop_after_oom axes (stable), so an axis is climbed from its
    smallest value and an out-of-memory failure can stop it (unchanged without such axes)."""
    names = [a.name for a in profile.axes if a.stop_after_oom]
    if not names:
        return configs
    return sorted(configs, key=lambda c: [(c.get(n) is not None, c.get(n) or 0) for n in names])  # None first


def stopped_by_oom(profile: Profile, config: Mapping[str, Any], ooms: Iterable[Mapping[str, Any]]) -> str | None:
    """Why `config` is not run, or None: a trial with every other option equal ran out of memory (`ooms`:
    their flat configs) at a smaller value of a stop_after_oom axis."""
    for axis in profile.axes:
        name = axis.name
        if not axis.stop_after_oom or name not in config:
            continue
        for failed in ooms:
            if (None not in (failed.get(name), config[name]) and failed[name] < config[name]
                    and failed.keys() == config.keys()
                    and all(failed[k] == v for k, v in config.items() if k != name)):
                return (f"not run: out of memory at {name}={failed[name]} with every other option equal "
                        f"({name} stops after out of memory)")
    return None


def axis_params(profile: Profile, config: Mapping[str, Any]) -> dict[str, Any]:
    """The swept values of a config: {axis name: value} for the axes active on it."""
    return {a.name: config[a.name] for a in profile.axes if a.active(config) and a.name in config}

