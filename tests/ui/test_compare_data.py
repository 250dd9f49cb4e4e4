"""app.compare: Pareto fronts, landscapes and bar values computed from store records, n/a kept as None."""

from __future__ import annotations

import math

from app import compare
from app.pareto import pareto_front
from app.store.records import RunSummary
from engine.metric_names import HEADLINE_METRICS
from engine.results import Measurement


def _run(run_id: int, tps: float | None, jpt: float | None, **config: object) -> RunSummary:
    metrics = {"output_tokens_per_s": Measurement.measured(tps, "tok/s", "test") if tps is not None
               else Measurement.unavailable("tok/s", "not measured"),
               "energy_j_per_output_token": Measurement.measured(jpt, "J/tok", "test") if jpt is not None
               else Measurement.unavailable("J/tok", "no NVML, no RAPL")}
    return RunSummary(run_id, 0.0, "hf-generate", "demo", "ok", None, None, None, "inferlab",
                      {"engine": "hf-generate", **config}, metrics)


def test_pareto_front_respects_each_axis_direction() -> None:
    points = [(1.0, 10.0), (2.0, 5.0), (3.0, 3.0), (2.5, 8.0), (0.5, 1.0)]
    assert pareto_front(points, (True, True)) == [0, 2, 3]
    assert pareto_front(points, (False, True)) == [0, 4]
    assert pareto_front(points, (True, False)) == [2, 4]


def test_pareto_front_takes_any_number_of_axes_and_keeps_equal_points() -> None:
    points = [(1.0, 1.0, 5.0), (1.0, 1.0, 4.0), (2.0, 0.5, 4.0), (2.0, 0.5, 4.0)]
    assert pareto_front(points, (True, True, True)) == [0, 2, 3]
    assert pareto_front(points, (True, True, False)) == [1, 2, 3]


def test_the_compare_chart_and_a_sweeps_best_runs_share_one_front() -> None:
    from app.sweeps.best import best_runs
    from app.sweeps.profile import Objective

    runs = [_run(1, 100.0, 0.5), _run(2, 80.0, 0.2), _run(3, 120.0, 0.9), _run(4, 70.0, 0.6)]
    data = compare.pareto_data(runs, "energy_j_per_output_token", "output_tokens_per_s")
    best = best_runs(runs, [Objective("output_tokens_per_s", "maximize"),
                            Objective("energy_j_per_output_token", "minimize")])
    assert {data.run_ids[i] for i in data.front} == {r.id for r in best} == {1, 2, 3}
    assert [r.id for r in best] == [3, 1, 2]  # best first by the first objective


def test_pareto_data_leaves_out_runs_without_both_figures() -> None:
    runs = [_run(1, 100.0, 0.5), _run(2, 80.0, 0.2), _run(3, 120.0, None), _run(4, 70.0, 0.6)]
    data = compare.pareto_data(runs, "energy_j_per_output_token", "output_tokens_per_s")
    assert data.missing == (3,)
    assert [data.run_ids[i] for i in data.front] == [2, 1]  # lower J/token and higher tok/s win


def test_landscape_takes_the_median_per_cell_and_leaves_empty_cells_blank() -> None:
    runs = [_run(1, 10.0, None, batch_size=1, input_tokens=8), _run(2, 30.0, None, batch_size=1, input_tokens=8),
            _run(3, 50.0, None, batch_size=1, input_tokens=8), _run(4, 40.0, None, batch_size=4, input_tokens=16)]
    land = compare.landscape(runs, "batch_size", "input_tokens", "output_tokens_per_s")
    assert land.x_values == (1, 4) and land.y_values == (8, 16)
    assert land.grid[0][0] == 30.0 and land.counts[0][0] == 3
    assert math.isnan(land.grid[0][1]) and land.grid[1][1] == 40.0
    assert compare.swept_parameters(runs) == ["batch_size", "input_tokens"]


def test_bar_series_keeps_unavailable_figures_as_none_with_the_reason() -> None:
    runs = [_run(1, 100.0, None), _run(2, None, 0.3)]
    tps = compare.bar_series(runs, "output_tokens_per_s")
    assert tps.values == (100.0, None) and tps.reasons[1] == "not measured"
    assert compare.bar_series(runs, "energy_j_per_output_token").reasons[0] == "no NVML, no RAPL"
    names = compare.bar_metric_names(runs)
    assert "peak_rss_bytes" in names  # the one peak-memory figure these runs measured, once
    assert not {"peak_gpu_memory_used_bytes", "peak_cuda_allocated_bytes"} & set(names)
    assert names == [n for n in HEADLINE_METRICS if n in names]
