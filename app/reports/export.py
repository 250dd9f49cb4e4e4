"""`export_runs`: the one way the GUI and the CLI write a comparison report in any format."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from app.reports.formats import FORMATS, report_format
from app.reports.model import Report, build_report
from app.store.records import RunDetail

__all__ = ["FORMATS", "export_runs"]

LOAD_CHUNK = 100


def export_runs(store: Any, run_ids: Sequence[int], fmt: str, path: str | Path, *, title: str = "",
                notes: str = "", progress: Callable[[int, int], None] | None = None) -> Path:
    """Write the comparison of `run_ids` (in that order) from `store` as `fmt` to `path`.

    `progress(done, total)` is called as runs are read (one step per run) and once more when the file
    is written, so `total` is `len(run_ids) + 1`. The file appears whole or not at all: it is written
    beside the target and renamed into place.

    Raises:
        ValueError: unknown format or no runs.
        KeyError/LookupError: from the store when a run id does not exist.
    """
    report_format(fmt)  # an unknown format is refused before any run is read
    ids = list(dict.fromkeys(int(i) for i in run_ids))
    if not ids:
        raise ValueError("runs: no run ids given")
    total = len(ids) + 1
    details: list[RunDetail] = []
    for start in range(0, len(ids), LOAD_CHUNK):
        details += store.get_runs(ids[start:start + LOAD_CHUNK])
        if progress:
            progress(len(details), total)
    by_id = {d.summary.id: d for d in details}
    missing = [i for i in ids if i not in by_id]
    if missing:
        raise LookupError(f"runs: no run with id {missing[0]} in the store")
    report = build_report([by_id[i] for i in ids], title=title, notes=notes,
                          environment_fields=store.environment_fields(ids))
    target = write_report(report, fmt, path)
    if progress:
        progress(total, total)
    return target


def write_report(report: Report, fmt: str, path: str | Path) -> Path:
    """Write a built report as `fmt` to `path`, whole or not at all (written beside it, renamed into place)."""
    writer = report_format(fmt).load_writer()
    target = Path(path)
    tmp = target.with_name(f".{target.name}.partial")
    try:
        writer(report, tmp)
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)
    return target
