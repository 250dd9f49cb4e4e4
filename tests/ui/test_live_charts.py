"""Live telemetry: ring buffers keep the newest samples in order; charts adapt to the GPUs present."""

from __future__ import annotations

import numpy as np
import pytest

from app.ui.live_charts import NO_GPU_TEXT, LiveCharts
from app.ui.ring_buffer import RingBuffer


def test_ring_buffer_keeps_the_newest_samples_in_time_order() -> None:
    ring = RingBuffer(capacity=5, n_series=2)
    for k in range(12):
        ring.append(float(k), [k * 10.0, None])
    assert ring.size == 5
    assert ring.times().tolist() == [7.0, 8.0, 9.0, 10.0, 11.0]
    assert ring.values()[0].tolist() == [70.0, 80.0, 90.0, 100.0, 110.0]
    assert np.isnan(ring.values()[1]).all()
    assert np.shares_memory(ring.times(), ring._t)  # a view, not a copy


def _sample(t: float, gpus: int) -> dict:
    return {"t": t, "cpu_percent": 50.0, "ram_used_bytes": 2 * 1024**3, "ram_total_bytes": 8 * 1024**3,
            "worker_rss_bytes": 1024**3,
            "gpus": [{"index": g, "name": "GPU", "util_percent": 90.0, "mem_used_bytes": 1024**3,
                      "mem_total_bytes": 8 * 1024**3, "power_w": None, "temp_c": 60.0, "sm_clock_mhz": 1500.0,
                      "mem_clock_mhz": 5000.0} for g in range(gpus)]}


def test_without_gpus_the_charts_say_so_and_show_cpu_and_ram(qtbot) -> None:
    charts = LiveCharts(capacity=100)
    qtbot.addWidget(charts)
    charts.show()
    for k in range(20):
        charts.add_sample(_sample(1000.0 + k * 0.1, gpus=0))
    qtbot.waitUntil(lambda: charts.redraw_count >= 1, timeout=2000)
    assert charts.no_gpu_label.isVisible() and charts.no_gpu_label.text() == NO_GPU_TEXT
    assert len(charts._plots) == 2
    x, y = charts._curves[0].getData()
    assert len(x) == 20 and y[-1] == 50.0


def test_one_line_per_gpu_and_missing_power_is_a_gap(qtbot) -> None:
    charts = LiveCharts(capacity=100)
    qtbot.addWidget(charts)
    charts.show()
    charts.add_sample(_sample(5.0, gpus=2))
    charts.add_sample(_sample(5.1, gpus=2))
    charts.redraw()
    assert not charts.no_gpu_label.isVisible()
    assert len(charts._plots) == 7 and len(charts._curves) == 5 * 2 + 2 + 2
    power = charts.series_names().index("power_w[1]")
    assert np.isnan(charts._buffer.values()[power]).all()
    count = charts.redraw_count
    charts.redraw()  # nothing new: no repaint work
    assert charts.redraw_count == count


HOUR = 36_000  # one hour of 10 Hz samples


def _hour_of_charts(qtbot, values_for: dict[int, np.ndarray]) -> tuple[LiveCharts, np.ndarray]:
    """A shown 1-GPU chart holding one hour of flat-ish data, with the given series replaced."""
    charts = LiveCharts(capacity=HOUR)
    qtbot.addWidget(charts)
    charts.resize(1400, 800)
    charts.show()
    qtbot.waitExposed(charts)
    t = np.arange(HOUR) / 10.0
    values = 50.0 + np.sin(t / 60.0)  # smooth, between 49 and 51
    values = np.tile(values, (8, 1))
    for index, series in values_for.items():
        values[index] = series
    charts.load_arrays(t, values, n_gpus=1)
    charts.set_window(None)
    charts.redraw()
    charts.graphics.viewport().repaint()
    return charts, t


def _drawn_segments(curve) -> list[tuple[float, float]]:
    """(x0, x1) of every line segment in the curve's painted path."""
    path = curve.getPath()
    segments = []
    for i in range(1, path.elementCount()):
        element = path.elementAt(i)
        if element.isLineTo():
            segments.append((path.elementAt(i - 1).x, element.x))
    return segments


def test_an_hour_on_screen_is_decimated_but_keeps_single_sample_spikes(qtbot) -> None:
    util = 50.0 + np.zeros(HOUR)
    util[12_345] = 1000.0  # one sample high
    util[23_456] = -500.0  # one sample low
    charts, t = _hour_of_charts(qtbot, {0: util})
    left, right = charts._plots[0].viewRange()[0]
    assert left == pytest.approx(t[0]) and right == pytest.approx(t[-1])  # the whole hour is in view
    x, y = charts._curves[0].getData()
    columns = max(plot.getViewBox().width() for plot in charts._plots)
    assert len(x) <= 2 * (columns + 2)  # ~2 points per pixel column, not 36,000
    assert np.nanmax(y) == 1000.0 and np.nanmin(y) == -500.0
    bucket_s = (t[-1] - t[0]) / columns
    assert abs(x[np.nanargmax(y)] - t[12_345]) <= bucket_s  # drawn in the right pixel column
    assert abs(x[np.nanargmin(y)] - t[23_456]) <= bucket_s
    qtbot.waitUntil(lambda: charts._plots[0].viewRange()[1][1] >= 1000.0, timeout=2000)  # y autorange


def test_decimation_never_bridges_a_nan_gap(qtbot) -> None:
    power = 100.0 + 50.0 * np.sin(np.arange(HOUR) / 7.0)
    long_gap, short_gap = slice(20_000, 20_600), slice(30_001, 30_004)  # 60 s, and 0.3 s (under a pixel)
    power[long_gap] = np.nan
    power[short_gap] = np.nan
    index = 2  # power_w[0]
    charts, t = _hour_of_charts(qtbot, {index: power})
    assert charts.series_names()[index] == "power_w[0]"
    x, y = charts._curves[index].getData()
    assert len(x) < HOUR / 10
    inside = (x > t[20_100]) & (x < t[20_500])
    assert inside.any() and np.isnan(y[inside]).all()  # the long gap stays empty
    nan_times = t[np.isnan(power)]
    for x0, x1 in _drawn_segments(charts._curves[index]):
        if x1 > x0:  # no drawn segment spans a missing sample
            assert not ((nan_times >= x0) & (nan_times <= x1)).any(), (x0, x1)


def test_a_window_shows_only_its_samples_and_scales_y_to_them(qtbot) -> None:
    util = 50.0 + np.zeros(HOUR)
    util[100] = 1000.0  # ten seconds in: off screen with a 300 s window
    util[-50] = 70.0
    charts, t = _hour_of_charts(qtbot, {0: util})
    charts.set_window(300.0)
    charts.redraw()
    charts.graphics.viewport().repaint()
    left, right = charts._plots[0].viewRange()[0]
    assert right == pytest.approx(t[-1]) and left == pytest.approx(t[-1] - 300.0)
    x, y = charts._curves[0].getData()
    assert x[0] >= left - 0.1 and np.nanmax(y) == 70.0
    # y autorange settles on the visible data: the off-screen spike does not stretch the axis
    qtbot.waitUntil(lambda: 70.0 <= charts._plots[0].viewRange()[1][1] < 100.0, timeout=2000)
