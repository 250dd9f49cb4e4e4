"""The Optuna search on real landscapes (the study's A100 rows, allData.csv, built as
bench/infpop_replay.py builds them): no point is asked twice, and an out-of-memory point rules out the
points that need at least as much memory, without a trial, also after a resume."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

from app.sweeps.optuna_search import OptunaSearch

BENCH = Path(__file__).resolve().parents[2] / "bench"
METRIC = "output_tokens_per_s"


def _bench_module():  # noqa: ANN202 - a module loaded from a file path
    sys.path.insert(0, str(BENCH))
    spec = importlib.util.spec_from_file_location("infpop_replay", BENCH / "infpop_replay.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["infpop_replay"] = module  # its dataclasses look themselves up there
    spec.loader.exec_module(module)
    return module


infpop = _bench_module()
CSV = Path(os.environ.get("INFERLAB_INFPOP_CSV", str(infpop.DEFAULT_CSV)))
pytestmark = pytest.mark.skipif(not CSV.is_file(), reason=f"the study's data is not at {CSV} "
                                "(shared/ beside the checkout, or set INFERLAB_INFPOP_CSV)")
PICKED = ("Phi-2 autohf", "Codellama-7b-hf autohf", "Codellama-70b-hf autohf", "Bloom-1b7 vLLM")


@pytest.fixture(scope="module")
def landscapes() -> dict:
    return {land.name: land for land in infpop.load_landscapes(CSV) if land.name in PICKED}


def _expected_ruled_out(land, failed: tuple[int, int], known: set) -> set:  # noqa: ANN001
    """Independently: the same GPU count and a larger batch (for vLLM also fewer GPUs), not yet known."""
    gpus, batch = failed
    fewer_gpus_too = land.engine == "vLLM"
    return {(g, b) for g, b in land.outcomes if b >= batch and (g == gpus or (fewer_gpus_too and g < gpus))
            and (g, b) not in known}


def _drive(search: OptunaSearch, land, known: set | None = None) -> list[tuple[int, int]]:  # noqa: ANN001
    """Ask and tell until the search says the grid is exhausted; the points it asked, in order."""
    known = set() if known is None else known
    asked = []
    while not search.exhausted():
        trial, config = search.ask()
        point = (config[search.profile.axes[0].name], config["batch_size"])
        assert point not in known, f"{land.name}: {point} asked again"
        asked.append(point)
        known.add(point)
        outcome = land.outcomes[point]
        ok = isinstance(outcome, float)
        before = len(search.ruled_out)
        expected = _expected_ruled_out(land, point, known) if outcome == "oom" else set()
        search.tell(trial, ok, {METRIC: outcome if ok else None}, None if ok else outcome)
        ruled_out = {(p[search.profile.axes[0].name], p["batch_size"]) for p in search.ruled_out[before:]}
        assert ruled_out == expected, f"{land.name}: OOM at {point}"
        known |= ruled_out
    assert known == set(land.outcomes)
    return asked


@pytest.mark.parametrize("name", PICKED)
def test_search_never_reasks_a_point_and_an_oom_rules_out_larger_batches(landscapes: dict, name: str) -> None:
    land = landscapes[name]
    for seed in range(2):
        search = OptunaSearch(land.profile(seed))
        asked = _drive(search, land)
        oom = sum(v == "oom" for v in land.outcomes.values())
        if oom:  # out-of-memory points were ruled out, not run: fewer trials than points
            assert len(asked) + len(search.ruled_out) == len(land.outcomes) and search.ruled_out
        assert all(land.outcomes[(p[search.profile.axes[0].name], p["batch_size"])] == "oom"
                   for p in search.ruled_out)  # on these rows the bound never hides a feasible point
        # The study records measured trials only; every measured failure is FAIL, never PRUNED.
        states = [t.state.name for t in search.study.get_trials()]
        assert len(states) == len(asked) and set(states) <= {"COMPLETE", "FAIL"}


def test_a_resumed_search_rules_out_again_what_its_stored_ooms_imply(landscapes: dict) -> None:
    land = landscapes["Phi-2 autohf"]
    first = OptunaSearch(land.profile(0))
    stored = []
    while len(stored) < 8:
        trial, config = first.ask()
        point = (config["visible_gpus"], config["batch_size"])
        outcome = land.outcomes[point]
        ok = isinstance(outcome, float)
        first.tell(trial, ok, {METRIC: outcome if ok else None}, None if ok else outcome)
        stored.append((point, outcome))
    resumed = OptunaSearch(land.profile(1))
    for (gpus, batch), outcome in stored:
        ok = isinstance(outcome, float)
        assert resumed.add_stored({"visible_gpus": gpus, "batch_size": batch}, ok,
                                  {METRIC: outcome if ok else None}, None if ok else outcome)
    ruled = {(p["visible_gpus"], p["batch_size"]) for p in resumed.ruled_out}
    assert ruled == {(p["visible_gpus"], p["batch_size"]) for p in first.ruled_out}
    _drive(resumed, land, known={p for p, _ in stored} | ruled)
