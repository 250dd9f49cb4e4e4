"""app.compare: Pareto fronts, landscapes and bar values computed from store records, n/a kept as None."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

from app import compare
from app.pareto import pareto_front
from app.store import Store
from app.store.records import RunSummary
from engine.metric_names import HEADLINE_METRICS
from engine.results import Measurement, TrialResult


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


def _failed(run_id: int, cause: str, **config: object) -> RunSummary:
    return RunSummary(run_id, 0.0, str(config.pop("engine", "hf-generate")), "demo", "failed", cause, "x", None,
                      "inferlab", dict(config), {})


def test_x_scale_is_decided_by_the_values() -> None:
    assert compare.x_scale([1, 2, 4, 8, 16, 1028]) == "log"
    assert compare.x_scale([8, 16, 24, 32]) == "linear"
    assert compare.x_scale([1, 2]) == "linear"
    assert compare.x_scale(["bf16", "fp32"]) == "categorical"


def test_series_has_one_line_per_group_medians_of_repetitions_and_oom_points() -> None:
    runs = [_run(1, 10.0, None, batch_size=1, repetition=0), _run(2, 30.0, None, batch_size=1, repetition=1),
            _run(3, 20.0, None, batch_size=1, repetition=2), _run(4, 40.0, None, batch_size=4),
            _failed(5, "oom", batch_size=16), _failed(6, "crash", batch_size=64),
            _run(7, 5.0, None, batch_size=1, dtype="bf16"), _run(8, 9.0, None, batch_size=4, dtype="bf16"),
            _run(9, 7.0, None, batch_size=1, dtype="fp32")]
    runs[6:] = [dataclasses.replace(r, engine="vllm", config={**r.config, "engine": "vllm"}) for r in runs[6:]]
    s = compare.series(runs, "output_tokens_per_s", "batch_size", ["engine"])
    assert s.scale == "log" and s.x_values == (1, 4, 16)
    (panel,) = s.panels
    by_label = {line.label: line for line in panel.lines}
    # dtype differs within vllm's runs only: it splits vllm's line, not hf-generate's
    assert set(by_label) == {"hf-generate", "vllm · bf16", "vllm · fp32"}
    assert [len(by_label[k].points) for k in ("vllm · bf16", "vllm · fp32")] == [2, 1]
    hf = by_label["hf-generate"]
    assert [p.value for p in hf.points] == [20.0, 40.0, None] and [p.oom for p in hf.points] == [False, False, True]
    assert hf.positions == (0.0, math.log10(4), math.log10(16))
    assert any("dtype" in n for n in s.notes) and any("1 configuration(s) left out" in n for n in s.notes)


def test_landscape_says_what_a_cell_pools() -> None:
    runs = [_run(1, 10.0, None, batch_size=1, input_tokens=8, num_gpus=1),
            _run(2, 30.0, None, batch_size=1, input_tokens=8, num_gpus=2),
            _run(3, 50.0, None, batch_size=2, input_tokens=8, num_gpus=1)]
    land = compare.landscape(runs, "batch_size", "input_tokens", "output_tokens_per_s")
    assert land.pooled[0] == ("2 configurations differing in num_gpus (1, 2)", "")
    assert land.note.startswith("1 of 2 cell(s) pool runs that differ in num_gpus")
    per_group = compare.groups(runs, "num_gpus")
    assert list(per_group) == [1, 2]
    assert compare.landscape(per_group[1], "batch_size", "input_tokens", "output_tokens_per_s").note == ""


def test_runs_are_labelled_by_what_differs() -> None:
    runs = [_run(1, 1.0, None, batch_size=8, weight_quant="int8"), _run(2, 1.0, None, batch_size=1,
            weight_quant="none"), _run(3, 1.0, None, batch_size=1, weight_quant="none")]
    assert compare.differing_labels(runs) == {1: "bs=8 · int8", 2: "bs=1 · none (#2)", 3: "bs=1 · none (#3)"}
    # an imported run lacks most options: it says what it has, and no label lists more than LABEL_PARTS
    many = [_run(1, 1.0, None, a=1, b=1, c=1, d=1, e=1), _run(2, 1.0, None, a=2, b=2, c=2, d=2, e=2), _run(3, 1.0, None)]
    assert compare.differing_labels(many) == {1: "a=1 · b=1 · c=1 · d=1", 2: "a=2 · b=2 · c=2 · d=2", 3: "#3"}


def test_long_option_values_keep_their_end_in_labels() -> None:
    label = compare.option_label("model", "/home/me/models/org/SmolLM2-135M-Instruct")
    assert label == "…s/org/SmolLM2-135M-Instruct" and len(label) == compare.LABEL_CHARS
    assert compare.option_label("model", "SmolLM2-135M") == "SmolLM2-135M"


def test_runs_can_be_grouped_by_the_gpu_their_environment_names(tmp_path: Path) -> None:
    h200 = {"host": "gpu-box", "devices": {"gpus": [{"index": 0, "uuid": "GPU-1", "pci_bus_id": "0",
                                                     "name": "NVIDIA H200"}], "how": "CUDA_VISIBLE_DEVICES", "reason": ""}}
    cpu = {"host": "local", "devices": {"gpus": [], "how": "", "reason": "the trial runs on the CPU"}}
    imported = {"imported_from": "infpop", "gpu_name": "NVIDIA A100", "host": "lab"}
    with Store(f"sqlite:///{tmp_path / 'env.db'}") as store:  # the fields are computed by the store's SQL
        ids = [store.add_run(TrialResult(f"t{i}", {"engine": "hf-generate", "model": "demo", "batch_size": 2 ** i},
                                         "ok", {"output_tokens_per_s": Measurement.measured(10.0 * i, "tok/s", "m")},
                                         environment=env))
               for i, env in enumerate((h200, cpu, imported, {"hardware": "not recorded"}), start=1)]
        runs = compare.with_environment_options(store.list_runs(ids=ids, sort="id"), store.environment_fields(ids))
    assert [r.config.get("gpu_name") for r in runs] == ["NVIDIA H200", "no GPU", "NVIDIA A100", None]
    assert "gpu_name" in compare.differing_options(runs)
    s = compare.series(runs, "output_tokens_per_s", "batch_size", ["gpu_name"])
    assert [line.label for line in s.panels[0].lines] == ["gpu_name not recorded", "NVIDIA A100", "NVIDIA H200",
                                                          "no GPU"]
    by_host = compare.series(runs, "output_tokens_per_s", "batch_size", ["host"])  # any environment field groups
    assert "host" in compare.differing_options(runs) and runs[0].config["gpu_count"] == 1
    assert [line.label for line in by_host.panels[0].lines] == ["host not recorded", "gpu-box", "lab", "local"]
