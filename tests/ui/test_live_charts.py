"""Live telemetry: ring buffers keep the newest samples in order; charts adapt to the GPUs present."""

from __future__ import annotations

import numpy as np

from app.ui.live_charts import NO_GPU_TEXT, LiveCharts
from app.ui.ring_buffer import RingBuffer


def test_ring_buffer_keeps_the_newest_samples_in_time_order() -> None:
    ring = RingBuffer(capacity=5, n_series=2)
    for k in range(12):
        ring.append(float(k), [k * 10.0, None])
    assert ring.size == 5
    assert ring.times().tolist() == [7.0, 8.0, 9.0, 10.0, 11.0]
    assert ring.series(0).tolist() == [70.0, 80.0, 90.0, 100.0, 110.0]
    assert np.isnan(ring.series(1)).all()
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
    assert np.isnan(charts._buffer.series(power)).all()
    count = charts.redraw_count
    charts.redraw()  # nothing new: no repaint work
    assert charts.redraw_count == count
