"""Model sources resolve offline: demo, folder, .gguf, HF cache; everything else is a clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import ConfigError
from engine.models import demo
from engine.models.resolve import list_hf_cache_models, resolve


def test_demo_model_is_a_real_safetensors_folder(demo_model_dir: Path) -> None:
    assert (demo_model_dir / "model.safetensors").stat().st_size > 100_000_000
    assert (demo_model_dir / "config.json").exists()
    assert demo.demo_gguf_path().suffix == ".gguf"


def test_resolve_kinds(data_dir: Path, demo_model_dir: Path) -> None:
    assert resolve("demo").kind == "demo"
    assert resolve(str(demo_model_dir)).kind == "folder"
    gguf = resolve(str(demo.demo_gguf_path()))
    assert (gguf.kind, gguf.gguf_file) == ("gguf", demo.demo_gguf_path().name)


def test_hf_cache_snapshot_is_found_without_network(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    snap = tmp_path / "hub" / "models--acme--tiny" / "snapshots" / "abc123"
    snap.mkdir(parents=True)
    (snap / "config.json").write_text("{}")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    assert resolve("acme/tiny").path == snap
    assert list_hf_cache_models() == ["acme/tiny"]


@pytest.mark.parametrize("spec", ["acme/not-cached", "/no/such/dir", "missing.gguf"])
def test_unresolvable_model_names_the_field(spec: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(ConfigError) as err:
        resolve(spec)
    assert err.value.field == "model"


def test_folder_without_config_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config.json"):
        resolve(str(tmp_path))
