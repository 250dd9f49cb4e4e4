"""The store's tables (SQLAlchemy Core). Changing them means adding an Alembic revision too.

Summary metrics are one row per run × metric so filtering and sorting are SQL, not JSON parsing;
`runs.metric_names`/`runs.metric_values` keep a compact copy of their values on each run (names as a
JSON array, values as float64 bytes), written in the same transaction, so listing thousands of runs
reads one row each instead of thirty and decodes no text per value. Per-request records
and the telemetry samples (one JSON array per run, always read whole) hang off their run and go with
it on delete. JSON columns are TEXT written by `json.dumps`, so the same schema works on SQLite and PostgreSQL.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(naming_convention={
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})

sweeps = sa.Table(
    "sweeps", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False, index=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("strategy", sa.String(40), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("profile_json", sa.Text, nullable=False),
)

runs = sa.Table(
    "runs", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("created_at", sa.Float, nullable=False, index=True),
    sa.Column("sweep_id", sa.Integer, sa.ForeignKey("sweeps.id", ondelete="SET NULL"), index=True),
    sa.Column("trial_id", sa.String(100), nullable=False),
    sa.Column("engine", sa.String(40), nullable=False, index=True),
    sa.Column("model", sa.String(500), nullable=False, index=True),
    sa.Column("status", sa.String(20), nullable=False, index=True),
    sa.Column("failure_cause", sa.String(40)),
    sa.Column("failure_message", sa.Text),
    sa.Column("source", sa.String(100), nullable=False),
    sa.Column("config_json", sa.Text, nullable=False),
    sa.Column("config_key", sa.String(64), nullable=False, index=True),
    sa.Column("metric_names", sa.Text, nullable=False, server_default="[]"),
    sa.Column("metric_values", sa.LargeBinary),  # NULL: no metrics (a failed run)
    sa.Column("environment_json", sa.Text, nullable=False),
    sa.Column("result_notes_json", sa.Text, nullable=False),
    sa.Column("sample_outputs_json", sa.Text, nullable=False),
    sa.Column("notes", sa.Text, nullable=False),
    sa.Column("started_at", sa.Float),
    sa.Column("finished_at", sa.Float),
)

run_tags = sa.Table(
    "run_tags", metadata,
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("tag", sa.String(200), primary_key=True, index=True),
)

metrics = sa.Table(
    "metrics", metadata,
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("value", sa.Float),
    sa.Column("unit", sa.String(40), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("method", sa.Text, nullable=False),
    sa.Column("ci95_low", sa.Float),
    sa.Column("ci95_high", sa.Float),
    sa.Column("n", sa.Integer),
    sa.Column("ci_method", sa.Text),
    sa.Column("n_distinct", sa.Integer),
    sa.Column("caveat", sa.Text),
    sa.Index("ix_metrics_name_value", "name", "value"),
)

requests = sa.Table(
    "requests", metadata,
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("repetition", sa.Integer, primary_key=True),
    sa.Column("idx", sa.Integer, primary_key=True),
    sa.Column("input_tokens", sa.Integer, nullable=False),
    sa.Column("output_tokens", sa.Integer, nullable=False),
    sa.Column("start_s", sa.Float, nullable=False),
    sa.Column("first_token_s", sa.Float),
    sa.Column("end_s", sa.Float, nullable=False),
    sa.Column("ok", sa.Boolean, nullable=False),
    sa.Column("error", sa.Text),
)

run_telemetry = sa.Table(
    "run_telemetry", metadata,
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("samples_json", sa.Text, nullable=False),  # the run's telemetry samples, one JSON array
)
