"""The Compare view's series and per-group landscape over the seed study's real A100 data (allData.csv,
imported through the shipped mapping into a real SQLite store), checked against an independent pandas
computation: what is drawn (panels, lines per group, points per line, OOM markers, labels), not only
that it drew."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QPointF

from app.reports.importers import import_table
from app.store import Store
from app.ui.compare_view import CompareView

REPO = Path(__file__).resolve().parents[2]
# beside the checkout (…/shared), or beside the folder of worktrees a checkout may sit in
ALL_DATA = next((p for p in (base / "shared" / "data" / "infpop" / "allData.csv" for base in REPO.parents[:2])
                 if p.exists()), REPO.parent / "shared" / "data" / "infpop" / "allData.csv")
MAPPING = REPO / "profiles" / "imports" / "infpop-a100.toml"
MODELS = ["Bloom-1b7", "Codellama-13b-hf", "Wizardcoder-15b"]
SERIES_TAB = 4

pytestmark = pytest.mark.skipif(not ALL_DATA.exists(), reason=f"the study's data is not beside the checkout: {ALL_DATA}")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('series') / 'infpop.db'}")
    import_table(store, ALL_DATA, MAPPING)
    yield store
    store.close()


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    df = pd.read_csv(ALL_DATA, index_col=0)
    return df[df.model.isin(MODELS)]


@pytest.fixture()
def view(qtbot, store: Store) -> CompareView:
    view = CompareView(store)
    qtbot.addWidget(view)
    view.resize(1400, 850)
    view.show()
    view.show_runs([r.id for r in store.list_runs(limit=None) if r.model in MODELS])
    return view


def _expected_points(frame: pd.DataFrame) -> pd.DataFrame:
    """Per configuration: median throughput of its ok rows, and OOM when no row is ok and one ran out."""
    frame = frame.assign(ok=frame.errors_l == "ok", oom_row=frame.errors_l == "CUDA out of memory")
    g = frame.groupby(["model", "engine", "nrGPUs", "batchSize"])
    out = pd.DataFrame({"median": g.apply(lambda d: d.throughput[d.ok].median(), include_groups=False),
                        "oom": g.apply(lambda d: not d.ok.any() and d.oom_row.any(), include_groups=False)})
    return out[out["median"].notna() | out.oom].reset_index()


def test_series_draws_a_line_per_group_and_oom_at_the_floor(view: CompareView, frame: pd.DataFrame) -> None:
    view.tabs.setCurrentIndex(SERIES_TAB)
    assert (view.series_metric.currentText(), view.series_x.currentText()) == ("output_tokens_per_s", "batch_size")
    assert (view.series_group.currentText(), view.series_panel.currentText()) == ("engine", "model")
    data = view.series.data
    assert data is not None and data.scale == "log"  # batch sizes 1, 2, 4 … 512, 1028 decide it
    assert data.ticks()[:3] == [(0.0, "1"), (math.log10(2), "2"), (math.log10(4), "4")]
    assert "num_gpus" in view.series_note.text() and "log scale" in view.series_note.text()
    expected = _expected_points(frame)
    engine = {"autohf": "hf-pipeline", "vLLM": "vllm"}
    assert [p.title for p in data.panels] == MODELS
    for plot, panel, model in zip(view.series._plots, data.panels, MODELS, strict=False):
        mine = expected[expected.model == model]
        lines = {f"{engine[e]} · gpus={n}": d for (e, n), d in mine.groupby(["engine", "nrGPUs"])}
        assert {line.label for line in panel.lines} == set(lines)
        curves = [i for i in plot.items if isinstance(i, pg.PlotDataItem)]
        assert len(curves) == len(panel.lines)
        for line, curve in zip(panel.lines, curves, strict=True):
            want = lines[line.label]
            ok = want[~want.oom].sort_values("batchSize")
            xs, ys = curve.getData()
            assert list(xs) == pytest.approx([math.log10(b) for b in ok.batchSize])
            assert list(ys) == pytest.approx(list(ok["median"]))
        ooms = [i for i in plot.items if isinstance(i, pg.ScatterPlotItem) and not isinstance(i.parentItem(),
                                                                                                pg.PlotDataItem)]
        drawn_oom = sorted(x for item in ooms for x in item.getData()[0])
        assert drawn_oom == pytest.approx(sorted(math.log10(b) for b in mine[mine.oom].batchSize))
        assert all(y == 0.0 for item in ooms for y in item.getData()[1])  # at the axis floor, not a value
        labels = [i for i in plot.items if isinstance(i, pg.TextItem)]
        assert [t.toPlainText() for t in labels] == (["✕ OOM"] if mine.oom.any() else [])
        if labels:  # over the first OOM batch size, at the floor
            assert labels[0].pos().x() == pytest.approx(math.log10(mine[mine.oom].batchSize.min()))


def test_series_y_scale_is_shared_or_free_and_hover_names_the_point(view: CompareView) -> None:
    view.tabs.setCurrentIndex(SERIES_TAB)
    plots = view.series._plots[:len(MODELS)]
    assert len({p.vb.viewRange()[1][1] for p in plots}) == 1
    view.series_y.setCurrentText("free")
    assert len({p.vb.viewRange()[1][1] for p in plots}) == len(MODELS)
    line = view.series.data.panels[0].lines[0]
    point = line.points[0]
    scene = plots[0].vb.mapViewToScene(QPointF(line.positions[0], point.value))
    assert view.series.point_at(scene) == (line, 0)
    text = view.series.describe(line, 0)
    assert text.startswith(f"{line.label}, batch_size=1:") and f"median of {point.ok_runs} ok run(s)" in text


def test_landscape_per_group_says_what_a_cell_pools(view: CompareView) -> None:
    view.tabs.setCurrentIndex(1)
    # drawn per model from the start, over the two options (not over the model and engine names)
    assert (view.x_param.currentText(), view.y_param.currentText()) == ("batch_size", "num_gpus")
    assert view.land_group.currentText() == "model" and view.land_group_value.currentText() == MODELS[0]
    view.land_group_value.setCurrentText("Codellama-13b-hf")
    land = view.landscape.landscape
    assert "model = Codellama-13b-hf" in view.landscape.getPlotItem().titleLabel.text
    # both engines ran every (batch size, GPU count) cell they did not OOM in: those cells pool the two
    pooled = [p for row in land.pooled for p in row if p]
    assert pooled and set(pooled) == {"2 configurations differing in engine (hf-pipeline, vllm)"}
    assert view.landscape_note.text().startswith(f"* {len(pooled)} of ") and "engine" in view.landscape_note.text()
    view.land_group.setCurrentText("(all runs)")
    assert "model" in view.landscape_note.text()
    view.land_group.setCurrentText("engine")
    view.land_group_value.setCurrentText("vllm")
    assert "engine" not in view.landscape_note.text() and "model" in view.landscape_note.text()


def test_bars_are_labelled_by_what_differs(qtbot, store: Store) -> None:
    runs = [r for r in store.list_runs(limit=None) if r.model == "Bloom-1b7" and r.engine == "vllm"
            and r.config["num_gpus"] == 1 and r.status == "ok"]
    picked = [next(r for r in runs if r.config["batch_size"] == b) for b in (1, 8, 64)]
    view = CompareView(store)
    qtbot.addWidget(view)
    view.show_runs([r.id for r in picked])
    ticks = view.bars._plots[0].getAxis("bottom")._tickLevels[0]
    assert [label for _, label in ticks] == ["bs=1", "bs=8", "bs=64"]
    assert view.bars.labels[picked[1].id] == "bs=8"


def test_report_charts_label_bars_by_what_differs_and_say_what_cells_pool(store: Store) -> None:
    from app.reports.chart_data import bar_groups
    from app.reports.charts import build_charts
    from app.reports.model import build_report

    runs = store.list_runs(limit=None)
    picked = [next(r for r in runs if r.model == "Bloom-1b7" and r.engine == e and r.status == "ok"
                   and r.config["num_gpus"] == n and r.config["batch_size"] == b)
              for e in ("hf-pipeline", "vllm") for n in (1, 2) for b in (1, 8)]
    report = build_report(store.get_runs([r.id for r in picked]))
    (throughput, *_), _note = bar_groups(report)
    assert [b.label for b in throughput.bars] == [f"{e} · bs={b} · gpus={n}" for e in ("hf-pipeline", "vllm")
                                                  for n in (1, 2) for b in (1, 8)]
    assert all(b.run.startswith("#") for b in throughput.bars)  # the run id stays in the tooltip
    charts = {c.key: c for c in build_charts(report)}
    land = charts["landscape"]
    assert len(land.tips) == 4 and all(tip.endswith("; pools 2 configurations differing in engine "
                                                    "(hf-pipeline, vllm))") for tip in land.tips.values())
    assert "* 4 of 4 cell(s) pool runs that differ in engine" in land.note
    assert any(tip.startswith("hf-pipeline · bs=1 · gpus=1 — #") for tip in charts["bars"].tips.values())


def _expected_oom_cells(frame: pd.DataFrame, model: str) -> set[tuple[int, int]]:
    """(batch size, GPU count) cells of `model` where no row finished and one at least ran out of memory."""
    rows = frame[frame.model == model]
    g = rows.groupby(["batchSize", "nrGPUs"]).errors_l
    return {cell for cell, errors in g if not (errors == "ok").any() and (errors == "CUDA out of memory").any()}


def test_landscape_cells_where_every_run_ran_out_of_memory_read_oom(view: CompareView, store: Store,
                                                                    frame: pd.DataFrame) -> None:
    view.show_runs([r.id for r in store.list_runs(limit=None) if r.model in MODELS and r.engine == "hf-pipeline"])
    view.tabs.setCurrentIndex(1)
    view.land_group_value.setCurrentText("Wizardcoder-15b")
    land = view.landscape.landscape
    texts = {(land.x_values[i], land.y_values[j]): view.landscape.labels[i * len(land.y_values) + j].textItem
             .toPlainText() for i in range(len(land.x_values)) for j in range(len(land.y_values))}
    expected = _expected_oom_cells(frame[frame.engine == "autohf"], "Wizardcoder-15b")
    assert expected and {cell for cell, text in texts.items() if text == "OOM"} == expected
    assert all(text != "—" for cell, text in texts.items() if cell in expected)
    x, y = sorted(expected)[-1]
    i, j = land.x_values.index(x), land.y_values.index(y)
    view.landscape._on_move(view.landscape.getPlotItem().vb.mapViewToScene(QPointF(i + 0.5, j + 0.5)))
    assert "OOM: every run out of memory" in view.landscape.toolTip()


def test_report_landscape_draws_oom_cells(store: Store, frame: pd.DataFrame) -> None:
    from app.reports.charts import build_charts
    from app.reports.html_export import render_html
    from app.reports.model import build_report

    runs = [r for r in store.list_runs(limit=None) if r.model == "Wizardcoder-15b" and r.engine == "hf-pipeline"
            and r.config["num_gpus"] in (1, 2)]
    report = build_report(store.get_runs([r.id for r in runs]))
    charts = build_charts(report)
    land = next(c for c in charts if c.key == "landscape")
    expected = {(b, n) for b, n in _expected_oom_cells(frame[frame.engine == "autohf"], "Wizardcoder-15b")
                if n in (1, 2)}
    oom_tips = {tip.split(":")[0] for tip in land.tips.values() if ": OOM, every run ran out of memory" in tip}
    assert expected and oom_tips == {f"batch_size={b}, num_gpus={n}" for b, n in expected}
    html = render_html(report, charts)
    assert html.count(">OOM</text>") == len(expected)  # the cells' text in the inline SVG
    # the metrics table: a run that ran out of memory reads OOM where its figures would be, not "—"
    oom_runs = [r for r in runs if r.failure_cause == "oom"]
    metrics = report.section("metrics")
    assert metrics is not None
    cells = [c.text for row in metrics.rows for c in row]
    assert oom_runs and cells.count("OOM") == len(oom_runs) * len(report.metric_names)
    assert html.count(">OOM</td>") == cells.count("OOM")
