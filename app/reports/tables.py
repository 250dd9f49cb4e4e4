"""Generic report tables (cells with a highlight flag) and the two layouts reports use for many runs.

With a few runs, items (options, metrics) are rows and runs are columns, side by side. Past
`SIDE_BY_SIDE_MAX_COLUMNS` runs the table turns: one row per run, one column per item, and for
option-like tables only the differing items get columns (the common ones get their own table).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Sequence
from typing import Any

SIDE_BY_SIDE_MAX_COLUMNS = 10


class _Missing:
    """A key a dict does not have (shown as an em dash, distinct from a stored None)."""

    def __repr__(self) -> str:
        return "—"


MISSING = _Missing()


@dataclasses.dataclass(frozen=True)
class Cell:
    """One cell: its text, whether it is highlighted (differs), a style hint and a tooltip."""

    text: str
    differs: bool = False
    kind: str = ""
    tip: str = ""


@dataclasses.dataclass(frozen=True)
class Table:
    """A captioned table; `compact_columns` lists the columns a narrow page keeps (None: all)."""

    key: str
    caption: str
    headers: list[str]
    rows: list[list[Cell]]
    note: str = ""
    compact_columns: list[int] | None = None


def side_by_side(key: str, caption: str, dicts: Sequence[dict[str, Any]], headers: Sequence[str],
                 keys: Sequence[str], fmt: Callable[[Any], str]) -> list[Table]:
    """Dicts compared key by key with differing keys highlighted (turned past the column limit)."""
    values = {k: [d.get(k, MISSING) for d in dicts] for k in keys}
    differing = [k for k in keys if differs(values[k])]

    def cell(v: Any, highlight: bool) -> Cell:
        return Cell("—" if v is MISSING else fmt(v), differs=highlight)

    if len(dicts) <= SIDE_BY_SIDE_MAX_COLUMNS:
        rows = [[Cell(k, differs=k in differing)] + [cell(v, k in differing) for v in values[k]] for k in keys]
        note = ("Highlighted: differs between the columns that have it (— : not recorded for that column)."
                if differing and len(dicts) > 1 else "")
        return [Table(key, caption, ["Item", *headers], rows, note=note)]
    common_rows = []
    for k in (k for k in keys if k not in differing):
        present = [v for v in values[k] if v is not MISSING]
        text = fmt(present[0]) + ("" if len(present) == len(dicts) else f" (recorded for {len(present)} of "
                                                                          f"{len(dicts)})")
        common_rows.append([Cell(k), Cell(text)])
    common_table = Table(f"{key}-common", f"{caption}: same wherever recorded", ["Item", "Value"], common_rows)
    rows = [[Cell(h)] + [cell(values[k][i], True) for k in differing] for i, h in enumerate(headers)]
    turned = Table(key, f"{caption}: differing items", ["Column", *differing], rows,
                   note="Only the items that differ get a column; the rest are in the table above.")
    return [common_table, turned]


def matrix(key: str, caption: str, item_headers: Sequence[str], col_headers: Sequence[str],
           cell: Callable[[int, int], Cell], *, item_title: str = "Item",
           compact_items: Sequence[int] = ()) -> Table:
    """Items × columns (cell(item, column)), turned to one row per column past the limit."""
    if len(col_headers) <= SIDE_BY_SIDE_MAX_COLUMNS:
        rows = [[Cell(h)] + [cell(i, c) for c in range(len(col_headers))] for i, h in enumerate(item_headers)]
        return Table(key, caption, [item_title, *col_headers], rows)
    rows = [[Cell(h)] + [cell(i, c) for i in range(len(item_headers))] for c, h in enumerate(col_headers)]
    compact = [0] + [i + 1 for i in compact_items] if compact_items else None
    return Table(key, caption, ["Run", *item_headers], rows, compact_columns=compact)


def differs(values: Sequence[Any]) -> bool:
    """True if the recorded values (MISSING left out) are not all equal, compared as canonical JSON."""
    present = [_key(v) for v in values if v is not MISSING]
    return len(set(present)) > 1


def _key(v: Any) -> str:
    try:
        return json.dumps(v, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return repr(v)
