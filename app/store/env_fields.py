"""Environment fields: what a run's environment record says about where it ran (GPU model and count, host,
driver, library versions), computed in SQL from `runs.environment_json` (`sql_value`), so a listing
filters on them in the database (`Condition`, `parse_condition`) and the Compare view reads them as group
keys without decoding the records (`Store.environment_fields`).

Each field is read from the record the worker writes (`engine.environment.record`, plus `devices` and
`host`); an imported run's flat hardware field of the same name (`gpu_name`, `host`, … from the
importer's mapping) comes first. `gpu_name` is the model of the trial's GPUs (`NVIDIA H200`; mixed models
joined by ` + `), "no GPU" for a trial on the CPU; `gpu_count` how many it ran on. A field the record
does not say is NULL (never matched, never grouped on).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import sqlalchemy as sa

from app.store.schema import runs
from engine import registry

NO_GPU = "no GPU"
# field name -> the nested path in the worker's record (an imported run's top-level field of the name wins)
SCALAR_PATHS: dict[str, tuple[str, ...]] = {
    "host": ("host",),
    "driver": ("hardware", "driver"),
    "cuda_driver": ("hardware", "cuda_driver"),
    "cpu_model": ("hardware", "cpu_model"),
    "python": ("software", "python"),
    "cuda_runtime": ("software", "cuda_runtime"),
    **{module: ("software", module)
       for module in sorted({r.module for spec in registry.BUILTIN for r in spec.requires})},  # built-in engines
}
FIELDS: tuple[str, ...] = ("gpu_name", "gpu_count", *SCALAR_PATHS)
OPERATORS = ("~=", "=")  # substring (case-insensitive), exact; "~=" is tried first


@dataclasses.dataclass(frozen=True)
class Condition:
    """`field=value` (the field's text equals value) or `field~=value` (contains it, any case)."""

    field: str
    operator: str
    value: str

    def clause(self, dialect: str) -> sa.ColumnElement[bool]:
        """The condition in SQL on `runs.environment_json`, for `dialect` ("sqlite" or "postgresql")."""
        text = sa.cast(sql_value(self.field, dialect), sa.Text)
        if self.operator == "=":
            return text == self.value
        return sa.func.lower(text).contains(self.value.lower(), autoescape=True)

    def __str__(self) -> str:
        return f"{self.field}{self.operator}{self.value}"


def parse_condition(text: str) -> Condition:
    """`KEY=VALUE` or `KEY~=VALUE`; ValueError naming the known keys for an unknown one."""
    for operator in OPERATORS:
        key, found, value = text.partition(operator)
        if found:
            key = key.strip()
            if key not in FIELDS:
                raise ValueError(f"unknown environment field {key!r} in {text!r}; known: {', '.join(FIELDS)}")
            return Condition(key, operator, value.strip())
    raise ValueError(f"{text!r} is not KEY=VALUE or KEY~=VALUE (keys: {', '.join(FIELDS)})")


def sql_value(field: str, dialect: str) -> sa.ColumnElement[Any]:
    """The field's value computed in SQL from `runs.environment_json` (NULL where the record does not say)."""
    env = runs.c.environment_json
    if dialect == "postgresql":
        return sa.literal_column(_POSTGRES[field] if field in _POSTGRES else
                                 f"coalesce(({_PG_DOC})->>'{field}', ({_PG_DOC})#>>'{{{','.join(SCALAR_PATHS[field])}}}')")
    if field in _SQLITE:
        return sa.literal_column(_SQLITE[field])
    path = ".".join(f'"{key}"' for key in SCALAR_PATHS[field])
    return sa.func.coalesce(sa.func.json_extract(env, f'$."{field}"'), sa.func.json_extract(env, f"$.{path}"))


# gpu_name (distinct names sorted bytewise) and gpu_count (an integer) per dialect; the other fields are text
_ENV = "runs.environment_json"
_SQLITE = {
    "gpu_name": f"""coalesce(
        CASE WHEN json_type({_ENV}, '$."gpu_name"') = 'text' THEN json_extract({_ENV}, '$."gpu_name"') END,
        CASE WHEN json_type({_ENV}, '$."devices"') = 'object' THEN coalesce(
            (SELECT group_concat(name, ' + ') FROM (SELECT DISTINCT json_extract(value, '$."name"') AS name
             FROM json_each({_ENV}, '$."devices"."gpus"')
             WHERE coalesce(json_extract(value, '$."name"'), '') != '' ORDER BY name)),
            '{NO_GPU}') END)""",
    "gpu_count": f"""coalesce(
        CASE WHEN json_type({_ENV}, '$."gpu_count"') = 'integer' THEN json_extract({_ENV}, '$."gpu_count"') END,
        CASE WHEN json_type({_ENV}, '$."devices"') = 'object'
             THEN coalesce(json_array_length({_ENV}, '$."devices"."gpus"'), 0) END)""",
}
_PG_DOC = f"CAST({_ENV} AS jsonb)"
_PG_GPUS = f"""CASE WHEN jsonb_typeof({_PG_DOC}->'devices'->'gpus') = 'array'
                    THEN {_PG_DOC}->'devices'->'gpus' ELSE '[]'::jsonb END"""
_POSTGRES = {
    "gpu_name": f"""coalesce(
        CASE WHEN jsonb_typeof({_PG_DOC}->'gpu_name') = 'string' THEN {_PG_DOC}->>'gpu_name' END,
        CASE WHEN jsonb_typeof({_PG_DOC}->'devices') = 'object' THEN coalesce(
            (SELECT string_agg(DISTINCT (g->>'name') COLLATE "C", ' + ' ORDER BY (g->>'name') COLLATE "C")
             FROM jsonb_array_elements({_PG_GPUS}) AS g WHERE coalesce(g->>'name', '') != ''),
            '{NO_GPU}') END)""",
    "gpu_count": f"""coalesce(
        CASE WHEN jsonb_typeof({_PG_DOC}->'gpu_count') = 'number' THEN ({_PG_DOC}->>'gpu_count')::numeric::int END,
        CASE WHEN jsonb_typeof({_PG_DOC}->'devices') = 'object' THEN jsonb_array_length({_PG_GPUS}) END)""",
}
