"""What the store hands to the GUI, the CLI and the reports: plain dataclasses read from the database.

Every figure a chart or a report shows comes from these records (read from the store), never from a
second computation elsewhere.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from engine.results import Measurement, RequestRecord


class MetricDetails:
    """The full Measurements of a set of listed runs, read from the store in one pass when first needed."""

    def __init__(self, load: Callable[[], dict[int, dict[str, Measurement]]]) -> None:
        self._load: Callable[[], dict[int, dict[str, Measurement]]] | None = load
        self._by_run: dict[int, dict[str, Measurement]] = {}
        self._lock = threading.Lock()

    def of(self, run_id: int) -> dict[str, Measurement]:
        with self._lock:
            if self._load is not None:
                self._by_run, self._load = self._load(), None
        return self._by_run.get(run_id, {})


class StoredMetrics(Mapping[str, Measurement]):
    """A listed run's summary metrics: the values come with the listing (the store keeps a compact copy
    of them on each run); the full Measurements (unit, status, method, CI) come from `details`, which
    reads them for every run of the listing the first time any run's are needed.

    So listing 10,000 runs reads one row per run, and a table that shows a page reads one more query.
    """

    __slots__ = ("run_id", "_values", "_details")

    def __init__(self, run_id: int, values: dict[str, float], details: MetricDetails) -> None:
        self.run_id = run_id
        self._values = values  # NaN where unavailable
        self._details = details

    def value(self, name: str) -> float | None:
        """The value of `name` (None when missing or unavailable), without reading the details."""
        v = self._values.get(name)
        return None if v is None or v != v else v

    def __getitem__(self, name: str) -> Measurement:
        if name not in self._values:
            raise KeyError(name)
        found = self._details.of(self.run_id).get(name)
        if found is None:
            raise KeyError(f"{name}: run {self.run_id} was deleted after it was listed")
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"StoredMetrics(run {self.run_id}: {self._values!r})"


@dataclasses.dataclass(frozen=True, slots=True)
class RunSummary:
    """One row of the runs table: identity, status and the summary metrics."""

    id: int
    created_at: float
    engine: str
    model: str
    status: str
    failure_cause: str | None
    failure_message: str | None
    sweep_id: int | None
    source: str                      # "inferlab", or the importer's label ("vllm-bench", "optimum-benchmark")
    config: dict[str, Any]
    metrics: Mapping[str, Measurement]  # StoredMetrics when read from the store
    tags: tuple[str, ...] = ()
    notes: str = ""

    def value(self, name: str) -> float | None:
        if isinstance(self.metrics, StoredMetrics):
            return self.metrics.value(name)
        m = self.metrics.get(name)
        return None if m is None else m.value


@dataclasses.dataclass(frozen=True)
class RunDetail:
    """A run with everything kept of it: requests, telemetry samples and the environment record."""

    summary: RunSummary
    environment: dict[str, Any]
    requests: list[RequestRecord]
    telemetry: list[dict[str, Any]]  # engine.telemetry sample dicts, in time order
    notes_list: list[str]            # the result's interpretive notes (methods, caveats)
    sample_outputs: list[str]
    started_at: float | None
    finished_at: float | None

    @property
    def shown_config(self) -> dict[str, Any]:
        """The run's options as shown beside it, plus the quantization its checkpoint carries (read from
        the model's files by the worker: `environment.model.checkpoint_quantization`) where recorded."""
        model = self.environment.get("model")
        found = model.get("checkpoint_quantization") if isinstance(model, dict) else None
        return self.summary.config if found is None else {**self.summary.config, "checkpoint_quantization": found}


@dataclasses.dataclass(frozen=True)
class SweepSummary:
    id: int
    name: str
    created_at: float
    strategy: str
    status: str
    profile: dict[str, Any]
    run_count: int
