"""What the store hands to the GUI, the CLI and the reports: plain dataclasses read from the database.

Every figure a chart or a report shows comes from these records (read from the store), never from a
second computation elsewhere.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from engine.results import Measurement, RequestRecord


@dataclasses.dataclass(frozen=True)
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
    metrics: dict[str, Measurement]
    tags: tuple[str, ...] = ()
    notes: str = ""

    def value(self, name: str) -> float | None:
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


@dataclasses.dataclass(frozen=True)
class SweepSummary:
    id: int
    name: str
    created_at: float
    strategy: str
    status: str
    profile: dict[str, Any]
    run_count: int
