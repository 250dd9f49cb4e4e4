"""Reading TOML profiles (data only, via tomllib) into validated `Profile`s.

Every problem raises `ProfileError` naming the file, the line and the key, and what was expected.
The layout (see profiles/*.toml):

    name, description, engine, model, strategy ("grid" | "random" | "optuna"), repetitions, tags, host
    [options]      fixed trial options by flat name (options every engine of the profile has)
    [options.ENGINE]  fixed options of one engine (e.g. [options.vllm] max_num_seqs = 64)
    [axes]         name = [values]  |  { values = [...] }  |  { min, max, step?, num?, log? }
                   each may add `when = { option = value-or-values }` (conditional axis)
                   `engine = ["hf-pipeline", "vllm"]` sweeps the engine (instead of the top-level
                   `engine`); an axis on an option only some of them have applies to those only
    [budget]       n_trials, timeout_s, seed
    [[objectives]] metric, direction ("maximize" | "minimize")
    constraints =  ["ttft_ms_p99 <= 200", "peak_rss_bytes <= 20e9"]
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
import stat
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from app.store.store import MAX_TAG_CHARS
from app.sweeps.errors import KeyPath, ProfileError, dotted, locate, toml_syntax_line
from app.sweeps.profile import (
    DIRECTIONS,
    MAX_AXIS_POINTS,
    MAX_CONSTRAINT_CHARS,
    MAX_DESCRIPTION_CHARS,
    MAX_NAME_CHARS,
    MAX_PROFILE_BYTES,
    MAX_SEED,
    MAX_TAGS,
    MAX_TRIALS,
    OPERATORS,
    STRATEGIES,
    Axis,
    Constraint,
    Objective,
    Profile,
)
from engine import registry, rules
from engine.config import all_options
from engine.errors import ConfigError
from engine.metric_names import CATALOGUE
from engine.schema import OptionInfo, brief, check_text, coerce

TOP_KEYS = ("name", "description", "engine", "model", "strategy", "repetitions", "tags", "host", "options",
            "axes", "budget", "objectives", "constraints")
BUDGET_KEYS = ("n_trials", "timeout_s", "seed")
AXIS_KEYS = ("values", "min", "max", "step", "num", "log", "when", "stop_after_oom")
_CONSTRAINT = re.compile(r"^\s*([A-Za-z0-9_]+)\s*(<=|>=|<|>)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$")


def load_profile(path: str | Path) -> Profile:
    """Read and validate a profile file: UTF-8 TOML text of at most MAX_PROFILE_BYTES."""
    path = Path(path)
    return parse_profile(_decode(_read(path), str(path)), str(path))


def _read(path: Path) -> bytes:
    try:
        if not stat.S_ISREG(path.stat().st_mode):  # a FIFO or a device could block or never end
            raise ProfileError(str(path), None, "", "not a regular file")
        with path.open("rb") as file:
            raw = file.read(MAX_PROFILE_BYTES + 1)
    except OSError as exc:
        raise ProfileError(str(path), None, "", f"cannot read the profile: {exc.strerror or exc}") from exc
    if len(raw) > MAX_PROFILE_BYTES:
        raise ProfileError(str(path), None, "", f"larger than {MAX_PROFILE_BYTES:,} bytes; a profile is a "
                           "small TOML text file")
    return raw


def _decode(raw: bytes, source: str) -> str:
    try:
        return raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ProfileError(source, line, "", f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset "
                           f"{exc.start}); a profile is a TOML text file") from None


def parse_profile(text: str, source: str) -> Profile:
    """Validate profile text; `source` names it in errors (usually the file path)."""
    if len(text) > MAX_PROFILE_BYTES:
        raise ProfileError(source, None, "", f"longer than {MAX_PROFILE_BYTES:,} characters; a profile is a "
                           "small TOML text file")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(source, toml_syntax_line(str(exc)), "", f"TOML syntax error: {exc}") from exc
    except RecursionError:
        raise ProfileError(source, None, "", "arrays or inline tables nested too deeply") from None
    except ValueError as exc:  # tomllib lets int() refuse integers of more than 4300 digits
        raise ProfileError(source, None, "", f"TOML value error: {brief(str(exc))}") from None
    return _Parser(text, source, data).profile()


class _Parser:
    def __init__(self, text: str, source: str, data: dict[str, Any]) -> None:
        self.text, self.source, self.data = text, source, data

    def fail(self, path: KeyPath, message: str) -> ProfileError:
        return ProfileError(self.source, locate(self.text, path), dotted(path), message)

    def get(self, table: Mapping[str, Any], path: KeyPath, kind: type | tuple[type, ...], expected: str,
            default: Any = None) -> Any:
        value = table.get(str(path[-1]), default)
        if value is default:
            return value
        if (not isinstance(value, kind) or (isinstance(value, bool) and bool not in _as_tuple(kind))
                or isinstance(value, float) and not math.isfinite(value)):
            raise self.fail(path, f"expected {expected}, got {brief(value)}")
        return value

    def string(self, table: Mapping[str, Any], path: KeyPath, limit: int, default: str,
             multiline: bool = False) -> str:
        """A string key of at most `limit` characters with no control characters."""
        value = self.get(table, path, str, "a string", default)
        try:
            return check_text(value, dotted(path), limit, multiline=multiline)
        except ConfigError as exc:
            raise self.fail(path, exc.message) from None

    def profile(self) -> Profile:
        d = self.data
        self.check_keys(d, [], TOP_KEYS)
        stem = Path(self.source).stem if self.source.endswith(".toml") else "profile"
        name = self.string(d, ["name"], MAX_NAME_CHARS, stem)
        engines, swept = self.engines()
        infos = {engine: all_options(engine) for engine in engines}
        base, engine_options = self.base_config(engines, swept, infos)
        axes = self.axes(engines, swept, infos, base, engine_options)
        self.check_paths(base, engine_options, axes)
        strategy = self.get(d, ["strategy"], str, "a string", "grid")
        if strategy not in STRATEGIES:
            raise self.fail(["strategy"], f"expected one of {', '.join(STRATEGIES)}, got {brief(strategy)}")
        n_trials, timeout_s, seed = self.budget(strategy)
        objectives = self.objectives(strategy)
        description = self.string(d, ["description"], MAX_DESCRIPTION_CHARS, "", multiline=True)
        profile = Profile(name, description, base, axes, strategy, n_trials, timeout_s, seed, objectives,
                          self.constraints(), self.tags(), self.source, host=self.host(),
                          engine_options=engine_options)
        from app.sweeps.planning import plan_grid, plan_random, require_a_valid_draw  # imports our types only

        if strategy == "grid":
            self.check_grid(profile, plan_grid)
        elif strategy == "random":
            self.check_planned(profile, plan_random)
        else:  # Optuna picks trials as it goes: refuse only fixed options that no swept value can rescue
            self.check_planned(profile, require_a_valid_draw)
        return profile

    def host(self) -> str | None:
        """The SSH host the sweep's workers run on (as the user's ssh knows it), or None for this computer."""
        if "host" not in self.data:
            return None
        return self.string(self.data, ["host"], MAX_NAME_CHARS, "") or None

    def engines(self) -> tuple[tuple[str, ...], bool]:
        """The profile's engines and whether they are swept: `[axes] engine = [...]`, or the top-level
        `engine` (one of the two, not both)."""
        axes = self.get(self.data, ["axes"], dict, "a table of swept options", {})
        if "engine" not in axes:
            engine = self.get(self.data, ["engine"], str, "a string naming the engine")
            if engine is None or engine not in registry.engines():
                raise self.fail(["engine"], f"expected one of {', '.join(registry.names())}, got {brief(engine)}")
            return (engine,), False
        path: list[str | int] = ["axes", "engine"]
        if "engine" in self.data:
            raise self.fail(["engine"], "is also swept in [axes] engine; set it in one place (with an engine "
                            "axis, leave the top-level engine out)")
        spec = axes["engine"]
        if isinstance(spec, dict):
            self.check_keys(spec, path, ("values",))
            spec, path = spec.get("values"), [*path, "values"]
        if not isinstance(spec, list) or not spec:
            raise self.fail(path, "expected a non-empty list of engine names")
        for value in spec:
            if value not in registry.engines():
                raise self.fail(path, f"expected engines among {', '.join(registry.names())}, got {brief(value)}")
        return tuple(dict.fromkeys(spec)), True

    def check_keys(self, table: Mapping[str, Any], path: list[str | int], known: tuple[str, ...]) -> None:
        for key in table:
            if key not in known:
                close = difflib.get_close_matches(key, known, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise self.fail([*path, key], f"unknown key{hint}; expected one of {', '.join(known)}")

    def base_config(self, engines: tuple[str, ...], swept: bool, infos: Mapping[str, Mapping[str, OptionInfo]]
                    ) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
        """The fixed options every engine shares (with `engine` unless it is swept), and each engine's own
        ([options.ENGINE] tables)."""
        options = self.get(self.data, ["options"], dict, "a table of trial options", {})
        base: dict[str, Any] = {} if swept else {"engine": engines[0]}
        for key in ("model", "repetitions"):
            if key in self.data:
                if key in options:
                    raise self.fail(["options", key], f"is also set at the top level as {key!r}")
                base[key] = self.shared_value(engines, infos, key, self.data[key], [key])
        own: dict[str, dict[str, Any]] = {}
        for key, value in options.items():
            if key == "engine":
                raise self.fail(["options", key], "set the engine at the top level (engine = \"...\") or "
                                "sweep it ([axes] engine = [...])")
            if key in registry.engines() and isinstance(value, dict):
                own[key] = self.engine_table(engines, infos, key, value)
            else:
                base[key] = self.shared_value(engines, infos, key, value, ["options", key])
        for engine, table in own.items():
            for key in table:
                if key in base:
                    raise self.fail(["options", engine, key], f"is also set for every engine as {key!r}; set it "
                                    "in one place")
        return base, own

    def engine_table(self, engines: tuple[str, ...], infos: Mapping[str, Mapping[str, OptionInfo]], engine: str,
                     table: Mapping[str, Any]) -> dict[str, Any]:
        """The [options.ENGINE] table: fixed options of one of the profile's engines."""
        if engine not in engines:
            raise self.fail(["options", engine], f"options for engine {engine!r}, which this profile does not run "
                            f"(its engines: {', '.join(engines)})")
        out = {}
        for key, value in table.items():
            if key in ("engine", "model", "repetitions"):
                raise self.fail(["options", engine, key], f"{key} is the same for every engine: set it at the top "
                                "level")
            out[key] = self.option_value(infos[engine], key, value, ["options", engine, key])
        return out

    def shared_value(self, engines: tuple[str, ...], infos: Mapping[str, Mapping[str, OptionInfo]], key: str,
                     value: Any, path: KeyPath) -> Any:
        """A fixed option for every engine; refused (naming the engines that have it) if some lack it."""
        having = [e for e in engines if key in infos[e]]
        if having and len(having) < len(engines):
            lacking = [e for e in engines if e not in having]
            raise self.fail(path, f"is an option of {', '.join(having)} only, not of {', '.join(lacking)}: set it "
                            f"in [options.{having[0]}]")
        return [self.option_value(infos[e], key, value, path) for e in engines][0]

    def option_value(self, infos: Mapping[str, OptionInfo], key: str, value: Any, path: KeyPath) -> Any:
        info = infos.get(key)
        if info is None:
            close = difflib.get_close_matches(key, list(infos), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise self.fail(path, f"unknown trial option{hint}; known: {', '.join(infos)}")
        try:
            return coerce(info, value, key)
        except ConfigError as exc:
            raise self.fail(path, exc.message) from exc

    def axes(self, engines: tuple[str, ...], swept: bool, infos: Mapping[str, Mapping[str, OptionInfo]],
             base: Mapping[str, Any], engine_options: Mapping[str, Mapping[str, Any]]) -> tuple[Axis, ...]:
        """The axes: the engine axis first (if swept), then the others, conditional ones last."""
        table = self.get(self.data, ["axes"], dict, "a table of swept options", {})
        axes = [self.axis(engines, infos, name, spec, base, engine_options)
                for name, spec in table.items() if name != "engine"]
        first = (Axis("engine", values=engines),) if swept else ()
        return (*first, *sorted(axes, key=lambda a: bool(a.when)))  # conditional axes after the ones they test

    def axis(self, engines: tuple[str, ...], infos: Mapping[str, Mapping[str, OptionInfo]], name: str, spec: Any,
             base: Mapping[str, Any], engine_options: Mapping[str, Mapping[str, Any]]) -> Axis:
        path: list[str | int] = ["axes", name]
        if name in base:
            raise self.fail(path, "is also a fixed option; set it in one place")
        having = tuple(e for e in engines if name in infos[e])
        if not having:
            self.option_value(union_options(engines), name, None, path)  # raises "unknown trial option"
        if isinstance(spec, list):
            spec = {"values": spec}
        if not isinstance(spec, dict):
            raise self.fail(path, "expected a list of values or a table {values=[...]} / {min=, max=}")
        self.check_keys(spec, path, AXIS_KEYS)
        when = self.condition(engines, infos, spec.get("when"), [*path, "when"])
        if "engine" in when:
            lacking = [e for e in when["engine"] if e not in having]
            if lacking:
                raise self.fail([*path, "when", "engine"], f"{name} is not an option of {', '.join(lacking)} "
                                f"(only of {', '.join(having)})")
        elif len(having) < len(engines):  # an engine-only option: swept on the engines that have it
            when = {"engine": having, **when}
        fixed = [e for e in when.get("engine", engines) if name in engine_options.get(e, {})]
        if fixed:
            raise self.fail(path, f"is also a fixed option of {', '.join(fixed)} ([options.{fixed[0]}]); set it "
                            "in one place")
        options = infos[when.get("engine", having)[0]]
        info = options[name]
        stop = self.get(spec, [*path, "stop_after_oom"], bool, "true or false", False)
        if stop and info.type not in (int, float):
            raise self.fail([*path, "stop_after_oom"], f"needs a numeric option (larger values need more memory); "
                            f"{name} takes {info.allowed()}")
        if "values" in spec:
            values = spec["values"]
            if not isinstance(values, list) or not values:
                raise self.fail([*path, "values"], "expected a non-empty list of values")
            if len(values) > MAX_AXIS_POINTS:
                raise self.fail([*path, "values"], f"{len(values):,} values; at most {MAX_AXIS_POINTS:,}")
            extra = sorted(set(spec) - {"values", "when", "stop_after_oom"})
            if extra:
                raise self.fail([*path, extra[0]], "cannot be combined with `values`")
            coerced = tuple(self.option_value(options, name, v, [*path, "values"]) for v in values)
            return Axis(name, values=tuple(dict.fromkeys(coerced)), when=when, stop_after_oom=stop)
        return dataclasses.replace(self.range_axis(info, name, spec, when, path), stop_after_oom=stop)

    def range_axis(self, info: OptionInfo, name: str, spec: Mapping[str, Any],
                   when: Mapping[str, tuple[Any, ...]], path: list[str | int]) -> Axis:
        if info.type not in (int, float):
            raise self.fail(path, f"a range needs a numeric option; {name} takes {info.allowed()}: use values")
        for key in ("min", "max"):
            if key not in spec:
                raise self.fail([*path, key], "is required for a range (or give `values`)")
        low = self.option_value({name: info}, name, spec["min"], [*path, "min"])
        high = self.option_value({name: info}, name, spec["max"], [*path, "max"])
        if low >= high:
            raise self.fail([*path, "max"], f"expected a value above min ({low}), got {high}")
        log = self.get(spec, [*path, "log"], bool, "true or false", False)
        if log and low <= 0:
            raise self.fail([*path, "min"], "expected a value above 0 for a log range")
        step = self.get(spec, [*path, "step"], (int, float), "a positive number")
        num = self.get(spec, [*path, "num"], int, "a positive integer")
        if step is not None and (step <= 0 or log or (info.type is int and not float(step).is_integer())):
            raise self.fail([*path, "step"], "expected a positive step (an integer for integer options), "
                            "not combined with log")
        if num is not None and num < 1:
            raise self.fail([*path, "num"], f"expected a positive integer, got {num}")
        if step is not None and num is not None:
            raise self.fail([*path, "num"], "give `step` or `num`, not both")
        axis = Axis(name, low=low, high=high, integer=info.type is int, log=log, step=step, num=num, when=when)
        if (step is not None or num is not None) and axis.point_count() > MAX_AXIS_POINTS:
            raise self.fail([*path, "step" if step is not None else "num"],
                            f"gives more than {MAX_AXIS_POINTS:,} points")
        return axis

    def condition(self, engines: tuple[str, ...], infos: Mapping[str, Mapping[str, OptionInfo]], spec: Any,
                  path: list[str | int]) -> dict:
        if spec is None:
            return {}
        if not isinstance(spec, dict) or not spec:
            raise self.fail(path, "expected a table {option = value or [values]}")
        out = {}
        for key, value in spec.items():
            values = value if isinstance(value, list) else [value]
            if key == "engine":
                for v in values:
                    if v not in engines:
                        raise self.fail([*path, key], f"expected engines of this profile ({', '.join(engines)}), "
                                        f"got {brief(v)}")
                out[key] = tuple(dict.fromkeys(values))
            else:
                out[key] = tuple(self.option_value(union_options(engines), key, v, [*path, key]) for v in values)
        return out

    def budget(self, strategy: str) -> tuple[int | None, float | None, int]:
        table = self.get(self.data, ["budget"], dict, "a table", {})
        self.check_keys(table, ["budget"], BUDGET_KEYS)
        n_trials = self.get(table, ["budget", "n_trials"], int, "a positive integer")
        if n_trials is not None and not 1 <= n_trials <= MAX_TRIALS:
            raise self.fail(["budget", "n_trials"], f"expected an integer in [1, {MAX_TRIALS}], got "
                            f"{brief(n_trials)}")
        if n_trials is None and strategy != "grid":
            raise self.fail(["budget", "n_trials"] if "budget" in self.data else ["strategy"],
                            f"strategy {strategy!r} needs budget.n_trials (a positive integer)")
        timeout_s = self.get(table, ["budget", "timeout_s"], (int, float), "a number of seconds")
        if timeout_s is not None and timeout_s <= 0:
            raise self.fail(["budget", "timeout_s"], f"expected a positive number of seconds, got {timeout_s}")
        seed = self.get(table, ["budget", "seed"], int, "an integer", 0)
        if not 0 <= seed <= MAX_SEED:
            raise self.fail(["budget", "seed"], f"expected an integer in [0, {MAX_SEED}], got {brief(seed)}")
        return n_trials, None if timeout_s is None else float(timeout_s), seed

    def objectives(self, strategy: str) -> tuple[Objective, ...]:
        items = self.get(self.data, ["objectives"], list, "an array of tables [[objectives]]", [])
        out = []
        for i, item in enumerate(items):
            path: list[str | int] = ["objectives", i]
            if not isinstance(item, dict):
                raise self.fail(path, "expected a table with metric and direction")
            self.check_keys(item, path, ("metric", "direction"))
            metric = self.metric(item.get("metric"), [*path, "metric"])
            direction = item.get("direction")
            if direction not in DIRECTIONS:
                raise self.fail([*path, "direction"], f"expected one of {', '.join(DIRECTIONS)}, got {brief(direction)}")
            out.append(Objective(metric, direction))
        if strategy == "optuna" and not out:
            raise self.fail(["strategy"], "strategy 'optuna' needs at least one [[objectives]] entry")
        return tuple(out)

    def metric(self, name: Any, path: KeyPath) -> str:
        if not isinstance(name, str) or name not in CATALOGUE:
            close = difflib.get_close_matches(str(name), list(CATALOGUE), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise self.fail(path, f"expected a metric name from engine.metric_names, got {brief(name)}{hint}")
        return name

    def constraints(self) -> tuple[Constraint, ...]:
        out = []
        for i, text in enumerate(self.string_list(self.data, ["constraints"], MAX_CONSTRAINT_CHARS)):
            found = _CONSTRAINT.match(text)
            if not found:
                raise self.fail(["constraints", i], f"expected 'metric <=|>=|<|> number', got {brief(text)}")
            metric = self.metric(found.group(1), ["constraints", i])
            assert found.group(2) in OPERATORS
            bound = float(found.group(3))
            if not math.isfinite(bound):
                raise self.fail(["constraints", i], f"expected a finite bound, got {found.group(3)}")
            out.append(Constraint(metric, found.group(2), bound))
        return tuple(out)

    def tags(self) -> tuple[str, ...]:
        tags = self.string_list(self.data, ["tags"], MAX_TAG_CHARS)
        if len(tags) > MAX_TAGS:
            raise self.fail(["tags"], f"{len(tags)} tags; at most {MAX_TAGS}")
        return tuple(tags)

    def string_list(self, table: Mapping[str, Any], path: list[str | int], limit: int) -> list[str]:
        """A list of strings, each of at most `limit` characters with no control characters."""
        value = table.get(str(path[-1]), [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(path, f"expected a list of strings, got {brief(value)}")
        for i, item in enumerate(value):
            try:
                check_text(item, dotted([*path, i]), limit)
            except ConfigError as exc:
                raise self.fail([*path, i], exc.message) from None
        return value

    def check_paths(self, base: Mapping[str, Any], engine_options: Mapping[str, Mapping[str, Any]],
                    axes: tuple[Axis, ...]) -> None:
        """Every local path a trial would read (model, draft model, prompt file) exists and is readable."""
        for name in rules.PATH_OPTIONS:
            where: list[str | int] = [name] if name in self.data else ["options", name]
            found = [(where, base[name])] if name in base else []
            found += [(["options", e, name], own[name]) for e, own in engine_options.items() if name in own]
            found += [(["axes", a.name], v) for a in axes if a.name == name for v in a.values or ()]
            for path, value in found:
                try:
                    rules.check_local_path(name, value)
                except ConfigError as exc:
                    raise self.fail(path, exc.message) from None

    def check_grid(self, profile: Profile, plan_grid: Callable[[Profile], Any]) -> None:
        size = 1.0
        for axis in profile.axes:
            count = axis.point_count()
            if count == math.inf:
                raise self.fail(["axes", axis.name], "a float range in a grid needs `step` or `num`")
            if count > MAX_AXIS_POINTS:
                raise self.fail(["axes", axis.name], f"gives {count:,} grid points; at most {MAX_AXIS_POINTS:,}")
            size *= count
        if size > MAX_TRIALS and (profile.n_trials is None or profile.n_trials > MAX_TRIALS):
            raise self.fail(["axes"], f"the grid has {size:,.0f} trials; at most {MAX_TRIALS:,} (or set "
                            "budget.n_trials)")
        self.check_planned(profile, plan_grid)

    def check_planned(self, profile: Profile, plan: Callable[[Profile], Any]) -> None:
        """`plan(profile)` raises no ConfigError: every trial of a grid or of a random sweep's seeded
        draws is valid, or some of an Optuna sweep's draws are; and no trial's `quantization` contradicts
        the quantization its checkpoint carries (read from config.json or the GGUF header)."""
        try:
            planned = plan(profile)
            for engine, model, quantization in _checkpoint_settings(profile, planned):
                rules.check_checkpoint_files(engine, model, quantization)
        except ConfigError as exc:
            own = [e for e, table in profile.engine_options.items() if exc.field in table]
            path = (["axes", exc.field] if any(a.name == exc.field for a in profile.axes)
                    else [exc.field] if exc.field in self.data
                    else ["options", exc.field] if exc.field in profile.base
                    else ["options", own[0], exc.field] if own else ["axes"])
            raise ProfileError(self.source, locate(self.text, path), exc.field,
                               f"a trial of the {profile.strategy} sweep is invalid: {exc.message}") from exc


def union_options(engines: tuple[str, ...]) -> dict[str, OptionInfo]:
    """The options of any of `engines` (the first engine's description of a shared one)."""
    out: dict[str, OptionInfo] = {}
    for engine in engines:
        for key, info in all_options(engine).items():
            out.setdefault(key, info)
    return out


def _checkpoint_settings(profile: Profile, planned: list[dict[str, Any]] | None) -> list[tuple[str, str, str]]:
    """The distinct (engine, model, quantization) of the planned trials; for a search that plans none
    (Optuna), the fixed pair when neither is swept."""
    if planned is not None:
        return sorted({(c["engine"], c["model"], c["quantization"]) for c in planned})
    if any(a.name in ("model", "quantization") for a in profile.axes):
        return []
    return [(engine, profile.base.get("model", "demo"),
             profile.start(engine).get("quantization", "none")) for engine in profile.engines]


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)

