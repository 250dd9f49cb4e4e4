"""The report model: what every format shows, built once from the store's `RunDetail` records.

Renderers (HTML, PDF, Markdown) draw the generic `Table`s and the chart data kept here; the JSON and
CSV exporters read the same records. No figure is recomputed: cells format the stored Measurement.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib.metadata
import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from app import compare
from app.reports import tables
from app.reports.tables import Cell, Table
from app.store import env_fields
from app.store.records import RunDetail, RunSummary
from engine.causes import FailureCause
from engine.metric_names import CATALOGUE, HEADLINE_METRICS, info
from engine.results import MEDIAN_CI, PERCENTILES, Measurement, min_samples_for_percentile

_BYTES_PER_MIB = 2**20
_PATH_LIKE = re.compile(r"[\w.~/\-]+")  # folders and org/name ids are shortened to their last part


@dataclasses.dataclass(frozen=True)
class Distribution:
    """Values drawn as one box plot per label with every value shown as a dot (e.g. a search's trials to
    the goal over many seeds, per landscape); `note` says what a value is and what was left out."""

    key: str
    title: str
    axis_label: str
    groups: list[tuple[str, list[float]]]
    note: str = ""


@dataclasses.dataclass(frozen=True)
class SeriesFigure:
    """A grouped series (`app.compare.series`, the Compare view's Series tab) drawn as small multiples, the
    y scale shared by every panel or free per panel; `note` says what a point is."""

    series: compare.Series
    shared_y: bool = True
    note: str = ""


@dataclasses.dataclass
class Report:
    """One comparison: title and notes, the runs (store records) and the sections every format shows."""

    title: str
    notes: str
    generated_at: float
    generator: str
    runs: list[RunDetail]
    labels: dict[int, str]
    metric_names: list[str]
    option_names: list[str]
    differing_options: list[str]
    sections: list[Table]
    subject: str = ""  # what the report covers, when not a list of runs compared side by side
    distributions: list[Distribution] = dataclasses.field(default_factory=list)  # drawn as box plots
    series: list[SeriesFigure] = dataclasses.field(default_factory=list)  # drawn as small multiples

    def section(self, key: str) -> Table | None:
        return next((t for t in self.sections if t.key == key), None)

    @property
    def meta(self) -> str:
        """The line under the title: what is covered, and when it was generated."""
        return f"{self.subject or f'{len(self.runs)} run(s) compared'} · generated {self.generated_iso}"

    @property
    def generated_iso(self) -> str:
        return dt.datetime.fromtimestamp(self.generated_at, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def build_report(details: Sequence[RunDetail], *, title: str = "", notes: str = "",
                 now: Callable[[], float] | None = None,
                 environment_fields: Mapping[int, Mapping[str, Any]] | None = None) -> Report:
    """The report of these runs, in the given order; with `environment_fields` (`Store.environment_fields`
    of the runs) a table says where each ran (GPU model and count, host, driver, library versions)."""
    runs = list(details)
    labels = {d.summary.id: run_label(d) for d in runs}
    metric_names = ordered_metric_names(runs)
    configs = [d.shown_config for d in runs]
    option_names = _ordered_keys(configs, first=("engine", "model"))
    differing = [k for k in option_names if tables.differs([c.get(k, tables.MISSING) for c in configs])]
    headers = [labels[d.summary.id] for d in runs]
    sections = [
        _runs_table(runs, labels),
        *tables.side_by_side("config", "Configurations", configs, headers,
                             option_names, format_option),
        *(tables.side_by_side("where", "Where each run ran (environment fields)",
                              [dict(environment_fields.get(d.summary.id, {})) for d in runs], headers,
                              [k for k in env_fields.FIELDS if any(k in f for f in environment_fields.values())],
                              format_option) if environment_fields else []),
        *_environment_tables(runs, labels),
        _metrics_table(runs, headers, metric_names),
        _methods_table(runs, metric_names),
        _failures_table(runs, labels),
    ]
    stamp = (now or _utc_now)()
    return Report(title or "InferLab comparison", notes, stamp, f"InferLab {inferlab_version()}", runs, labels,
                  metric_names, option_names, differing, [s for s in sections if s is not None])


def inferlab_version() -> str:
    """The installed InferLab version (the engine's own when running from a bare checkout)."""
    try:
        return importlib.metadata.version("inferlab")
    except importlib.metadata.PackageNotFoundError:
        from engine import __version__

        return __version__


def _utc_now() -> float:
    return dt.datetime.now(dt.UTC).timestamp()


def run_label(d: RunDetail) -> str:
    """Short column/legend label: '#12 vllm SmolLM2-135M', with the source when imported."""
    s = d.summary
    path_like = _PATH_LIKE.fullmatch(s.model) is not None
    model = (s.model.rstrip("/").rsplit("/", 1)[-1] or s.model) if path_like else s.model
    label = f"#{s.id} {s.engine} {model}"
    return label if s.source == "inferlab" else f"{label} [{s.source}]"


def ordered_metric_names(runs: Sequence[RunDetail]) -> list[str]:
    """Metrics present in any run: catalogue order first, then other (imported) names sorted."""
    present = {name for d in runs for name in d.summary.metrics}
    return [n for n in CATALOGUE if n in present] + sorted(present - set(CATALOGUE))


def key_metrics(metric_names: Sequence[str]) -> list[str]:
    """The headline metrics among `metric_names`, in headline order (the PDF's compact columns)."""
    return [m for m in HEADLINE_METRICS if m in metric_names]


def display_unit(unit: str) -> str:
    """Unit shown in tables: bytes are shown in MiB (CSV and JSON keep the stored bytes)."""
    return "MiB" if unit == "B" else unit


def metric_header(name: str, unit: str | None = None) -> str:
    mi = info(name)
    shown = display_unit(unit if unit is not None else mi.unit)
    return f"{mi.label} ({shown})" if shown else mi.label


def format_number(value: float) -> str:
    a = abs(value)
    if a >= 1000:
        return f"{value:,.0f}"
    if a >= 100:
        return f"{value:.1f}"
    if a >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def format_measurement(m: Measurement | None) -> Cell:
    """A metric cell: value, its 95% CI when known ('mean CI' for one stored as a t-interval of the
    mean), a flag on a percentile its samples cannot support, '(est.)' for estimates, 'n/a' when
    unavailable. The tooltip says the method, n, distinct values and what the interval is."""
    if m is None:
        return Cell("—", kind="missing")
    if m.status == "unavailable" or m.value is None:
        return Cell("n/a", kind="unavailable", tip=m.method)
    scale = _BYTES_PER_MIB if m.unit == "B" else 1.0
    text = format_number(m.value / scale)
    if m.ci95_low is not None and m.ci95_high is not None:
        kind = "" if m.ci_label == MEDIAN_CI else "mean CI "
        text += f" [{kind}{format_number(m.ci95_low / scale)}, {format_number(m.ci95_high / scale)}]"
    if m.caveat:
        text += f" (too few samples: n={m.n}, {m.n_distinct} distinct)"
    if m.status == "estimated":
        text += " (est.)"
    return Cell(text, kind=m.status, tip="; ".join(t for t in (m.method, m.statistics_note) if t))


METRICS_NOTE = ("'mean CI': a 95% CI of the mean (Student t), as runs stored before store revision 0003 "
                "recorded it. A median of fewer than 6 repetitions has no 95% CI. 'too few samples': a "
                "percentile its samples cannot support (" + ", ".join(
                    f"p{q} needs {min_samples_for_percentile(q)} distinct values" for q in PERCENTILES) + ").")


def format_option(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str)


def format_time(t: float | None) -> str:
    if t is None:
        return "—"
    return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def _ordered_keys(dicts: Sequence[dict[str, Any]], first: Sequence[str] = ()) -> list[str]:
    seen: dict[str, None] = {}
    for d in dicts:
        seen.update(dict.fromkeys(d))
    return [k for k in first if k in seen] + [k for k in seen if k not in first]


def _runs_table(runs: Sequence[RunDetail], labels: dict[int, str]) -> Table:
    rows = []
    for d in runs:
        s = d.summary
        status_kind = "ok" if s.status == "ok" else "failed"
        rows.append([Cell(str(s.id)), Cell(labels[s.id]), Cell(s.source, differs=s.source != "inferlab"),
                     Cell(s.engine), Cell(s.model), Cell(s.status, kind=status_kind),
                     Cell(format_time(s.created_at)), Cell("" if s.sweep_id is None else str(s.sweep_id)),
                     Cell(", ".join(s.tags)), Cell(s.notes)])
    return Table("runs", "Runs compared",
                 ["Run", "Label", "Source", "Engine", "Model", "Status", "Created (UTC)", "Sweep", "Tags",
                  "Notes"], rows,
                 note="Source 'inferlab' marks runs measured here; any other source names the tool whose "
                      "result file was imported.")


def flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts as dotted keys (lists of dicts as key[i].sub)."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, key + "."))
        elif isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            for i, x in enumerate(v):
                out.update(flatten(x, f"{key}[{i}]."))
        else:
            out[key] = v
    return out


def _environment_tables(runs: Sequence[RunDetail], labels: dict[int, str]) -> list[Table]:
    """Distinct environments side by side (runs sharing one are grouped under one column)."""
    groups: dict[str, list[RunDetail]] = {}
    for d in runs:
        groups.setdefault(json.dumps(d.environment, sort_keys=True, default=str), []).append(d)
    envs = [flatten(members[0].environment) for members in groups.values()]
    headers = [_group_header(i, members) for i, members in enumerate(groups.values())]
    keys = _ordered_keys(envs)
    return tables.side_by_side("environment", "Hardware and software environment", envs, headers, keys,
                               format_option)


def _group_header(i: int, members: Sequence[RunDetail]) -> str:
    ids = [f"#{d.summary.id}" for d in members]
    shown = ", ".join(ids[:6]) + (f" +{len(ids) - 6} more" if len(ids) > 6 else "")
    return f"Env {i + 1} ({shown})"


def _metrics_table(runs: Sequence[RunDetail], headers: list[str], metric_names: list[str]) -> Table:
    units = {n: next((d.summary.metrics[n].unit for d in runs if n in d.summary.metrics), info(n).unit)
             for n in metric_names}
    item_headers = [metric_header(n, units[n]) for n in metric_names]
    table = tables.matrix("metrics", f"Metrics (value [{MEDIAN_CI}]; n/a = unavailable, see how measured)",
                          item_headers, headers,
                          lambda i, r: _metric_cell(runs[r].summary, metric_names[i]),
                          item_title="Metric", compact_items=[metric_names.index(k) for k in
                                                              key_metrics(metric_names)])
    return dataclasses.replace(table, note=METRICS_NOTE)


def _metric_cell(run: RunSummary, name: str) -> Cell:
    """A run's figure; "OOM" where a run that ran out of memory has none."""
    m = run.metrics.get(name)
    if m is None and run.failure_cause == FailureCause.OOM:
        return Cell("OOM", kind="failed", tip=run.failure_message or "ran out of memory")
    return format_measurement(m)


def _methods_table(runs: Sequence[RunDetail], metric_names: list[str]) -> Table:
    rows = []
    for name in metric_names:
        by_status: dict[str, dict[str, int]] = {}
        for d in runs:
            m = d.summary.metrics.get(name)
            if m is not None:
                counts = by_status.setdefault(m.status, {})
                method = f"{m.method}; {m.ci_description}" if m.ci_description else m.method
                counts[method] = counts.get(method, 0) + 1
        for status, methods in by_status.items():
            text = "; ".join(f"{meth} (×{n})" if len(runs) > 1 else meth for meth, n in methods.items())
            rows.append([Cell(name), Cell(info(name).meaning), Cell(status, kind=status), Cell(text)])
    return Table("methods", "How each metric was measured",
                 ["Metric", "Meaning", "Status", "Method, or the reason it is unavailable"], rows)


def _failures_table(runs: Sequence[RunDetail], labels: dict[int, str]) -> Table | None:
    rows = [[Cell(labels[d.summary.id]), Cell(d.summary.status, kind="failed"),
             Cell(d.summary.failure_cause or "—"), Cell(d.summary.failure_message or "")]
            for d in runs if d.summary.status != "ok"]
    return Table("failures", "Failed and cancelled trials", ["Run", "Status", "Cause", "Message"], rows,
                 note="" if rows else "Every trial finished.")
