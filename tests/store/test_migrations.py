"""Migrations on real SQLite and PostgreSQL: they build exactly the schema the code uses, carry a
store written by an older version forward without losing a figure or a sample, and step back."""

from __future__ import annotations

import dataclasses
import json

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from app.store import Store
from app.store.connect import alembic_config, create_engine, current_revision, head_revision
from app.store.schema import metadata
from engine.results import LEGACY_MEAN_CI, Measurement

# What a store at revision 0001 held: one run with two metrics (one unavailable) and three telemetry
# samples written out of seq order, one without any metrics, and one with neither metrics nor samples.
RUN_COLUMNS = dict(created_at=1.0, trial_id="t", engine="hf-generate", model="demo", status="ok", source="inferlab",
                   config_json='{"engine":"hf-generate","batch_size":4}', config_key="k", environment_json="{}",
                   result_notes_json="[]", sample_outputs_json="[]", notes="")
METRICS = [{"run_id": 1, "name": "output_tokens_per_s", "value": 41.5, "unit": "tok/s", "status": "measured",
            "method": "tokens/wall", "ci95_low": 40.0, "ci95_high": 43.0, "n": 3},
           {"run_id": 1, "name": "gpu_energy_j", "value": None, "unit": "J", "status": "unavailable",
            "method": "no NVML", "ci95_low": None, "ci95_high": None, "n": None}]
SAMPLES = [{"t": 10.0 + k, "cpu_percent": 50.0 + k, "gpus": []} for k in range(3)]


def _migrate(url: str, revision: str, *, down: bool = False) -> None:
    engine = create_engine(url)
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(cfg, revision)
    engine.dispose()


def _fill_at_0001(url: str) -> None:
    _migrate(url, "0001_initial")
    engine = create_engine(url)
    with engine.begin() as conn:
        for run_id in (1, 2, 3):
            conn.execute(sa.text("INSERT INTO runs (id, created_at, trial_id, engine, model, status, source, "
                                 "config_json, config_key, environment_json, result_notes_json, "
                                 "sample_outputs_json, notes) VALUES (:id, :created_at, :trial_id, :engine, "
                                 ":model, :status, :source, :config_json, :config_key, :environment_json, "
                                 ":result_notes_json, :sample_outputs_json, :notes)"),
                         {"id": run_id, **RUN_COLUMNS})
        conn.execute(sa.text("INSERT INTO metrics VALUES (:run_id, :name, :value, :unit, :status, :method, "
                             ":ci95_low, :ci95_high, :n)"), METRICS)
        for seq in (2, 0, 1):
            conn.execute(sa.text("INSERT INTO telemetry VALUES (:run_id, :seq, :t, :sample_json)"),
                         {"run_id": 1 if seq else 2, "seq": seq, "t": SAMPLES[seq]["t"],
                          "sample_json": json.dumps(SAMPLES[seq])})
    engine.dispose()


def test_migrations_build_exactly_the_schema_the_code_uses(store_url: str) -> None:
    with Store(store_url) as store, store.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []


def test_a_0001_store_is_carried_forward_whole_and_can_step_back(store_url: str) -> None:
    _fill_at_0001(store_url)
    with Store(store_url) as store:  # opening migrates to head
        assert current_revision(store.engine) == head_revision()
        one, two, three = store.get_runs([1, 2, 3])
        # Old intervals keep their values and are labelled with what they were: t-intervals of the mean.
        tps, energy = (Measurement(*list(m.values())[2:]) for m in METRICS)
        assert dict(one.summary.metrics) == {"output_tokens_per_s": dataclasses.replace(tps, ci_method=LEGACY_MEAN_CI),
                                             "gpu_energy_j": energy}
        assert one.summary.metrics["output_tokens_per_s"].ci_label == "95% CI of the mean (Student t)"
        assert store.list_runs(sort="-output_tokens_per_s")[0].value("output_tokens_per_s") == 41.5
        assert one.telemetry == SAMPLES[1:] and two.telemetry == SAMPLES[:1] and three.telemetry == []
        assert dict(two.summary.metrics) == {} == dict(three.summary.metrics)
    _migrate(store_url, "0001_initial", down=True)
    engine = create_engine(store_url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT run_id, seq, t, sample_json FROM telemetry ORDER BY run_id, seq")).all()
        assert [(r[0], r[1], r[2], json.loads(r[3])) for r in rows] == [
            (1, 0, 11.0, SAMPLES[1]), (1, 1, 12.0, SAMPLES[2]), (2, 0, 10.0, SAMPLES[0])]
        assert not {"metric_names", "metric_values"} & {c["name"] for c in sa.inspect(conn).get_columns("runs")}
        assert not {"ci_method", "n_distinct", "caveat"} & {c["name"] for c in sa.inspect(conn).get_columns("metrics")}
    engine.dispose()
