"""Compare's Pareto tab draws speed vs quality with memory as marker area, and the front is over all
three figures; runs that carry a quality guard open on that view."""

from __future__ import annotations

from pathlib import Path

from app import compare
from app.store import Store
from app.store.records import RunSummary
from app.ui.compare_view import NO_SIZE, CompareView
from engine.results import Measurement, TrialResult

# (output tok/s, greedy agreement, peak RSS bytes): #2 is slower and worse than #1 but smaller, so only a
# front over memory keeps it; #4 is beaten on all three by #1.
RUNS = [(100.0, 1.0, 900e6), (80.0, 0.9, 600e6), (120.0, 0.5, 1000e6), (90.0, 0.8, 950e6)]


def _result(i: int, tps: float, agreement: float, rss: float) -> TrialResult:
    metrics = {"output_tokens_per_s": Measurement.measured(tps, "tok/s", "test"),
               "quality_agreement": Measurement.measured(agreement, "ratio", "test"),
               "peak_rss_bytes": Measurement.measured(rss, "B", "test")}
    return TrialResult(f"t{i}", {"engine": "hf-generate", "model": "demo", "quantization": f"q{i}"}, "ok",
                       metrics=metrics)


def test_quality_runs_open_on_speed_quality_memory_with_a_three_way_front(qtbot, tmp_path: Path) -> None:
    with Store(f"sqlite:///{tmp_path / 'runs.db'}") as store:
        ids = [store.add_run(_result(i, *values)) for i, values in enumerate(RUNS)]
        view = CompareView(store)
        qtbot.addWidget(view)
        view.show()
        view.show_runs(ids)
        view.tabs.setCurrentIndex(view.tabs.indexOf(view.pareto.parentWidget()))
        assert (view.pareto_x.currentText(), view.pareto_y.currentText(), view.pareto_size.currentText()) == (
            "output_tokens_per_s", "quality_agreement", "peak_rss_bytes")
        data = view.pareto.data
        assert data is not None and data.size_metric == "peak_rss_bytes"
        assert {data.run_ids[i] for i in data.front} == {ids[0], ids[1], ids[2]}
        sizes = [spot.size() for spot in view.pareto.scatter.points()]
        assert sizes[1] < sizes[3]  # a smaller footprint draws a smaller marker (off the front, same symbol)
        title = view.pareto.getPlotItem().titleLabel.text
        assert "marker area: Peak worker RSS" in title and "3 of 4 runs over three figures" in title
        view.pareto_size.setCurrentText(NO_SIZE)  # two figures: #2 falls off the front
        assert {view.pareto.data.run_ids[i] for i in view.pareto.data.front} == {ids[0], ids[2]}


def test_runs_missing_the_size_figure_are_left_out_and_counted() -> None:
    runs = [_summary(i, *values) for i, values in enumerate(RUNS)]
    runs[3].metrics["peak_rss_bytes"] = Measurement.unavailable("B", "not measured")
    data = compare.pareto_data(runs, "output_tokens_per_s", "quality_agreement", "peak_rss_bytes")
    assert data.missing == (3,) and len(data.sizes) == 3


def _summary(i: int, tps: float, agreement: float, rss: float) -> RunSummary:
    r = _result(i, tps, agreement, rss)
    return RunSummary(i, 0.0, "hf-generate", "demo", "ok", None, None, None, "inferlab", r.config, dict(r.metrics))
