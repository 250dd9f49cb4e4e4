"""The Markdown report, for pull requests: the report's tables with units, differing options bold.

User text is escaped twice over: HTML (so `<script>` shows as text where Markdown passes HTML through)
and Markdown (`|`, backticks, emphasis and link brackets), and newlines inside cells become spaces.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from app.reports.model import Report
from app.reports.tables import Cell, Table

_MD_SPECIAL = re.compile(r"([\\`*_\[\]{}|#~!])")


def escape_md(text: str) -> str:
    """Text that renders literally in Markdown (GitHub-flavoured) and never as HTML."""
    return _MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


def _cell(c: Cell) -> str:
    text = escape_md(" ".join(c.text.split()))
    return f"**{text}**" if c.differs and text else text


def table_md(table: Table) -> str:
    lines = ["| " + " | ".join(escape_md(h) for h in table.headers) + " |",
             "|" + "|".join("---" for _ in table.headers) + "|"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in table.rows]
    return "\n".join(lines)


def render_markdown(report: Report) -> str:
    out = [f"# {escape_md(report.title)}", "",
           f"_{len(report.runs)} run(s) compared · generated {escape_md(report.generated_iso)} by "
           f"{escape_md(report.generator)}_", ""]
    if report.notes:
        out += ["  \n".join(escape_md(line) for line in report.notes.splitlines()), ""]
    for table in report.sections:
        out += [f"## {escape_md(table.caption)}", ""]
        if table.note:
            out += [f"_{escape_md(table.note)}_", ""]
        if table.rows:
            out += [table_md(table), ""]
    out += ["_Charts (key metrics, throughput landscape, Pareto front, telemetry) are in the HTML and PDF "
            "exports._", ""]
    return "\n".join(out)


def write_markdown(report: Report, path: Path) -> None:
    path.write_text(render_markdown(report), encoding="utf-8")
