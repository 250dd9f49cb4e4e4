"""The JSON report's schema (a JSON Schema subset, documented in docs/report-schema.md) and a checker.

`validate(doc)` understands the keywords used here: type, required, properties, additionalProperties,
items, enum and const; it returns every violation with its JSON path (an empty list means valid).
Bump SCHEMA_VERSION's major on any change that breaks a reader, its minor on additions.
"""

from __future__ import annotations

from typing import Any

# 2.0: ci95_low/ci95_high became the interval `ci_method` describes (for new runs a 95% CI of the
# median, was a t-interval of the mean); added ci_method, n_distinct, caveat.
SCHEMA_VERSION = "2.1"

_NUM = ["number", "null"]
_STR = ["string", "null"]

MEASUREMENT = {
    "type": "object",
    "required": ["value", "unit", "status", "method", "ci95_low", "ci95_high", "n", "ci_method", "n_distinct",
                 "caveat"],
    "additionalProperties": False,
    "properties": {
        "value": {"type": _NUM}, "unit": {"type": "string"},
        "status": {"enum": ["measured", "estimated", "unavailable"]}, "method": {"type": "string"},
        "ci95_low": {"type": _NUM}, "ci95_high": {"type": _NUM}, "n": {"type": ["integer", "null"]},
        "ci_method": {"type": _STR}, "n_distinct": {"type": ["integer", "null"]}, "caveat": {"type": _STR},
    },
}

RUN = {
    "type": "object",
    "required": ["id", "label", "source", "engine", "model", "status", "failure_cause", "failure_message",
                 "sweep_id", "created_at", "started_at", "finished_at", "tags", "notes", "config",
                 "environment", "metrics", "result_notes", "request_count", "telemetry_sample_count"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "integer"}, "label": {"type": "string"}, "source": {"type": "string"},
        "engine": {"type": "string"}, "model": {"type": "string"},
        "status": {"enum": ["ok", "failed", "cancelled"]},
        "failure_cause": {"type": _STR}, "failure_message": {"type": _STR},
        "sweep_id": {"type": ["integer", "null"]}, "created_at": {"type": "number"},
        "started_at": {"type": _NUM}, "finished_at": {"type": _NUM},
        "tags": {"type": "array", "items": {"type": "string"}}, "notes": {"type": "string"},
        "config": {"type": "object"}, "environment": {"type": "object"},
        "metrics": {"type": "object", "additionalProperties": MEASUREMENT},
        "result_notes": {"type": "array", "items": {"type": "string"}},
        "request_count": {"type": "integer"}, "telemetry_sample_count": {"type": "integer"},
    },
}

SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["schema_version", "generator", "generated_at", "title", "notes", "options", "metrics", "runs"],
    "additionalProperties": False,
    "properties": {
        "schema_version": {"const": SCHEMA_VERSION},
        "generator": {"type": "string"}, "generated_at": {"type": "number"},
        "title": {"type": "string"}, "notes": {"type": "string"},
        "options": {
            "type": "object", "required": ["names", "differing"], "additionalProperties": False,
            "properties": {"names": {"type": "array", "items": {"type": "string"}},
                           "differing": {"type": "array", "items": {"type": "string"}}},
        },
        "metrics": {"type": "array", "items": {
            "type": "object", "required": ["name", "unit", "label", "higher_is_better", "meaning"],
            "additionalProperties": False,
            "properties": {"name": {"type": "string"}, "unit": {"type": "string"}, "label": {"type": "string"},
                           "higher_is_better": {"type": "boolean"}, "meaning": {"type": "string"},
                           "headline": {"type": "integer", "minimum": 0,
                                        "description": "rank among the headline figures (1 first); 0: not one"}},
        }},
        "runs": {"type": "array", "items": RUN},
    },
}

_TYPES: dict[str, Any] = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}


def _is_type(value: Any, name: str) -> bool:
    if name == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if name == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, _TYPES[name])


def validate(doc: Any, schema: dict[str, Any] | None = None, path: str = "$") -> list[str]:
    """Every violation of `schema` (the report schema by default) in `doc`, as 'path: problem'."""
    schema = SCHEMA if schema is None else schema
    errors: list[str] = []
    if "const" in schema and doc != schema["const"]:
        errors.append(f"{path}: expected {schema['const']!r}, got {doc!r}")
    if "enum" in schema and doc not in schema["enum"]:
        errors.append(f"{path}: {doc!r} is not one of {schema['enum']}")
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_is_type(doc, t) for t in types):
            return [*errors, f"{path}: expected {'/'.join(types)}, got {type(doc).__name__}"]
    if isinstance(doc, dict):
        errors += [f"{path}: missing key {k!r}" for k in schema.get("required", []) if k not in doc]
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        for k, v in doc.items():
            if k in props:
                errors += validate(v, props[k], f"{path}.{k}")
            elif extra is False:
                errors.append(f"{path}: unexpected key {k!r}")
            elif isinstance(extra, dict):
                errors += validate(v, extra, f"{path}.{k}")
    if isinstance(doc, list) and "items" in schema:
        for i, v in enumerate(doc):
            errors += validate(v, schema["items"], f"{path}[{i}]")
    return errors
