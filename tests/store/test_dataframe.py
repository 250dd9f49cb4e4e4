"""`app.dataframe.runs_frame` on a real SQLite store: one row per run, options and metrics as columns
with units, filters passed through, and figures that were not measured flagged, never 0."""

from __future__ import annotations

import math
from pathlib import Path

from app.dataframe import runs_frame
from app.store import Store
from engine.results import Measurement, TrialResult


def test_runs_frame_has_a_row_per_run_with_options_metrics_and_units(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    with Store(url) as store:
        store.add_run(TrialResult("a", {"engine": "hf-generate", "model": "demo", "batch_size": 4}, "ok", {
            "output_tokens_per_s": Measurement.measured(120.5, "tok/s", "timed"),
            "energy_j": Measurement.unavailable("J", "no NVML on this machine")}))
        store.add_run(TrialResult("b", {"engine": "vllm", "model": "demo", "batch_size": 8}, "ok", {
            "output_tokens_per_s": Measurement.estimated(300.0, "tok/s", "from a shorter window")}))
    df = runs_frame(url)
    assert list(df["id"]) == [2, 1] and len(df) == 2
    assert df.loc[1, "config.batch_size"] == 4 and df.loc[2, "engine"] == "vllm"
    assert df.loc[1, "output_tokens_per_s [tok/s]"] == 120.5
    assert math.isnan(df.loc[1, "energy_j [J]"]) and math.isnan(df.loc[2, "energy_j [J]"])
    assert df.attrs["units"] == {"output_tokens_per_s": "tok/s", "energy_j": "J"}
    assert df.attrs["not_measured"] == {"energy_j": {1: "unavailable: no NVML on this machine"},
                                        "output_tokens_per_s": {2: "estimated: from a shorter window"}}
    only = runs_frame(url, engine="hf-generate")
    assert list(only.index) == [1]
