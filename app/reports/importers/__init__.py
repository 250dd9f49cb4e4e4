"""Importers of other tools' benchmark results: each turns a file into a `TrialResult` whose metrics use
our names, with `method` saying "imported from …", stored with the tool's name as the run's source.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.reports.importers import optimum_benchmark, table, vllm_bench
from app.reports.importers.common import ImportFormatError
from engine.results import TrialResult

LOADERS: dict[str, Callable[[Path], TrialResult]] = {
    vllm_bench.SOURCE: vllm_bench.load,
    optimum_benchmark.SOURCE: optimum_benchmark.load,
}

__all__ = ["LOADERS", "ImportFormatError", "import_file", "import_into", "import_table", "load_result",
           "load_table"]


def import_file(store: Any, path: str | Path, kind: str, *, tags: tuple[str, ...] = ()) -> int:
    """Read `path` as a `kind` result ("vllm-bench" or "optimum-benchmark") and add it to `store`.

    Returns the new run id. Raises ImportFormatError naming the file and key when the file is not
    what `kind` writes, ValueError for an unknown kind.
    """
    return store.add_run(load_result(path, kind), source=kind, tags=tags)


def load_result(path: str | Path, kind: str) -> TrialResult:
    """Read and check `path` as a `kind` result without touching a store (see `import_file`)."""
    if kind not in LOADERS:
        raise ValueError(f"from: got {kind!r}; allowed: {', '.join(LOADERS)}")
    return LOADERS[kind](Path(path))


def import_table(store: Any, path: str | Path, mapping_path: str | Path, *,
                 tags: tuple[str, ...] = ()) -> tuple[list[int], str]:
    """Read a CSV/Parquet table through a column mapping and add all its runs to `store` in one transaction.

    Returns the new run ids and the mapping's source label. Raises ImportFormatError naming the file, row
    and key when the table or the mapping is not what the other expects."""
    results, source = load_table(path, mapping_path)
    return store.add_runs(results, source=source, tags=tags), source


def load_table(path: str | Path, mapping_path: str | Path) -> tuple[list[TrialResult], str]:
    """Every run a CSV/Parquet table holds through a column mapping, and the mapping's source label, read
    and checked whole without touching a store (see `import_table`)."""
    mapping = table.load_mapping(Path(mapping_path))
    return table.load(Path(path), mapping), mapping.source


def import_into(store_url: str | None, path: str | Path, *, kind: str | None = None,
                mapping_path: str | Path | None = None, tags: tuple[str, ...] = ()) -> tuple[list[int], str]:
    """Read and check `path` whole (a `kind` tool's result, or a table through `mapping_path`), then open the
    store at `store_url` and add its runs in one transaction: what `inferlab import` and the GUI's
    Import results both do. Returns the new run ids and the source label; a bad file or mapping raises
    ImportFormatError (file, row, key) before the store is opened, so nothing is written."""
    from app.store import Store

    if mapping_path is not None:
        results, source = load_table(path, mapping_path)
    elif kind is not None:
        results, source = [load_result(path, kind)], kind
    else:
        raise ValueError(f"{path}: say which tool wrote it ({', '.join(LOADERS)}) or give a column mapping")
    with Store(store_url) as store:
        return store.add_runs(results, source=source, tags=tags), source
