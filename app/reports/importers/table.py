"""Import a table of results someone else measured (CSV or Parquet) as runs, through a column mapping.

The mapping (TOML, data only) says which columns are trial options, which are metrics (with units), which
holds the status (and how its values map to InferLab's failure causes), and what hardware measured them.
Two shapes are read:

- long: one row per measurement; every row becomes one run (a failed row a failed run with its cause);
- wide: one row per group, one column per value of a swept option (say one column per batch size); every
  filled cell becomes one run, a cell that is not a number a failed run with the cause its text maps to.

Imported runs keep the mapping's `source` as their source, and every figure says which file and column it
came from. Nothing of the table is evaluated: cells are read as text or numbers.
"""

from __future__ import annotations

import csv
import dataclasses
import math
import re
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from app.reports.importers.common import ImportFormatError
from engine.causes import FailureCause
from engine.results import Measurement, TrialResult

MAX_TABLE_BYTES = 512 * 1024 * 1024
_SHAPES = ("long", "wide")


@dataclasses.dataclass(frozen=True)
class MetricColumn:
    column: str
    name: str
    unit: str


@dataclasses.dataclass(frozen=True)
class TableMapping:
    """A validated column mapping (see the module docstring and profiles/imports/*.toml)."""

    source: str
    shape: str
    options: dict[str, str]                    # option name -> column
    constants: dict[str, Any]                  # option name -> value given in the mapping
    values: dict[str, dict[str, Any]]          # option name -> {cell text -> option value}
    metrics: tuple[MetricColumn, ...]          # long shape
    status_column: str | None
    ok_values: tuple[str, ...]
    causes: dict[str, str]                     # status text -> failure cause
    hardware: dict[str, Any]                   # environment record fields (constants)
    wide_option: str | None = None             # wide shape: the option the columns sweep
    wide_pattern: re.Pattern[str] | None = None
    wide_metric: MetricColumn | None = None


def load_mapping(path: Path) -> TableMapping:
    """Read and check a mapping file; ImportFormatError names the file and the key."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportFormatError(f"{path}: cannot read the mapping: {exc}") from exc
    except (tomllib.TOMLDecodeError, RecursionError) as exc:
        raise ImportFormatError(f"{path}: not valid TOML: {exc}") from exc
    return _mapping(data, path)


def _mapping(data: dict[str, Any], path: Path) -> TableMapping:
    def table(key: str) -> dict[str, Any]:
        value = data.get(key, {})
        if not isinstance(value, dict):
            raise ImportFormatError(f"{path}: {key}: should be a table")
        return value

    def text(where: str, value: Any) -> str:
        if not isinstance(value, str) or not value or len(value) > 200:
            raise ImportFormatError(f"{path}: {where}: should be a column name or label (1-200 characters)")
        return value

    shape = data.get("shape", "long")
    if shape not in _SHAPES:
        raise ImportFormatError(f"{path}: shape: should be one of {', '.join(_SHAPES)}, got {shape!r}")
    options = {text(f"options.{k}", k): text(f"options.{k}", v) for k, v in table("options").items()}
    causes = {str(k): text(f"causes.{k}", v) for k, v in table("causes").items()}
    for status, cause in causes.items():
        if cause not in set(FailureCause):
            raise ImportFormatError(f"{path}: causes.{status}: {cause!r} is not a failure cause; allowed: "
                                    f"{', '.join(FailureCause)}")
    values = {}
    for option, mapping in table("values").items():
        if not isinstance(mapping, dict):
            raise ImportFormatError(f"{path}: values.{option}: should be a table of cell text = value")
        values[option] = mapping
    ok_values = data.get("ok_values", [])
    if not isinstance(ok_values, list) or not all(isinstance(v, str) for v in ok_values):
        raise ImportFormatError(f"{path}: ok_values: should be a list of status texts")
    status_column = data.get("status")
    if status_column is not None:
        text("status", status_column)
    metrics = tuple(_metric(f"metrics.{k}", k, v, path) for k, v in table("metrics").items())
    wide = table("wide")
    if shape == "long" and not metrics:
        raise ImportFormatError(f"{path}: metrics: a long table needs at least one metric column")
    if shape == "wide":
        for key in ("option", "columns", "name", "unit"):
            if key not in wide:
                raise ImportFormatError(f"{path}: wide.{key}: missing (a wide table names the swept option, a "
                                        "pattern of its columns, and the metric name and unit of its cells)")
        try:
            pattern = re.compile(text("wide.columns", wide["columns"]))
        except re.error as exc:
            raise ImportFormatError(f"{path}: wide.columns: not a regular expression: {exc}") from exc
        if "value" not in pattern.groupindex:
            raise ImportFormatError(f"{path}: wide.columns: needs a (?P<value>...) group for the option's value")
        return TableMapping(text("source", data.get("source")), shape, options, table("constants"), values, (),
                            None, (), causes, table("hardware"), text("wide.option", wide["option"]), pattern,
                            MetricColumn("", text("wide.name", wide["name"]), text("wide.unit", wide["unit"])))
    return TableMapping(text("source", data.get("source")), shape, options, table("constants"), values, metrics,
                        status_column, tuple(ok_values), causes, table("hardware"))


def _metric(where: str, column: str, spec: Any, path: Path) -> MetricColumn:
    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str) or not isinstance(spec.get("unit"), str):
        raise ImportFormatError(f"{path}: {where}: should be {{ name = \"metric_name\", unit = \"tok/s\" }}")
    return MetricColumn(column, spec["name"], spec["unit"])


def read_rows(path: Path) -> Iterator[dict[str, Any]]:
    """The table's rows as dicts (CSV by the csv module, Parquet through pyarrow)."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ImportFormatError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    if size > MAX_TABLE_BYTES:
        raise ImportFormatError(f"{path}: {size} bytes is over the {MAX_TABLE_BYTES} bytes a table may have")
    if path.suffix.lower() == ".parquet":
        yield from _parquet_rows(path)
        return
    try:
        with path.open(newline="", encoding="utf-8") as f:
            yield from csv.DictReader(f)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ImportFormatError(f"{path}: not a UTF-8 CSV table: {exc}") from exc


