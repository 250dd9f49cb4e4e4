"""Typed option fields with the metadata that validation, the GUI form and sweeps all read.

An option is a dataclass field declared with `option(...)`. Its metadata says what the option means
(`help`), its unit, its allowed values (`choices` or `min`/`max`) and whether changing it requires a
model reload (`load_time`). `build(cls, data, prefix)` turns a plain dict into a validated instance,
raising ConfigError that names the field and what is allowed.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import reprlib
import types
import typing
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from engine.errors import ConfigError

T = TypeVar("T")

MAX_TEXT_CHARS = 4096  # Linux's PATH_MAX: the longest model path or URL an option needs


class _Brief(reprlib.Repr):
    def __init__(self) -> None:
        super().__init__()
        self.maxstring = self.maxother = 80
        self.maxlevel, self.maxlist, self.maxdict = 2, 6, 6

    def repr_int(self, x: int, level: int) -> str:
        if x.bit_length() > 200:  # repr() of a huge int is slow, and refused past 4300 digits
            return f"<an integer of about {int(x.bit_length() * math.log10(2)) + 1} digits>"
        return repr(x)


_BRIEF = _Brief()


def brief(value: Any) -> str:
    """A short repr for error messages: long strings and deep or long containers are cut with '...'."""
    return _BRIEF.repr(value)


def check_text(value: str, path: str, limit: int = MAX_TEXT_CHARS, *, multiline: bool = False) -> str:
    """`value` if it is at most `limit` characters, all printable (`str.isprintable`, the store's rule
    for tags; tab and newline allowed when `multiline`); ConfigError naming `path` otherwise."""
    if len(value) > limit:
        raise ConfigError(path, f"is {len(value):,} characters long; at most {limit:,} are allowed")
    allowed = "\t\n" if multiline else ""
    bad = next((ch for ch in value if not ch.isprintable() and ch not in allowed), None)
    if bad is not None:
        kind = unicodedata.name(bad, "a control character")
        raise ConfigError(path, f"contains the non-printable character {bad!r} ({kind}) in {brief(value)}")
    return value


def option(
    default: Any,
    help: str,
    *,
    choices: Sequence[Any] | None = None,
    min: float | None = None,
    max: float | None = None,
    unit: str = "",
    load_time: bool = False,
    advanced: bool = False,
) -> Any:
    """Declare a dataclass field as a user-facing option.

    Args:
        default: Default value (immutable).
        help: One sentence on what it means; shown as the GUI tooltip and in errors.
        choices: The allowed values, if a closed set.
        min: Smallest allowed value (numbers).
        max: Largest allowed value (numbers).
        unit: Unit shown beside the value ("tokens", "s", "Hz").
        load_time: True if changing it requires loading the model again.
        advanced: True to group it under "advanced" in forms.
    """
    meta = {"help": help, "choices": tuple(choices) if choices else None, "min": min, "max": max,
            "unit": unit, "load_time": load_time, "advanced": advanced}
    return dataclasses.field(default=default, metadata=meta)


@dataclasses.dataclass(frozen=True)
class OptionInfo:
    """What a form or a sweep needs to know of one option."""

    name: str
    type: type
    optional: bool
    default: Any
    help: str
    choices: tuple[Any, ...] | None
    min: float | None
    max: float | None
    unit: str
    load_time: bool
    advanced: bool

    def allowed(self) -> str:
        """Human description of the allowed values."""
        if self.choices:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        low = "-inf" if self.min is None else f"{self.min:g}"
        high = "inf" if self.max is None else f"{self.max:g}"
        kind = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}[self.type]
        return kind if self.type in (bool, str) else f"{kind} in [{low}, {high}]"


def options_of(cls: type) -> dict[str, OptionInfo]:
    """The options a dataclass declares, in declaration order (a fresh dict each call)."""
    return dict(_options_of(cls))


@functools.cache
def _options_of(cls: type) -> dict[str, OptionInfo]:
    # Cached: get_type_hints evaluates every annotation string, ~1 ms a class, and validating a
    # 10,000-trial grid asks 40,000 times.
    hints = typing.get_type_hints(cls)
    out: dict[str, OptionInfo] = {}
    for f in dataclasses.fields(cls):
        if "help" not in f.metadata:
            continue
        base, optional = _unwrap_optional(hints[f.name])
        m = f.metadata
        out[f.name] = OptionInfo(f.name, base, optional, f.default, m["help"], m["choices"], m["min"],
                                 m["max"], m["unit"], m["load_time"], m["advanced"])
    return out


def _unwrap_optional(hint: Any) -> tuple[type, bool]:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return args[0], True
    return hint, False


def coerce(info: OptionInfo, value: Any, path: str) -> Any:
    """Check one value against its option; return it in the option's type or raise ConfigError."""
    if value is None:
        if info.optional:
            return None
        raise ConfigError(path, f"is required: {info.allowed()}")
    value = _convert(info, value, path)
    if info.choices is not None and value not in info.choices:
        raise ConfigError(path, f"got {brief(value)}; allowed: {info.allowed()}")
    if info.min is not None and value < info.min or info.max is not None and value > info.max:
        raise ConfigError(path, f"got {brief(value)}; allowed: {info.allowed()}")
    return value


def _convert(info: OptionInfo, value: Any, path: str) -> Any:
    t = info.type
    if t is bool:
        if isinstance(value, bool):
            return value
    elif t is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
    elif t is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = float(value) if isinstance(value, float) or abs(value) < 2**1023 else math.inf
            if not math.isfinite(number):  # NaN passes every range check; refuse it (and inf) here
                raise ConfigError(path, f"got {brief(value)}; expected a finite number: {info.allowed()}")
            return number
    elif t is str:
        if isinstance(value, str):
            return check_text(value, path)
    raise ConfigError(path, f"got {brief(value)} ({type(value).__name__}); expected {info.allowed()}")


def build(cls: type[T], data: Mapping[str, Any], prefix: str = "") -> T:
    """Validate `data` against the options of `cls` and return an instance.

    Unknown keys are refused with the list of known ones, so a typo never passes silently.
    """
    infos = options_of(cls)
    unknown = sorted(set(data) - set(infos))
    if unknown:
        raise ConfigError(prefix + unknown[0], "unknown option; known: " + ", ".join(infos))
    values = {name: coerce(info, data[name], prefix + name) for name, info in infos.items() if name in data}
    return cls(**values)


def to_dict(obj: Any) -> dict[str, Any]:
    """Plain-dict form of an options dataclass (JSON-ready)."""
    return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
