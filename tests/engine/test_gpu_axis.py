"""The GPU axis (`num_gpus`, `gpu_devices`): the rules every front door applies before a worker starts,
the transformers sharding arguments as pure functions, and which NVML devices a trial's backend reports.
The device tests use the scripted NVML stand-in (`tests/engine/nvml_standin.py`, installed as `pynvml`)
because no NVIDIA driver exists on this machine; they test InferLab's mapping, not a GPU."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from engine import registry, rules
from engine.backends import hf_common
from engine.config import TrialConfig
from engine.errors import ConfigError, OutOfMemoryError
from engine.meters import nvml
from tests.engine.nvml_standin import ScriptedGpu, standin


def _refusal(flat: dict) -> ConfigError:
    with pytest.raises(ConfigError) as err:
        TrialConfig.from_flat(flat)
    return err.value


def test_several_gpus_on_the_cpu_are_refused_with_the_reason() -> None:
    err = _refusal({"engine": "hf-generate", "device": "cpu", "num_gpus": 2})
    assert err.field == "num_gpus" and "device is 'cpu'" in err.message and "uses no GPU" in err.message
    err = _refusal({"engine": "hf-pipeline", "device": "cpu", "gpu_devices": "0"})
    assert err.field == "gpu_devices" and "device is 'cpu'" in err.message


def test_gpu_devices_must_list_exactly_num_gpus_well_formed_distinct_devices() -> None:
    err = _refusal({"engine": "hf-generate", "gpu_devices": "2,3"})
    assert err.field == "gpu_devices" and "lists 2 device(s)" in err.message and "set num_gpus = 2" in err.message
    assert "entry 'gpu1'" in _refusal({"engine": "hf-generate", "gpu_devices": "gpu1"}).message
    assert "twice" in _refusal({"engine": "hf-generate", "num_gpus": 2, "gpu_devices": "1, 1"}).message
    config = TrialConfig.from_flat({"engine": "hf-generate", "num_gpus": 2, "gpu_devices": " GPU-ab12 ,3"})
    assert config.worker_env() == {"CUDA_VISIBLE_DEVICES": "GPU-ab12,3", "CUDA_DEVICE_ORDER": "PCI_BUS_ID"}
    assert TrialConfig.from_flat({"engine": "hf-generate", "num_gpus": 2}).worker_env() == {}


def test_num_gpus_is_a_load_time_option_so_a_change_reloads_the_model() -> None:
    one = TrialConfig.from_flat({"engine": "hf-generate"})
    two = TrialConfig.from_flat({"engine": "hf-generate", "num_gpus": 2})
    assert one.load_key() != two.load_key()


def test_vllm_splits_num_gpus_into_tensor_times_pipeline_and_refuses_contradictions() -> None:
    derived = TrialConfig.from_flat({"engine": "vllm", "num_gpus": 8, "pipeline_parallel_size": 2})
    assert rules.parallel_sizes(derived) == (4, 2)
    explicit = TrialConfig.from_flat({"engine": "vllm", "num_gpus": 4, "tensor_parallel_size": 4})
    assert rules.parallel_sizes(explicit) == (4, 1)
    err = _refusal({"engine": "vllm", "tensor_parallel_size": 2})  # num_gpus left at 1
    assert err.field == "tensor_parallel_size" and "= 2 GPUs, but num_gpus is 1" in err.message
    err = _refusal({"engine": "vllm", "num_gpus": 4, "pipeline_parallel_size": 3})
    assert err.field == "pipeline_parallel_size" and "not a multiple" in err.message


def test_vllm_engine_arguments_carry_both_parallel_sizes(data_dir: object) -> None:
    from engine.backends.vllm import engine_args

    config = TrialConfig.from_flat({"engine": "vllm", "num_gpus": 4, "pipeline_parallel_size": 2})
    kwargs = engine_args.llm_kwargs(config)
    assert (kwargs["tensor_parallel_size"], kwargs["pipeline_parallel_size"]) == (2, 2)


def test_a_server_engine_has_no_gpu_axis() -> None:
    err = _refusal({"engine": "openai", "num_gpus": 2})
    assert err.field == "num_gpus" and "decided by the server" in err.message


def test_sharding_arguments_name_exactly_the_trials_gpus_and_no_host_memory() -> None:
    kwargs = hf_common.gpu_placement([80 << 30, 79 << 30, 40 << 30])
    assert kwargs == {"device_map": "auto", "max_memory": {0: 80 << 30, 1: 79 << 30, 2: 40 << 30}}
    assert "cpu" not in kwargs["max_memory"] and "disk" not in kwargs["max_memory"]


def test_a_placement_outside_the_trials_gpus_is_refused_as_out_of_memory() -> None:
    hf_common.check_placement({"model.embed_tokens": 0, "model.layers.0": "cuda:1", "lm_head": 1}, 2)
    for where in ("cpu", "disk", 2):
        with pytest.raises(OutOfMemoryError) as err:
            hf_common.check_placement({"model.layers.0": 0, "model.layers.1": where}, 2)
        assert str(where) in str(err.value) and "2 GPUs" in str(err.value)
    summary = hf_common.placement_summary({"a": 0, "b": 0, "c": "cuda:1"})
    assert summary == "cuda:0 2 modules, cuda:1 1 modules"


@pytest.fixture
def four_gpus(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[ScriptedGpu]]:
    """Four scripted GPUs (the NVML stand-in: no NVIDIA driver here); no CUDA variables set."""
    gpus = [ScriptedGpu(f"GPU-{i}{i}{i}{i}bbbb-0000-0000-0000-00000000000{i}", f"00000000:{0x18 + i:02X}:00.0")
            for i in range(4)]
    monkeypatch.setitem(sys.modules, "pynvml", standin(gpus))
    monkeypatch.setattr(nvml, "_state", {})
    for name in ("CUDA_VISIBLE_DEVICES", "CUDA_DEVICE_ORDER"):
        monkeypatch.delenv(name, raising=False)
    yield gpus


@pytest.mark.parametrize("engine", ["hf-generate", "hf-pipeline", "vllm"])
def test_each_local_backend_reports_the_trials_devices(four_gpus: list[ScriptedGpu], engine: str,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    cls = registry.backend_class(engine)
    two = TrialConfig.from_flat({"engine": engine, "num_gpus": 2})
    assert [g.uuid for g in cls.gpus(two).gpus] == [four_gpus[0].uuid, four_gpus[1].uuid]  # the first two
    listed = TrialConfig.from_flat({"engine": engine, "num_gpus": 2, "gpu_devices": "3,1"})
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,1")  # as the app starts the worker for this trial
    monkeypatch.setenv("CUDA_DEVICE_ORDER", "PCI_BUS_ID")
    assert [g.uuid for g in cls.gpus(listed).gpus] == [four_gpus[3].uuid, four_gpus[1].uuid]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", four_gpus[2].uuid)
    missing = cls.gpus(two)
    assert missing.gpus == () and "needs 2 GPU(s) but CUDA sees 1" in missing.reason


def test_runs_differing_in_num_gpus_are_labelled_by_their_gpu_count() -> None:
    from app.compare import option_label

    assert option_label("num_gpus", 2) == "gpus=2"


def test_more_gpus_than_the_worker_sees_are_refused_before_loading_with_the_count(
        four_gpus: list[ScriptedGpu], monkeypatch: pytest.MonkeyPatch) -> None:
    from engine.errors import UnsupportedError
    from engine.runner import _require_gpus

    cls = registry.backend_class("hf-generate")
    _require_gpus(TrialConfig.from_flat({"engine": "hf-generate", "num_gpus": 4}), cls)  # all four: fine
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,2")
    with pytest.raises(UnsupportedError) as err:
        _require_gpus(TrialConfig.from_flat({"engine": "hf-generate", "num_gpus": 3}), cls)
    assert err.value.field == "num_gpus" and "needs 3 GPU(s) but CUDA sees 2" in err.value.reason
