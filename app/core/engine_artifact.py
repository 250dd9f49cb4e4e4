"""The engine as one file: `inferlab-engine-<hash>.pyz`, a zipapp any Python runs as the worker.

`python inferlab-engine-<hash>.pyz` speaks the same JSON-lines protocol as `python -m engine`, so the
engine runs in a user's own torch/vLLM environment (here or on a remote host) without installing
InferLab there. The archive is reproducible: entries sorted, fixed timestamps and permissions, so the
same source always gives the same bytes; its version is the sha256 of those bytes.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

from app.envs.launch import engine_source_root
from engine.paths import data_dir

SHEBANG = b"#!/usr/bin/env python3\n"
FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest a zip entry can carry
ROOT_MAIN = (
    '"""InferLab engine worker (zipapp): the same as `python -m engine`."""\n'
    "import sys\n\n"
    "from engine.__main__ import main\n\n"
    'if __name__ == "__main__":\n'
    "    sys.exit(main())\n"
)


def engine_files() -> list[tuple[str, Path]]:
    """Every file of the `engine` package (no bytecode), as (archive name, path), sorted by name."""
    root = engine_source_root()
    files = [path for path in (root / "engine").rglob("*") if path.is_file()
             and "__pycache__" not in path.parts and path.suffix not in (".pyc", ".pyo")]
    return sorted((path.relative_to(root).as_posix(), path) for path in files)


def _entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    info.create_system = 3  # Unix, whatever machine builds it
    return info


def artifact_bytes() -> bytes:
    """The archive's bytes: a shebang, then the zip of `__main__.py` and the engine package."""
    buffer = io.BytesIO()
    buffer.write(SHEBANG)
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(_entry("__main__.py"), ROOT_MAIN)
        for name, path in engine_files():
            archive.writestr(_entry(name), path.read_bytes())
    return buffer.getvalue()


class EngineArtifact:
    """The built archive: its bytes, sha256 and file name (`inferlab-engine-<first 16 hex>.pyz`)."""

    def __init__(self, content: bytes) -> None:
        self.content = content
        self.sha256 = hashlib.sha256(content).hexdigest()
        self.version = self.sha256[:16]
        self.file_name = f"inferlab-engine-{self.version}.pyz"

    def write(self, folder: Path | None = None) -> Path:
        """The archive in `folder` (default: `engine/` in the data dir), written only if not there yet."""
        folder = folder if folder is not None else data_dir() / "engine"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / self.file_name
        if not path.exists() or hashlib.sha256(path.read_bytes()).hexdigest() != self.sha256:
            staging = path.with_suffix(".part")
            staging.write_bytes(self.content)
            staging.replace(path)
        return path


def build() -> EngineArtifact:
    """The artifact of the engine source this app ships."""
    return EngineArtifact(artifact_bytes())
