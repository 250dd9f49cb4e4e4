"""The PDF report, pure Python (matplotlib's PDF backend): no browser and no extra package needed.

Pages are A4 landscape. Tables are set in a monospaced font, one text line per row, so columns align
exactly and a 1,000-run table costs one artist per row; highlighted (differing) cells get a shaded
box. Text pages use the PDF's built-in fonts (Courier/Helvetica: no glyph subsetting, ~30× faster)
whenever every character on the page is in their cp1252 range, and embedded DejaVu otherwise, so any
script still prints right; both monospaced faces advance 0.6 em, so columns line up either way. Tables too wide for the page keep their compact columns (key metrics) and then split into
column chunks that repeat the first column. Each chart gets its own page.
"""

from __future__ import annotations

import logging
import textwrap
from pathlib import Path

import matplotlib
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.text import Text

from app.reports.charts import Chart, build_charts
from app.reports.model import Report
from app.reports.tables import Table

PAGE_IN = (11.69, 8.27)
MARGIN_IN = 0.5
TABLE_PT = 6.5
CHAR_EM = 0.602            # DejaVu Sans Mono advance width per em
MAX_CELL_CHARS = 48
NOTE_CHARS = 190           # 8 pt sans-serif characters across the page
_MONO = "monospace"  # DejaVu Sans Mono, or Courier on core-font pages
_KIND_COLORS = {"unavailable": "#fde0dc", "failed": "#fde0dc"}
_DIFF_COLOR = "#fff2b3"


class _PageWriter:
    """Lays out lines top to bottom, starting a new page when the current one is full."""

    def __init__(self, pdf: PdfPages, footer: str) -> None:
        self.pdf, self.footer = pdf, footer
        self.fig: Figure | None = None
        self.y_in = 0.0
        self.page = 0
        self.unicode = False

    def need(self, height_in: float) -> Figure:
        if self.fig is None or self.y_in - height_in < MARGIN_IN:
            self.flush()
            self.fig = Figure(figsize=PAGE_IN)
            self.unicode = False
            self.page += 1
            self.y_in = PAGE_IN[1] - MARGIN_IN
        return self.fig

    def text(self, s: str, size: float = 9, weight: str = "normal", family: str = "sans-serif",
             gap_in: float = 0.0) -> None:
        height = size * 1.45 / 72 + gap_in
        fig = self.need(height)
        self.unicode = self.unicode or not _core_font_safe(s)
        self.y_in -= height
        fig.text(MARGIN_IN / PAGE_IN[0], self.y_in / PAGE_IN[1], s, fontsize=size, fontweight=weight,
                 family=family, va="bottom")

    def boxes(self, spans: list[tuple[int, int, str]], char_in: float, line_in: float) -> None:
        """Shade character spans (start, length, color) of the line just written."""
        assert self.fig is not None
        for start, length, color in spans:
            x = MARGIN_IN + start * char_in
            self.fig.patches.append(Rectangle(
                (x / PAGE_IN[0], (self.y_in - 0.2 * line_in) / PAGE_IN[1]), length * char_in / PAGE_IN[0],
                line_in / PAGE_IN[1], transform=self.fig.transFigure, facecolor=color, edgecolor="none",
                zorder=-1))

    def flush(self) -> None:
        if self.fig is not None:
            self.fig.text(0.5, 0.25 / PAGE_IN[1], f"{self.footer} · page {self.page}", ha="center",
                          fontsize=7, color="#666666")
            with matplotlib.rc_context({"pdf.use14corefonts": not self.unicode}):
                self.pdf.savefig(self.fig)
            self.fig = None


def write_pdf(report: Report, path: Path, charts: list[Chart] | None = None) -> None:
    """Write the report as a PDF to `path`."""
    charts = build_charts(report) if charts is None else charts
    font_log = logging.getLogger("matplotlib.font_manager")  # "no normal weight for Helvetica": harmless
    level = font_log.level
    font_log.setLevel(logging.ERROR)
    try:
        _write(report, path, charts)
    finally:
        font_log.setLevel(level)


