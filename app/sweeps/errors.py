"""Profile errors that point at the file, the line and the key, and say what was expected."""

from __future__ import annotations

import re
from collections.abc import Sequence

from engine.schema import brief

KeyPath = Sequence["str | int"]


class ProfileError(ValueError):
    """A profile that cannot be used: `source` (file), `line` (1-based, None if unknown), `key`."""

    def __init__(self, source: str, line: int | None, key: str, message: str) -> None:
        source, key = printable(source), printable(key)
        where = f"{source}:{line}" if line else source
        super().__init__(f"{where}: {key}: {message}" if key else f"{where}: {message}")
        self.source = source
        self.line = line
        self.key = key
        self.message = message


def printable(text: str) -> str:
    """`text` as is if it is short and printable, else a short escaped repr (a key or file name with
    control characters must not reach a terminal raw)."""
    return text if len(text) <= 300 and text.isprintable() else brief(text)


def dotted(path: KeyPath) -> str:
    """`axes.batch_size`, `objectives[1].metric`."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_ASSIGN = re.compile(r"^\s*((?:[A-Za-z0-9_\-]+|\"[^\"]*\"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_\-]+|\"[^\"]*\"|'[^']*'))*)\s*=")


def _split_key(key: str) -> list[str]:
    return [part.strip().strip("\"'") for part in re.findall(r"\"[^\"]*\"|'[^']*'|[^.]+", key)]


def locate(text: str, path: KeyPath) -> int | None:
    """The 1-based line where the key at `path` (or its nearest enclosing key) is written."""
    target = [str(p) for p in path]
    table: list[str] = []
    array_counts: dict[str, int] = {}
    best_line, best_len = None, 0
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            names = _split_key(header.group(2))
            if header.group(1) == "[[":
                joined = ".".join(names)
                index = array_counts.get(joined, 0)
                array_counts[joined] = index + 1
                names = [*names, str(index)]
            table = names
            full = table
        else:
            assign = _ASSIGN.match(line)
            if not assign:
                continue
            full = [*table, *_split_key(assign.group(1))]
        matched = _common_prefix(full, target)
        if matched == len(full) and matched > best_len:
            best_line, best_len = number, matched
    return best_line


def _common_prefix(a: Sequence[str], b: Sequence[str]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def toml_syntax_line(message: str) -> int | None:
    """tomllib reports '(at line N, column M)' in its message."""
    found = re.search(r"at line (\d+)", message)
    return int(found.group(1)) if found else None
