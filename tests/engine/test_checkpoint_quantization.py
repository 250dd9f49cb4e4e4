"""The quantization a checkpoint carries is read from its files, recorded on the run, shown beside the
`quantization` option, and a setting that contradicts it is refused before the model loads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from app.cli.output import run_text
from app.core.worker_client import WorkerClient
from app.reports.model import build_report
from app.store import Store
from engine.errors import ConfigError
from engine.models import checkpoint, demo
from engine.models.resolve import resolve
from tests.engine.conftest import tiny

QUANT_CONFIGS: list[tuple[dict[str, Any], str]] = [
    ({"quant_method": "awq", "bits": 4, "group_size": 128, "version": "gemm", "zero_point": True}, "awq"),
    ({"quant_method": "gptq", "bits": 4, "group_size": 128, "desc_act": False, "sym": True}, "gptq"),
    ({"quant_method": "compressed-tensors", "format": "int-quantized", "config_groups": {}}, "compressed-tensors"),
    ({"quant_method": "fp8", "activation_scheme": "dynamic"}, "fp8"),
    ({"quant_method": "bitsandbytes", "load_in_4bit": True, "bnb_4bit_quant_type": "nf4"}, "bnb-4bit"),
    ({"quant_method": "bitsandbytes", "load_in_8bit": True}, "bnb-8bit"),
]


def model_folder(root: Path, quantization_config: dict[str, Any] | None) -> Path:
    """A model folder whose config.json is the demo's, with `quantization_config` added."""
    config = json.loads((demo.ensure_demo_model() / "config.json").read_text())
    if quantization_config is not None:
        config["quantization_config"] = quantization_config
    folder = root / (quantization_config or {}).get("quant_method", "plain")
    folder.mkdir(exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config))
    return folder


@pytest.mark.parametrize(("quantization_config", "expected"), QUANT_CONFIGS)
def test_config_json_quantization_is_read(tmp_path: Path, quantization_config: dict[str, Any],
                                          expected: str) -> None:
    folder = model_folder(tmp_path, quantization_config)
    assert checkpoint.read_quantization(resolve(str(folder))) == expected


def test_demo_gguf_file_type_is_read_from_the_file(demo_model_dir: Path) -> None:
    assert checkpoint.read_quantization(resolve(str(demo.demo_gguf_path()))) == "gguf-q4_1"
    assert checkpoint.read_quantization(resolve("demo")) == "none"  # the dequantized float folder


def test_quantization_config_without_method_is_refused_naming_file_and_key(tmp_path: Path) -> None:
    folder = model_folder(tmp_path, {"bits": 4})
    with pytest.raises(ConfigError) as err:
        checkpoint.read_quantization(resolve(str(folder)))
    assert err.value.field == "model"
    assert str(folder / "config.json") in err.value.message and "quant_method" in err.value.message


@pytest.mark.parametrize(("model", "setting", "reason"), [
    ("awq", "int8-weight", "already quantized (awq"),
    ("gguf", "int4-weight", "already quantized (gguf-q4_1, read from its GGUF file type)"),
    ("demo", "awq", "carries no quantization_config"),
])
def test_contradicting_setting_is_refused_before_load(client: WorkerClient, tmp_path: Path, model: str,
                                                      setting: str, reason: str) -> None:
    path = {"awq": lambda: str(model_folder(tmp_path, QUANT_CONFIGS[0][0])),
            "gguf": lambda: str(demo.demo_gguf_path()), "demo": lambda: "demo"}[model]()
    events: list[dict[str, Any]] = []
    result = client.run_trial(tiny(model=path, quantization=setting), on_event=events.append)
    assert result.status == "failed" and result.failure_cause == "invalid-config"
    assert result.failure_message.startswith("quantization: ") and reason in result.failure_message
    assert not [e for e in events if e["type"] == "progress" and e.get("phase") == "measure"]
    assert "model_weights_bytes" not in result.metrics  # nothing was loaded


def test_checkpoint_quantization_is_recorded_and_shown_beside_the_options(client: WorkerClient,
                                                                          tmp_path: Path) -> None:
    result = client.run_trial(tiny(num_requests=2, repetitions=1))
    assert result.status == "ok", result.failure_message
    assert result.environment["model"]["checkpoint_quantization"] == "none"
    with Store(f"sqlite:///{tmp_path / 'runs.db'}") as store:
        detail = store.get_run(store.add_run(result))
    assert detail.shown_config["checkpoint_quantization"] == "none"
    assert "  checkpoint_quantization = 'none'" in run_text(detail).splitlines()
    config_table = build_report([detail]).section("config")
    assert config_table is not None and "checkpoint_quantization" in json.dumps(config_table, default=str)
