"""The sweep's Optuna study is persisted in a JournalStorage file beside the store, named by the sweep
id: a new OptunaSearch on the same file continues the real study (no point asked twice, trials left
running closed as FAIL)."""

from __future__ import annotations

from pathlib import Path

import optuna

from app.sweeps import parse_profile
from app.sweeps.optuna_search import OptunaSearch
from app.sweeps.study_journal import journal_path, journal_storage, study_name

PROFILE = """\
name = "journal"
engine = "hf-generate"
model = "demo"
strategy = "optuna"

[axes]
batch_size = [1, 2, 4, 8]

[budget]
n_trials = 4
seed = 0

[[objectives]]
metric = "output_tokens_per_s"
direction = "maximize"
"""


def test_the_journal_of_a_sqlite_store_lies_beside_it_named_by_sweep_id(tmp_path: Path) -> None:
    path = journal_path(f"sqlite:///{tmp_path / 'runs.db'}", 7)
    assert path == tmp_path / "runs.db.sweep-7.optuna.journal"


def test_the_journal_of_another_store_is_in_the_data_dir(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("INFERLAB_DATA_DIR", str(tmp_path))
    a = journal_path("postgresql://u:secret@db1/inferlab", 3)
    b = journal_path("postgresql://u:other@db2/inferlab", 3)
    assert a.parent == b.parent == tmp_path / "optuna" and a != b and "secret" not in str(a)


def test_a_new_search_on_the_journal_continues_the_study(tmp_path: Path) -> None:
    profile = parse_profile(PROFILE, "journal.toml")
    path = tmp_path / "runs.db.sweep-1.optuna.journal"
    first = OptunaSearch(profile, storage=journal_storage(path), study_name=study_name(1))
    asked = []
    for value, cause in ((10.0, None), (None, "oom")):
        trial, config = first.ask()
        asked.append(config["batch_size"])
        first.tell(trial, value is not None, {"output_tokens_per_s": value}, cause)
    first.ask()  # a stop or crash before this one was told

    again = OptunaSearch(profile, storage=journal_storage(path), study_name=study_name(1))
    assert again.resumed == 2
    states = [t.state for t in again.study.get_trials()]
    assert states == [optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.FAIL,
                      optuna.trial.TrialState.FAIL]  # the one left running is closed
    assert again.study.get_trials()[1].user_attrs["failure_cause"] == "oom"
    _, config = again.ask()
    assert config["batch_size"] not in asked
    assert again.ruled_out == first.ruled_out  # the out-of-memory bound is learnt again
