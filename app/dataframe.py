"""Stored runs as a pandas DataFrame, for notebooks and scripts.

    from app.dataframe import runs_frame
    df = runs_frame(status="ok", engine="hf-generate")   # the default store, or store_url="sqlite:///..."
    df[["model", "config.batch_size", "output_tokens_per_s [tok/s]"]]

pandas is imported only here, when called (the `dataframe` extra).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from app.store import Store

if TYPE_CHECKING:
    import pandas as pd

RUN_COLUMNS = ("id", "created_at", "engine", "model", "status", "failure_cause", "sweep_id", "source")


def runs_frame(store_url: str | None = None, **filters: Any) -> pd.DataFrame:
    """One row per run matching `filters` (those of `Store.list_runs`: status, engine, model, sweep_id,
    tag, text, limit, sort), indexed by run id.

    Columns: the run's identity and status, `tags`, each config option as `config.NAME`, and each metric
    as `NAME [UNIT]` (NaN where the run could not measure it). `df.attrs["units"]` maps metric names to
    units; `df.attrs["not_measured"]` maps a metric to {run id: "estimated: METHOD" or "unavailable:
    REASON"} for each figure that was not measured."""
    import pandas as pd

    with Store(store_url) as store:
        runs = store.list_runs(**filters)
        rows, units, not_measured = [], {}, {}
        for run in runs:
            row: dict[str, Any] = {name: getattr(run, name) for name in RUN_COLUMNS}
            row["tags"] = ",".join(run.tags)
            row.update({f"config.{key}": value for key, value in run.config.items()})
            for name, measurement in run.metrics.items():
                units[name] = measurement.unit
                row[f"{name} [{measurement.unit}]"] = measurement.value
                if measurement.status != "measured":
                    not_measured.setdefault(name, {})[run.id] = f"{measurement.status}: {measurement.method}"
            rows.append(row)
    frame = pd.DataFrame(rows, columns=_columns(rows)).set_index("id", drop=False)
    frame.attrs["units"] = units
    frame.attrs["not_measured"] = not_measured
    return frame


def _columns(rows: list[dict[str, Any]]) -> list[str]:
    """Identity first, then config options, then metrics, each group in first-seen order."""
    seen = dict.fromkeys(RUN_COLUMNS + ("tags",))
    for row in rows:
        seen.update(dict.fromkeys(row))
    rest = [c for c in seen if c not in RUN_COLUMNS and c != "tags"]
    return [*RUN_COLUMNS, "tags", *[c for c in rest if c.startswith("config.")],
            *[c for c in rest if not c.startswith("config.")]]