def _parquet_rows(path: Path) -> Iterator[dict[str, Any]]:
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise ImportFormatError(f"{path}: reading Parquet needs pyarrow (pip install pyarrow)") from exc
    try:
        yield from pq.read_table(path).to_pylist()
    except Exception as exc:  # pyarrow raises its own ArrowInvalid / OSError family for a bad file
        raise ImportFormatError(f"{path}: not a Parquet table: {exc}") from exc


def load(path: Path, mapping: TableMapping) -> list[TrialResult]:
    """Every run the table holds, in row order."""
    rows = read_rows(path)
    if mapping.shape == "wide":
        return [r for i, row in enumerate(rows, start=1) for r in _wide_runs(row, i, path, mapping)]
    return [_long_run(row, i, path, mapping) for i, row in enumerate(rows, start=1)]


def _config(row: Mapping[str, Any], line: int, path: Path, mapping: TableMapping) -> dict[str, Any]:
    config = dict(mapping.constants)
    for option, column in mapping.options.items():
        if column not in row:
            raise ImportFormatError(f"{path}: row {line}: no column {column!r} (options.{option})")
        cell = row[column]
        config[option] = mapping.values.get(option, {}).get(str(cell), _plain(cell))
    return config


def _plain(cell: Any) -> Any:
    """A cell as the option value it means: integers and finite floats as numbers, anything else as text."""
    if isinstance(cell, (int, float)) and not isinstance(cell, bool):
        return cell
    text = str(cell).strip()
    for kind in (int, float):
        try:
            value = kind(text)
        except ValueError:
            continue
        if math.isfinite(value):
            return value
    return text


def _number(cell: Any) -> float | None:
    """A finite number, or None for an empty, non-numeric or non-finite cell."""
    try:
        value = float(cell)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _environment(path: Path, line: int, mapping: TableMapping, column: str = "") -> dict[str, Any]:
    where = f"row {line}" + (f", column {column}" if column else "")
    return {"imported_from": mapping.source, "file": path.name, "row": where, **mapping.hardware}


def _long_run(row: Mapping[str, Any], line: int, path: Path, mapping: TableMapping) -> TrialResult:
    config = _config(row, line, path, mapping)
    status = str(row.get(mapping.status_column, "")).strip() if mapping.status_column else ""
    env = _environment(path, line, mapping)
    trial_id = f"{mapping.source}:{path.name}:{line}"
    if mapping.status_column and status not in mapping.ok_values:
        return _failed(trial_id, config, env, status, mapping, path)
    metrics = {}
    for m in mapping.metrics:
        value = _number(row.get(m.column))
        method = f"imported from {path.name} ({mapping.source}), column {m.column}"
        metrics[m.name] = (Measurement.measured(value, m.unit, method) if value is not None else
                           Measurement.unavailable(m.unit, f"{method}: cell is empty or not a number"))
    return TrialResult(trial_id, config, "ok", metrics, environment=env,
                       notes=[f"Imported from {path.name}, {env['row']}, mapped by {mapping.source}."])


def _wide_runs(row: Mapping[str, Any], line: int, path: Path, mapping: TableMapping) -> Iterator[TrialResult]:
    assert mapping.wide_pattern is not None and mapping.wide_metric is not None and mapping.wide_option
    base = _config(row, line, path, mapping)
    for column, cell in row.items():
        match = mapping.wide_pattern.fullmatch(str(column))
        if match is None or cell is None or str(cell).strip() == "":
            continue
        config = {**base, mapping.wide_option: _plain(match["value"])}
        env = _environment(path, line, mapping, column)
        trial_id = f"{mapping.source}:{path.name}:{line}:{column}"
        value = _number(cell)
        if value is None:
            yield _failed(trial_id, config, env, str(cell).strip(), mapping, path)
            continue
        metric = mapping.wide_metric
        yield TrialResult(trial_id, config, "ok", {metric.name: Measurement.measured(
            value, metric.unit, f"imported from {path.name} ({mapping.source}), column {column}")},
            environment=env, notes=[f"Imported from {path.name}, {env['row']}, mapped by {mapping.source}."])


def _failed(trial_id: str, config: dict[str, Any], env: dict[str, Any], status: str,
            mapping: TableMapping, path: Path) -> TrialResult:
    """A failed run whose cause is the one the mapping gives its status text; a status the mapping does not
    know is refused rather than given a guessed cause."""
    cause = mapping.causes.get(status)
    if cause is None:
        raise ImportFormatError(f"{path}: {env['row']}: status {status!r} is neither in ok_values nor in "
                                "[causes] of the mapping; add it to one of them")
    return TrialResult(trial_id, config, "failed", failure_cause=cause,
                       failure_message=f"{status or 'no status'} (as recorded in {env['file']}, {env['row']})",
                       environment=env)
