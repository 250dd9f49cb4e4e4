"""What a sweep profile says: the base trial, the axes swept, the search strategy, budget and goals.

Profiles are data (TOML, see `app.sweeps.profile_parse`); this module holds their typed form.
Axes are addressed by flat option name, like everything else (`batch_size`, `max_num_seqs`).
"""

from __future__ import annotations

import dataclasses
import math
import operator
from collections.abc import Callable, Mapping
from typing import Any

STRATEGIES = ("grid", "random", "optuna")
DIRECTIONS = ("maximize", "minimize")
OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le, ">=": operator.ge, "<": operator.lt, ">": operator.gt}

# Sane sizes for what a profile may ask; anything larger is refused before any work.
MAX_PROFILE_BYTES = 1 << 20
MAX_NAME_CHARS = 200
MAX_DESCRIPTION_CHARS = 4000
MAX_TAGS = 32
MAX_CONSTRAINT_CHARS = 200
MAX_AXIS_POINTS = 1000
MAX_TRIALS = 10_000
MAX_SEED = 2**31 - 1


@dataclasses.dataclass(frozen=True)
class Axis:
    """One swept option: explicit `values`, or a `low`..`high` range (int or float, optionally log).

    A grid needs discrete points: a range then gives `step` (linear) or `num` points (log or linear).
    `when` makes the axis conditional: it applies only to configs whose options equal those values
    (a list means any of them), e.g. `draft_model` only when `speculative = "draft"`.
    `stop_after_oom`: once a trial runs out of memory at a value, the trials at larger values with every
    other option equal are not run (`app.sweeps.planning.stopped_by_oom`).
    """

    name: str
    values: tuple[Any, ...] | None = None
    low: float | None = None
    high: float | None = None
    integer: bool = False
    log: bool = False
    step: float | None = None
    num: int | None = None
    when: Mapping[str, tuple[Any, ...]] = dataclasses.field(default_factory=dict)
    stop_after_oom: bool = False

    def active(self, config: Mapping[str, Any]) -> bool:
        """Whether the axis applies to a config with these option values."""
        return all(config.get(k) in allowed for k, allowed in self.when.items())

    def point_count(self) -> float:
        """How many values `grid_points` gives, without making them (inf for a float range without
        step or num, which a grid refuses)."""
        if self.values is not None:
            return len(self.values)
        assert self.low is not None and self.high is not None
        if self.num is not None:
            return self.num
        if self.step is not None:
            span = (self.high - self.low) / self.step
            return math.floor(span + 1e-9) + 1 if math.isfinite(span) else math.inf
        if self.integer and not self.log:
            return self.high - self.low + 1
        if self.integer:
            return math.floor(math.log2(self.high / self.low)) + 2
        return math.inf

    def grid_points(self) -> tuple[Any, ...]:
        """The discrete values a grid takes (ValueError if a float range gives neither step nor num)."""
        if self.values is not None:
            return self.values
        assert self.low is not None and self.high is not None
        if self.num is not None:
            points = _spaced(self.low, self.high, self.num, self.log)
        elif self.step is not None:
            count = int(math.floor((self.high - self.low) / self.step + 1e-9)) + 1
            points = [self.low + i * self.step for i in range(count)]
        elif self.integer and not self.log:
            points = list(range(int(self.low), int(self.high) + 1))
        elif self.integer:
            points = _powers_of_two(int(self.low), int(self.high))
        else:
            raise ValueError("a float range in a grid needs `step` or `num`")
        if self.integer:
            return tuple(dict.fromkeys(int(round(p)) for p in points))
        return tuple(float(p) for p in points)


def _spaced(low: float, high: float, num: int, log: bool) -> list[float]:
    if num == 1:
        return [low]
    if log:
        a, b = math.log(low), math.log(high)
        return [math.exp(a + (b - a) * i / (num - 1)) for i in range(num)]
    return [low + (high - low) * i / (num - 1) for i in range(num)]


def _powers_of_two(low: int, high: int) -> list[int]:
    """Integer log ranges without `num` take low, 2·low, 4·low, … up to high (then high itself)."""
    points, p = [], low
    while p <= high:
        points.append(p)
        p *= 2
    return points if points[-1] == high else [*points, high]


@dataclasses.dataclass(frozen=True)
class Objective:
    metric: str
    direction: str  # "maximize" | "minimize"


@dataclasses.dataclass(frozen=True)
class Constraint:
    """`metric op bound`, e.g. `ttft_ms_p99 <= 200`; a hard limit, never folded into the objective."""

    metric: str
    op: str
    bound: float

    def violation(self, value: float | None) -> float:
        """Optuna's convention: <= 0 when satisfied, > 0 (how far off) when not; an unmeasured value
        counts as violated (1.0), since the limit cannot be shown to hold."""
        if value is None or not math.isfinite(value):
            return 1.0
        if OPERATORS[self.op](value, self.bound):
            return 0.0
        return max(abs(value - self.bound), 1e-12)

    def __str__(self) -> str:
        return f"{self.metric} {self.op} {self.bound:g}"


@dataclasses.dataclass(frozen=True)
class Profile:
    """A validated sweep profile. `base` is the flat config every trial starts from (model, repetitions
    and the fixed options, plus `engine` when the profile has one engine); each trial adds its axis values.

    With an `engine` axis (always the first axis) `base` holds the options every swept engine shares and
    `engine_options` the fixed options of one engine only ({engine: {option: value}}), which a trial on
    that engine adds when its engine is chosen (`start`).
    """

    name: str
    description: str
    base: Mapping[str, Any]
    axes: tuple[Axis, ...]
    strategy: str
    n_trials: int | None
    timeout_s: float | None
    seed: int
    objectives: tuple[Objective, ...]
    constraints: tuple[Constraint, ...]
    tags: tuple[str, ...] = ()
    source: str = dataclasses.field(default="<profile>", compare=False)
    host: str | None = None  # where the workers run: an SSH host (None: this computer)
    engine_options: Mapping[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict)

    @property
    def engines(self) -> tuple[str, ...]:
        """The engines the trials run on: the fixed engine, or the engine axis's values."""
        axis = self.engine_axis
        if axis is None:
            return (str(self.base["engine"]),)
        return tuple(str(v) for v in axis.values or ())

    @property
    def engine_axis(self) -> Axis | None:
        """The `engine` axis, if the profile sweeps the engine."""
        return next((a for a in self.axes if a.name == "engine"), None)

    def start(self, engine: str) -> dict[str, Any]:
        """The flat config a trial on `engine` starts from: `base`, the engine and its own fixed options."""
        return {**self.base, "engine": engine, **self.engine_options.get(engine, {})}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (stored with the sweep)."""
        return {"name": self.name, "description": self.description, "base": dict(self.base),
                "axes": [_axis_dict(a) for a in self.axes], "strategy": self.strategy,
                "n_trials": self.n_trials, "timeout_s": self.timeout_s, "seed": self.seed,
                "objectives": [dataclasses.asdict(o) for o in self.objectives],
                "constraints": [str(c) for c in self.constraints], "tags": list(self.tags),
                "source": self.source, "host": self.host,
                "engine_options": {k: dict(v) for k, v in self.engine_options.items()}}


def _axis_dict(axis: Axis) -> dict[str, Any]:
    d = {k: v for k, v in dataclasses.asdict(axis).items() if v not in (None, False, {})}
    if axis.values is not None:
        d["values"] = list(axis.values)
    if axis.when:
        d["when"] = {k: list(v) for k, v in axis.when.items()}
    return d
