"""The single-file HTML report: inline CSS and inline SVG charts, no script, no network.

Every piece of user text (model names, notes, tags, configs) goes through `html.escape`, and a
Content-Security-Policy that allows no script at all backs that up.
"""

from __future__ import annotations

import html
from pathlib import Path
from string import Template

from app.reports.charts import Chart, build_charts, to_svg
from app.reports.model import Report
from app.reports.tables import Table
from app.shipped import shipped_dir

ASSETS_DIR = shipped_dir("assets") / "report"


def render_html(report: Report, charts: list[Chart] | None = None) -> str:
    """The whole report page."""
    charts = build_charts(report) if charts is None else charts
    sections = report.sections
    head, rest = sections[:1], sections[1:]
    body = [*(_table_section(t) for t in head), _charts_section(charts), *(_table_section(t) for t in rest)]
    toc = [_toc_item(t.key, t.caption) for t in head]
    toc += [_toc_item("charts", "Charts")] if charts else []
    toc += [_toc_item(t.key, t.caption) for t in rest]
    page = Template((ASSETS_DIR / "report.html").read_text(encoding="utf-8"))
    return page.substitute(
        title=_e(report.title), generator=_e(report.generator), generated=_e(report.generated_iso),
        css=(ASSETS_DIR / "report.css").read_text(encoding="utf-8"),
        meta=_e(report.meta),
        notes=f'<div class="notes">{_e(report.notes)}</div>' if report.notes else "",
        toc="\n".join(toc), body="\n".join(b for b in body if b))


def write_html(report: Report, path: Path) -> None:
    path.write_text(render_html(report), encoding="utf-8")


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _toc_item(key: str, caption: str) -> str:
    return f'<li><a href="#{_e(key)}">{_e(caption)}</a></li>'


def _table_section(table: Table) -> str:
    parts = [f'<section id="{_e(table.key)}">', f"<h2>{_e(table.caption)}</h2>"]
    if table.note:
        parts.append(f'<p class="note">{_e(table.note)}</p>')
    if table.rows:
        parts.append(f'<div class="scroll">{table_html(table)}</div>')
    parts.append("</section>")
    return "\n".join(parts)


def table_html(table: Table) -> str:
    """One `<table>`; highlighted cells get class 'differs', status cells their kind."""
    out = ["<table>", "<thead><tr>", *(f"<th>{_e(h)}</th>" for h in table.headers), "</tr></thead><tbody>"]
    for row in table.rows:
        cells = []
        for i, c in enumerate(row):
            classes = " ".join(x for x in ("differs" if c.differs else "", c.kind) if x)
            attrs = (f' class="{classes}"' if classes else "") + (f' title="{_e(c.tip)}"' if c.tip else "")
            tag = "th" if i == 0 else "td"
            cells.append(f"<{tag}{attrs}>{_e(c.text)}</{tag}>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


def _charts_section(charts: list[Chart]) -> str:
    if not charts:
        return ""
    parts = ['<section id="charts">', "<h2>Charts</h2>",
             '<p class="note">Hover a bar, point or cell for its value.</p>']
    for c in charts:
        note = f'<p class="note">{_e(c.note)}</p>' if c.note else ""
        parts.append(f'<figure id="chart-{_e(c.key)}"><figcaption>{_e(c.title)}</figcaption>'
                     f"{to_svg(c)}{note}</figure>")
    parts.append("</section>")
    return "\n".join(parts)