def _write(report: Report, path: Path, charts: list[Chart]) -> None:
    with matplotlib.rc_context({"pdf.fonttype": 42}), PdfPages(path, metadata={
            "Title": report.title, "Creator": report.generator}) as pdf:
        w = _PageWriter(pdf, f"{report.title} · {report.generator}")
        w.text(report.title, size=16, weight="bold")
        w.text(report.meta, size=9, gap_in=0.05)
        for para in report.notes.splitlines():
            for line in textwrap.wrap(para, 170) or [""]:
                w.text(line, size=9)
        sections = report.sections
        _table(w, sections[0])
        w.flush()
        for chart in charts:
            _chart_page(pdf, chart)
        for table in sections[1:]:
            _table(w, table)
        w.flush()


def _chart_page(pdf: PdfPages, chart: Chart) -> None:
    """The chart on its own page, set in the PDF's built-in fonts when its every label allows (embedding
    DejaVu costs more than drawing a chart), tick labels' minus signs as ASCII so they do."""
    fig = chart.figure
    fig.suptitle(chart.title, fontsize=11, fontweight="bold")
    if chart.note:
        fig.supxlabel("\n".join(textwrap.wrap(chart.note, NOTE_CHARS)), fontsize=7.5, color="#444444")
    core = all(_core_font_safe(t.get_text()) for t in fig.findobj(Text))
    with matplotlib.rc_context({"pdf.use14corefonts": core, "axes.unicode_minus": False}):
        pdf.savefig(fig)


def _table(w: _PageWriter, table: Table) -> None:
    w.text(table.caption, size=12, weight="bold", gap_in=0.15)
    for line in textwrap.wrap(table.note, NOTE_CHARS):
        w.text(line, size=8)
    if not table.rows:
        return
    char_in = TABLE_PT * CHAR_EM / 72
    max_chars = int((PAGE_IN[0] - 2 * MARGIN_IN) / char_in)
    for columns in _column_chunks(table, max_chars):
        widths = [min(MAX_CELL_CHARS, max(len(table.headers[c]), *(len(r[c].text) for r in table.rows)))
                  for c in columns]
        header = _line([table.headers[c] for c in columns], widths, middle=True)
        w.text(header, size=TABLE_PT, weight="bold", family=_MONO, gap_in=0.04)
        w.text("-" * len(header), size=TABLE_PT, family=_MONO)
        line_in = TABLE_PT * 1.45 / 72
        for row in table.rows:
            cells = [row[c] for c in columns]
            w.text(_line([c.text for c in cells], widths), size=TABLE_PT, family=_MONO)
            spans, start = [], 0
            for cell, width in zip(cells, widths, strict=True):
                color = _DIFF_COLOR if cell.differs else _KIND_COLORS.get(cell.kind)
                if color:
                    spans.append((start, width, color))
                start += width + 2
            if spans:
                w.boxes(spans, char_in, line_in)


def _column_chunks(table: Table, max_chars: int) -> list[list[int]]:
    """Column index groups that fit the page width, each starting with the first column."""
    columns = list(range(len(table.headers)))
    width = {c: min(MAX_CELL_CHARS, max(len(table.headers[c]), *(len(r[c].text) for r in table.rows))) + 2
             for c in columns}
    if sum(width.values()) > max_chars and table.compact_columns:
        columns = table.compact_columns
    chunks, current, used = [], [0], width[0]
    for c in columns[1:]:
        if used + width[c] > max_chars and len(current) > 1:
            chunks.append(current)
            current, used = [0], width[0]
        current.append(c)
        used += width[c]
    chunks.append(current)
    return chunks


def _core_font_safe(text: str) -> bool:
    try:
        text.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


def _line(texts: list[str], widths: list[int], middle: bool = False) -> str:
    return "  ".join(_fit(t, n, middle).ljust(n) for t, n in zip(texts, widths, strict=True)).rstrip()


def _fit(text: str, n: int, middle: bool = False) -> str:
    """`text` in at most `n` characters, cut at the end, or (`middle`) around a "…" that keeps both its start
    and its end: a run label's id and its `[source]`."""
    text = " ".join(text.split())
    if len(text) <= n:
        return text
    if not middle:
        return text[: n - 1] + "…"
    head = (n - 1) // 2
    return text[:head] + "…" + text[len(text) - (n - 1 - head):]
