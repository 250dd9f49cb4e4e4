"""Turn a `model` option into a local source: the demo model, a folder, a .gguf file or an HF-cache
snapshot. Never downloads: an id that is not in the local cache is an error that says so."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Literal

from engine.errors import ConfigError
from engine.models import demo

Kind = Literal["demo", "folder", "gguf", "hf-cache"]


@dataclasses.dataclass(frozen=True)
class ModelSource:
    """A resolved model. For GGUF, `path` is the folder and `gguf_file` the file name in it."""

    spec: str
    kind: Kind
    path: Path
    gguf_file: str | None = None

    def describe(self) -> dict[str, str]:
        return {"spec": self.spec, "kind": self.kind, "path": str(self.path), "gguf_file": self.gguf_file or ""}


def resolve(spec: str, *, field: str = "model", gguf: bool = False) -> ModelSource:
    """Resolve `spec` offline, materializing the demo model if needed. With `gguf` (an engine that runs
    GGUF files as stored) 'demo' is the demo's own GGUF file and anything but a .gguf file is refused."""
    if spec == "demo" and gguf:
        file = demo.demo_gguf_path()
        return ModelSource(spec, "demo", file.parent, file.name)
    if spec == "demo":
        return ModelSource(spec, "demo", demo.ensure_demo_model())
    if gguf and not spec.endswith(".gguf"):
        raise ConfigError(field, f"got {spec!r}; this engine runs a .gguf file as stored (or 'demo', the demo's "
                          "GGUF file), not a transformers folder or HF-cache id")
    path = Path(spec).expanduser()
    if path.is_file() and path.suffix == ".gguf":
        return ModelSource(spec, "gguf", path.parent, path.name)
    if path.is_dir():
        if not (path / "config.json").exists():
            raise ConfigError(field, f"folder {path} has no config.json (not a transformers model folder)")
        return ModelSource(spec, "folder", path)
    if path.suffix == ".gguf" or os.sep in spec and not _looks_like_hub_id(spec):
        raise ConfigError(field, f"no such file or folder: {path}")
    snapshot = hf_cache_snapshot(spec)
    if snapshot is None:
        raise ConfigError(field, f"{spec!r} is not a local folder, a .gguf file, or a model in the local "
                          "Hugging Face cache (InferLab never downloads at run time)")
    return ModelSource(spec, "hf-cache", snapshot)


def _looks_like_hub_id(spec: str) -> bool:
    parts = spec.split("/")
    return len(parts) == 2 and all(parts) and not spec.startswith((".", "/", "~"))


def hf_cache_dir() -> Path:
    """The Hugging Face hub cache folder (HF_HUB_CACHE, HF_HOME/hub, or ~/.cache/huggingface/hub)."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    home = os.environ.get("HF_HOME") or os.path.join(os.path.expanduser("~"), ".cache", "huggingface")
    return Path(home) / "hub"


def hf_cache_snapshot(repo_id: str) -> Path | None:
    """Newest complete snapshot of `repo_id` in the local cache, or None."""
    repo = hf_cache_dir() / ("models--" + repo_id.replace("/", "--"))
    snapshots = [p for p in (repo / "snapshots").glob("*") if (p / "config.json").exists()]
    return max(snapshots, key=lambda p: p.stat().st_mtime) if snapshots else None


def list_hf_cache_models() -> list[str]:
    """Model ids in the local HF cache that have a usable snapshot (for model pickers)."""
    ids = []
    for repo in sorted(hf_cache_dir().glob("models--*")):
        repo_id = repo.name[len("models--"):].replace("--", "/", 1)
        if hf_cache_snapshot(repo_id) is not None:
            ids.append(repo_id)
    return ids
