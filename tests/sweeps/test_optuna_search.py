"""Optuna search logic on a replayed function landscape: constraints stay constraints, failures are
told as failed, the multi-objective answer is the feasible Pareto set, and resume continues a study."""

from __future__ import annotations

import math

from optuna.trial import TrialState

from app.store.records import RunSummary
from app.sweeps import parse_profile
from app.sweeps.best import best_runs
from app.sweeps.optuna_search import OptunaSearch
from engine.results import Measurement

PROFILE = """\
name = "landscape"
engine = "hf-generate"
strategy = "optuna"
constraints = ["ttft_ms_p99 <= 400"]

[axes]
batch_size = { min = 1, max = 128, log = true }
output_tokens = [16, 32, 64, 128, 256]

[budget]
n_trials = 30
seed = 1

[[objectives]]
metric = "output_tokens_per_s"
direction = "maximize"
"""
MULTI = PROFILE + '\n[[objectives]]\nmetric = "energy_j_per_output_token"\ndirection = "minimize"\n'


def landscape(batch_size: int, output_tokens: int) -> dict[str, float | None]:
    """Throughput grows with batch size and saturates; TTFT grows with batch; energy/token has a
    sweet spot. batch_size ≥ 96 'runs out of memory' (None: the trial fails)."""
    if batch_size >= 96:
        return {}
    tps = 400 * batch_size / (batch_size + 12) * (1 + math.log2(output_tokens) / 20)
    return {"output_tokens_per_s": tps, "ttft_ms_p99": 20.0 * batch_size,
            "energy_j_per_output_token": 0.5 + abs(math.log2(batch_size) - 3) * 0.1 + output_tokens / 2560}


def summary(i: int, params: dict, metrics: dict) -> RunSummary:
    ms = {k: Measurement.measured(v, "", "landscape") for k, v in metrics.items()}
    return RunSummary(i, 0.0, "hf-generate", "demo", "ok" if metrics else "failed", None if metrics else "oom",
                      None, 1, "inferlab", params, ms)


def run_search(search: OptunaSearch, n: int) -> list[RunSummary]:
    runs = []
    for i in range(n):
        trial, config = search.ask()
        metrics = landscape(config["batch_size"], config["output_tokens"])
        state = search.tell(trial, bool(metrics), metrics)
        assert state == (TrialState.COMPLETE if metrics else TrialState.FAIL)
        runs.append(summary(i, config, metrics))
    return runs


def test_single_objective_finds_the_feasible_optimum_and_respects_the_constraint() -> None:
    profile = parse_profile(PROFILE, "p.toml")
    search = OptunaSearch(profile)
    runs = run_search(search, 30)
    # True feasible optimum: ttft ≤ 400 → batch_size ≤ 20, output_tokens = 256.
    truth = landscape(20, 256)["output_tokens_per_s"]
    best = best_runs(runs, profile.objectives, profile.constraints)
    assert len({r.value("output_tokens_per_s") for r in best}) == 1  # one optimum (ties: repeats)
    assert best[0].value("ttft_ms_p99") <= 400
    assert best[0].value("output_tokens_per_s") >= 0.85 * truth  # 30 trials of 640 points
    # Infeasible trials carry positive constraint values and are never "best" for Optuna either.
    trials = search.study.get_trials()
    assert any(t.constraints and max(t.constraints.values()) > 0 for t in trials)
    assert all(max(t.constraints.values()) <= 0 for t in search.study.best_trials)


def test_failed_trials_are_told_as_failed() -> None:
    search = OptunaSearch(parse_profile(PROFILE.replace("seed = 1", "seed = 4"), "p.toml"))
    runs = run_search(search, 30)
    failed = [r for r in runs if r.status == "failed"]
    states = [t.state for t in search.study.get_trials()]
    assert states.count(TrialState.FAIL) == len(failed)
    assert all(r.config["batch_size"] >= 96 for r in failed)


def test_multi_objective_returns_the_feasible_pareto_set() -> None:
    profile = parse_profile(MULTI, "p.toml")
    search = OptunaSearch(profile)
    runs = run_search(search, 30)
    front = best_runs(runs, profile.objectives, profile.constraints)
    assert len(front) >= 2
    feasible = [r for r in runs if r.status == "ok" and r.value("ttft_ms_p99") <= 400]

    def dominates(a: RunSummary, b: RunSummary) -> bool:
        ta, tb = a.value("output_tokens_per_s"), b.value("output_tokens_per_s")
        ea, eb = a.value("energy_j_per_output_token"), b.value("energy_j_per_output_token")
        return ta >= tb and ea <= eb and (ta > tb or ea < eb)

    assert all(r in feasible for r in front)
    assert not any(dominates(other, r) for r in front for other in feasible)
    assert all(any(dominates(f, r) for f in front) for r in feasible if r not in front)
    # Optuna's own Pareto set (constraint-aware) agrees with ours.
    assert {r.id for r in front} == {t.number for t in search.study.best_trials}  # run i is trial i


def test_resume_rebuilds_the_study_from_stored_trials() -> None:
    profile = parse_profile(PROFILE, "p.toml")
    first = OptunaSearch(profile)
    runs = run_search(first, 12)
    resumed = OptunaSearch(profile)
    for r in runs:
        flat = {"engine": "hf-generate", **r.config}
        assert resumed.add_stored(flat, r.status == "ok", {k: m.value for k, m in r.metrics.items()})
    assert resumed.finished_count() == 12
    assert resumed.study.best_trial.params == first.study.best_trial.params
    trial, config = resumed.ask()
    assert trial.number == 12 and 1 <= config["batch_size"] <= 128
    # A stored trial from another space (the profile changed) is left out, not forced in.
    assert not resumed.add_stored({"engine": "hf-generate", "batch_size": 1000, "output_tokens": 16}, True,
                                  {"output_tokens_per_s": 1.0, "ttft_ms_p99": 1.0})


def test_parallel_asks_on_a_grid_never_give_a_point_a_running_trial_measures() -> None:
    grid = PROFILE.replace("{ min = 1, max = 128, log = true }", "[1, 2, 4, 8]")
    search = OptunaSearch(parse_profile(grid, "grid.toml"), parallel=True)
    asked = []
    while search.can_ask_new():  # 4 × 5 points, none told yet: each ask is a new point
        trial, config = search.ask()
        asked.append((config["batch_size"], config["output_tokens"]))
    assert len(asked) == len(set(asked)) == 20
    search.tell(trial, True, landscape(*asked[-1]))
    assert not search.can_ask_new() and not search.exhausted()  # 19 still running


def test_an_enqueued_configuration_is_asked_first_with_its_conditional_axes() -> None:
    # compression-style space: kv_cache_dtype applies only where quantization is "none" (a fixed option
    # completes the enqueued axis values, as a re-tune's transferred configuration is given)
    text = PROFILE.replace('output_tokens = [16, 32, 64, 128, 256]',
                           'output_tokens = [16, 32, 64, 128, 256]\nkv_cache_dtype = { values = ["auto", '
                           '"quanto-int4"], when = { quantization = "none" } }')
    text = text.replace("[axes]", '[options]\nquantization = "none"\n\n[axes]')
    search = OptunaSearch(parse_profile(text, "landscape.toml"))
    wanted = {"batch_size": 37, "output_tokens": 128, "kv_cache_dtype": "quanto-int4"}
    assert search.enqueue(wanted)
    _, config = search.ask()
    assert {k: config[k] for k in wanted} == wanted
    assert not search.enqueue({"output_tokens": 100})  # not a point of the value list
