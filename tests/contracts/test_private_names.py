"""No module of app/ or engine/ imports another module's private (underscore) names: a seam is public."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _private_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return [f"{path.relative_to(ROOT)}:{node.lineno}: from {node.module} import {alias.name}"
            for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
            and node.module.split(".")[0] in ("app", "engine")
            for alias in node.names if alias.name.startswith("_") and not alias.name.startswith("__")]


def test_no_module_imports_private_names_of_another() -> None:
    found = [hit for package in ("app", "engine") for path in sorted((ROOT / package).rglob("*.py"))
             for hit in _private_imports(path)]
    assert found == []
