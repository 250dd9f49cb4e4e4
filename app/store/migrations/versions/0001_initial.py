"""Initial schema: sweeps, runs, tags, summary metrics, per-request records, telemetry samples.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sweeps",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("strategy", sa.String(40), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("profile_json", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sweeps"),
    )
    op.create_index("ix_sweeps_name", "sweeps", ["name"])
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("sweep_id", sa.Integer),
        sa.Column("trial_id", sa.String(100), nullable=False),
        sa.Column("engine", sa.String(40), nullable=False),
        sa.Column("model", sa.String(500), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("failure_cause", sa.String(40)),
        sa.Column("failure_message", sa.Text),
        sa.Column("source", sa.String(100), nullable=False),
        sa.Column("config_json", sa.Text, nullable=False),
        sa.Column("config_key", sa.String(64), nullable=False),
        sa.Column("environment_json", sa.Text, nullable=False),
        sa.Column("result_notes_json", sa.Text, nullable=False),
        sa.Column("sample_outputs_json", sa.Text, nullable=False),
        sa.Column("notes", sa.Text, nullable=False),
        sa.Column("started_at", sa.Float),
        sa.Column("finished_at", sa.Float),
        sa.PrimaryKeyConstraint("id", name="pk_runs"),
        sa.ForeignKeyConstraint(["sweep_id"], ["sweeps.id"], name="fk_runs_sweep_id_sweeps", ondelete="SET NULL"),
    )
    for col in ("created_at", "sweep_id", "engine", "model", "status", "config_key"):
        op.create_index(f"ix_runs_{col}", "runs", [col])
    op.create_table(
        "run_tags",
        sa.Column("run_id", sa.Integer, nullable=False),
        sa.Column("tag", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "tag", name="pk_run_tags"),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name="fk_run_tags_run_id_runs", ondelete="CASCADE"),
    )
    op.create_index("ix_run_tags_tag", "run_tags", ["tag"])
    op.create_table(
        "metrics",
        sa.Column("run_id", sa.Integer, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("value", sa.Float),
        sa.Column("unit", sa.String(40), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("method", sa.Text, nullable=False),
        sa.Column("ci95_low", sa.Float),
        sa.Column("ci95_high", sa.Float),
        sa.Column("n", sa.Integer),
        sa.PrimaryKeyConstraint("run_id", "name", name="pk_metrics"),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name="fk_metrics_run_id_runs", ondelete="CASCADE"),
    )
    op.create_index("ix_metrics_name_value", "metrics", ["name", "value"])
    op.create_table(
        "requests",
        sa.Column("run_id", sa.Integer, nullable=False),
        sa.Column("repetition", sa.Integer, nullable=False),
        sa.Column("idx", sa.Integer, nullable=False),
        sa.Column("input_tokens", sa.Integer, nullable=False),
        sa.Column("output_tokens", sa.Integer, nullable=False),
        sa.Column("start_s", sa.Float, nullable=False),
        sa.Column("first_token_s", sa.Float),
        sa.Column("end_s", sa.Float, nullable=False),
        sa.Column("ok", sa.Boolean, nullable=False),
        sa.Column("error", sa.Text),
        sa.PrimaryKeyConstraint("run_id", "repetition", "idx", name="pk_requests"),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name="fk_requests_run_id_runs", ondelete="CASCADE"),
    )
    op.create_table(
        "telemetry",
        sa.Column("run_id", sa.Integer, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("t", sa.Float, nullable=False),
        sa.Column("sample_json", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("run_id", "seq", name="pk_telemetry"),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name="fk_telemetry_run_id_runs", ondelete="CASCADE"),
    )


def downgrade() -> None:
    for table in ("telemetry", "requests", "metrics", "run_tags", "runs", "sweeps"):
        op.drop_table(table)
