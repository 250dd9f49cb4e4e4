"""The finite grid an Optuna search walks, and what an out-of-memory point says about its neighbours.

Points are Optuna parameter dicts (an ordinal axis's parameter is its index among the sorted grid
points, so a larger parameter is a larger value). `MEMORY_DIRECTION` is the one table of how an
option moves a trial's accelerator memory; an out-of-memory point implies that every point needing
at least as much memory is out of memory too: the same value on every other axis, a value ≥ on each
+1 axis and ≤ on each −1 axis. Options not in the table bound nothing. The number of visible GPUs
under HF `device_map="auto"` is deliberately not there: in the study's A100 data Bloom-3b fits batch
32 on 2 GPUs but runs out of memory at batch 32 on 8 (the first device holds more as GPUs are added).
A profile's stop_after_oom axes count as +1 axes too (the rule grid and random sweeps apply is this one
restricted to one axis: `app.sweeps.planning.stopped_by_oom`).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any

from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution

# +1: a larger value needs more memory; -1: less (tensor parallelism shards weights and KV cache).
MEMORY_DIRECTION: Mapping[str, int] = {
    "batch_size": 1, "input_tokens": 1, "output_tokens": 1, "tensor_parallel_size": -1}
MAX_POINTS = 100_000  # larger products are searched without enumerating them

Params = dict[str, Any]
Key = tuple[Any, ...]


def _choices(dist: BaseDistribution) -> list[Any] | None:
    """Every value a distribution can take, or None if it is continuous."""
    if isinstance(dist, CategoricalDistribution):
        return list(dist.choices)
    if isinstance(dist, IntDistribution):
        return list(range(dist.low, dist.high + 1, dist.step))
    if isinstance(dist, FloatDistribution) and dist.step is not None:
        count = int(math.floor((dist.high - dist.low) / dist.step + 1e-9)) + 1
        return [dist.low + i * dist.step for i in range(count)]
    return None


class GridSpace:
    """The product of a few discrete distributions: its points, their order and OOM implications."""

    def __init__(self, distributions: Mapping[str, BaseDistribution], choices: Mapping[str, list[Any]],
                 climbing: frozenset[str] = frozenset()) -> None:
        self.distributions = dict(distributions)
        self.climbing = climbing  # stop_after_oom axes: larger values need more memory
        self.names = list(distributions)
        self.choices = {name: choices[name] for name in self.names}
        self.size = math.prod(len(c) for c in self.choices.values())

    @classmethod
    def of(cls, distributions: Mapping[str, BaseDistribution], climbing: frozenset[str] = frozenset()
           ) -> GridSpace | None:
        """The grid of these distributions, or None if one is continuous or the product is too large."""
        choices = {name: _choices(dist) for name, dist in distributions.items()}
        if not choices or any(c is None for c in choices.values()):
            return None
        if math.prod(len(c) for c in choices.values() if c is not None) > MAX_POINTS:
            return None
        return cls(distributions, {name: c for name, c in choices.items() if c is not None}, climbing)

    def key(self, params: Mapping[str, Any]) -> Key:
        return tuple(params[name] for name in self.names)

    def points(self) -> list[Params]:
        return [dict(zip(self.names, combo, strict=True))
                for combo in itertools.product(*(self.choices[n] for n in self.names))]

    def needs_no_less_memory(self, point: Mapping[str, Any], failed: Mapping[str, Any]) -> bool:
        """Whether `point` needs at least the memory of the out-of-memory point `failed`."""
        for name in self.names:
            direction = MEMORY_DIRECTION.get(name, 0) or int(name in self.climbing)
            ordered = not isinstance(self.distributions[name], CategoricalDistribution)
            a, b = point[name], failed[name]
            if direction == 0 or not ordered:
                if a != b:
                    return False
            elif (a - b) * direction < 0:
                return False
        return True

    def implied_oom(self, failed: Mapping[str, Any], among: Sequence[Params]) -> list[Params]:
        """The points of `among` that run out of memory because `failed` did."""
        return [p for p in among if self.needs_no_less_memory(p, failed)]
