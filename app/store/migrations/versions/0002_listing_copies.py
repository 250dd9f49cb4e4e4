"""Listing copies: each run's summary metric values kept on the run (listing 10,000 runs read 300,000
metric rows), and its telemetry as one JSON array per run instead of one row per sample (a compare
view of 50 runs read 30,000 rows).

`runs.metric_names` holds the names as a JSON array, `runs.metric_values` the values in that order as
little-endian float64 bytes (NaN: unavailable; NULL: no metrics). Existing data is copied over from
the metrics rows, and each run's telemetry rows become one array in `seq` order. The formats are
written out here, not imported, so this revision keeps meaning what it meant when it shipped.

Revision ID: 0002_listing_copies
Revises: 0001_initial
Create Date: 2026-11-23
"""

from __future__ import annotations

import json
import math
import sys
from array import array
from collections.abc import Iterator
from itertools import groupby
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0002_listing_copies"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

BATCH = 500


def upgrade() -> None:
    conn = op.get_bind()
    op.add_column("runs", sa.Column("metric_names", sa.Text, nullable=False, server_default="[]"))
    op.add_column("runs", sa.Column("metric_values", sa.LargeBinary))
    metric_rows = conn.execute(sa.text("SELECT run_id, name, value FROM metrics ORDER BY run_id, name"))
    _update_in_batches(conn, "UPDATE runs SET metric_names = :names, metric_values = :values WHERE id = :run_id",
                       (_listing_copy(run_id, list(rows)) for run_id, rows in groupby(metric_rows, key=lambda r: r[0])))
    op.create_table(
        "run_telemetry",
        sa.Column("run_id", sa.Integer, nullable=False),
        sa.Column("samples_json", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("run_id", name="pk_run_telemetry"),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name="fk_run_telemetry_run_id_runs", ondelete="CASCADE"),
    )
    sample_rows = conn.execute(sa.text("SELECT run_id, sample_json FROM telemetry ORDER BY run_id, seq"))
    _update_in_batches(conn, "INSERT INTO run_telemetry (run_id, samples_json) VALUES (:run_id, :text)",
                       ({"run_id": run_id, "text": "[" + ",".join(r[1] for r in rows) + "]"}
                        for run_id, rows in groupby(sample_rows, key=lambda r: r[0])))
    op.drop_table("telemetry")


def downgrade() -> None:
    conn = op.get_bind()
    op.create_table(
        "telemetry",
        sa.Column("run_id", sa.Integer, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("t", sa.Float, nullable=False),
        sa.Column("sample_json", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("run_id", "seq", name="pk_telemetry"),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name="fk_telemetry_run_id_runs", ondelete="CASCADE"),
    )
    series = conn.execute(sa.text("SELECT run_id, samples_json FROM run_telemetry ORDER BY run_id"))
    _update_in_batches(conn, "INSERT INTO telemetry (run_id, seq, t, sample_json) VALUES (:run_id, :seq, :t, :text)",
                       ({"run_id": run_id, "seq": seq, "t": float(s.get("t", 0.0)),
                         "text": json.dumps(s, separators=(",", ":"))}
                        for run_id, text in series for seq, s in enumerate(json.loads(text))))
    op.drop_table("run_telemetry")
    for column in ("metric_values", "metric_names"):  # native ALTER (SQLite ≥ 3.35): a copy would cascade deletes
        op.drop_column("runs", column)


def _listing_copy(run_id: int, rows: list[Any]) -> dict[str, Any]:
    values = array("d", [math.nan if r[2] is None else r[2] for r in rows])
    if sys.byteorder == "big":
        values.byteswap()
    return {"run_id": run_id, "names": json.dumps([r[1] for r in rows], separators=(",", ":")),
            "values": values.tobytes()}


def _update_in_batches(conn: sa.Connection, statement: str, params: Iterator[dict[str, Any]]) -> None:
    """Execute `statement` for every parameter set, BATCH at a time (executemany)."""
    batch: list[dict[str, Any]] = []
    for p in params:
        batch.append(p)
        if len(batch) == BATCH:
            conn.execute(sa.text(statement), batch)
            batch = []
    if batch:
        conn.execute(sa.text(statement), batch)
