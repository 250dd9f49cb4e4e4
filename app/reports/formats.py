"""The report formats: one table read by the CLI's `--format` choices, the GUI's export dialog and the
suffix mapping. Adding a format is one entry here plus its writer module.

Writers are named, not imported, so that listing the formats (the CLI's parser, the GUI's dialog)
does not import matplotlib for PDF.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.reports.model import Report


@dataclass(frozen=True)
class ReportFormat:
    """A report format: `name` as the CLI takes it, a label for file dialogs, its file suffixes (the
    first is the one added to a file name that has none) and its writer as "module:function"."""

    name: str
    label: str
    suffixes: tuple[str, ...]
    writer: str

    @property
    def file_filter(self) -> str:
        """The Qt file-dialog filter, e.g. "HTML report (*.html *.htm)"."""
        return f"{self.label} ({' '.join('*' + s for s in self.suffixes)})"

    def load_writer(self) -> Callable[[Report, Path], None]:
        """Import and return the function that writes a `Report` to a path in this format."""
        module, _, function = self.writer.partition(":")
        return getattr(importlib.import_module(module), function)  # type: ignore[no-any-return]


REPORT_FORMATS: tuple[ReportFormat, ...] = (
    ReportFormat("html", "HTML report", (".html", ".htm"), "app.reports.html_export:write_html"),
    ReportFormat("pdf", "PDF report", (".pdf",), "app.reports.pdf_export:write_pdf"),
    ReportFormat("md", "Markdown", (".md",), "app.reports.markdown_export:write_markdown"),
    ReportFormat("csv", "CSV", (".csv",), "app.reports.csv_export:write_csv"),
    ReportFormat("json", "JSON", (".json",), "app.reports.json_export:write_json"),
)
FORMATS: tuple[str, ...] = tuple(f.name for f in REPORT_FORMATS)


def report_format(name: str) -> ReportFormat:
    """The format called `name`; ValueError listing the allowed names."""
    for fmt in REPORT_FORMATS:
        if fmt.name == name:
            return fmt
    raise ValueError(f"format: got {name!r}; allowed: {', '.join(FORMATS)}")


def format_for_suffix(path: str | Path) -> ReportFormat | None:
    """The format whose suffixes include `path`'s (case-insensitive), or None."""
    suffix = Path(path).suffix.lower()
    return next((f for f in REPORT_FORMATS if suffix and suffix in f.suffixes), None)


def format_for_filter(file_filter: str) -> ReportFormat | None:
    """The format a file dialog's chosen filter stands for, or None."""
    return next((f for f in REPORT_FORMATS if f.file_filter == file_filter), None)
