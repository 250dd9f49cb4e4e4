"""Environment fields (GPU, host, driver, library versions) read and filtered in SQL, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest

from app.store import Store
from app.store.env_fields import FIELDS, parse_condition
from engine import environment
from engine.results import Measurement, TrialResult


def _gpus(*names: str) -> dict[str, Any]:
    return {"gpus": [{"index": i, "uuid": f"GPU-{i}", "pci_bus_id": str(i), "name": n} for i, n in enumerate(names)],
            "how": "CUDA_VISIBLE_DEVICES", "reason": ""}


RECORDS: list[dict[str, Any]] = [
    {"host": "gpu-box", "devices": _gpus("NVIDIA H200", "NVIDIA H200"),
     "hardware": {"driver": "550.54.15", "cuda_driver": "12.4", "cpu_model": "Xeon"},
     "software": {"python": "3.11.7", "torch": "2.5.1+cu124", "transformers": "4.46.0", "vllm": "0.6.3"}},
    {"host": "gpu-box-2", "devices": _gpus("NVIDIA H100 80GB HBM3", "NVIDIA A100-SXM4-80GB", "NVIDIA A100-SXM4-80GB"),
     "hardware": {"driver": "535.104.05"}, "software": {"torch": "2.4.0", "vllm": None}},
    {"host": "local", "devices": {"gpus": [], "how": "", "reason": "the trial runs on the CPU"},
     "software": {"torch": "2.13.0+cpu"}},
    {"imported_from": "infpop", "gpu_name": "NVIDIA A100", "gpu_count": 8, "host": "50%_lab"},
    {},
]
EXPECTED: list[dict[str, Any]] = [
    {"host": "gpu-box", "gpu_name": "NVIDIA H200", "gpu_count": 2, "driver": "550.54.15", "cuda_driver": "12.4",
     "cpu_model": "Xeon", "python": "3.11.7", "torch": "2.5.1+cu124", "transformers": "4.46.0", "vllm": "0.6.3"},
    {"host": "gpu-box-2", "gpu_name": "NVIDIA A100-SXM4-80GB + NVIDIA H100 80GB HBM3", "gpu_count": 3,
     "driver": "535.104.05", "torch": "2.4.0"},
    {"host": "local", "gpu_name": "no GPU", "gpu_count": 0, "torch": "2.13.0+cpu"},
    {"host": "50%_lab", "gpu_name": "NVIDIA A100", "gpu_count": 8},
    {},
]


@pytest.fixture()
def env_store(store_url: str) -> tuple[Store, list[int]]:
    store = Store(store_url)
    ids = [store.add_run(TrialResult(f"t{i}", {"engine": "hf-generate", "model": "demo", "batch_size": i + 1}, "ok",
                                     {"output_tokens_per_s": Measurement.measured(1.0 + i, "tok/s", "m")},
                                     environment=record))
           for i, record in enumerate(RECORDS)]
    yield store, ids
    store.close()


def test_each_run_s_environment_fields_are_what_its_record_says(env_store: tuple[Store, list[int]]) -> None:
    store, ids = env_store
    found = store.environment_fields(ids)
    assert [found[i] for i in ids] == EXPECTED


def test_the_worker_s_own_record_yields_its_host_python_and_libraries(store_url: str) -> None:
    record = {**environment.record(), "host": "local", "devices": {"gpus": [], "how": "", "reason": "cpu"}}
    with Store(store_url) as store:
        run = store.add_run(TrialResult("t", {"engine": "hf-generate", "model": "demo"}, "ok", environment=record))
        fields = store.environment_fields([run])[run]
    software = record["software"]
    assert fields["python"] == software["python"] and fields["cpu_model"] == record["hardware"]["cpu_model"]
    assert {k: fields.get(k) for k in ("torch", "transformers")} == {k: software[k] for k in ("torch", "transformers")}
    assert (fields["gpu_name"], fields["gpu_count"], fields["host"]) == ("no GPU", 0, "local")


@pytest.mark.parametrize(("conditions", "matching"), [
    (["gpu_name=NVIDIA H200"], [0]),
    (["gpu_name~=a100"], [1, 3]),          # a mix holding an A100 and an imported A100
    (["host~=gpu-box"], [0, 1]),
    (["host~=gpu-box", "gpu_count=3"], [1]),  # every condition must hold
    (["gpu_count=0"], [2]),
    (["host~=50%"], [3]),                  # % and _ are text, not patterns
    (["host~=0%_l"], [3]),
    (["host=gpu-box"], [0]),               # "=" is exact
    (["torch~=+cu"], [0]),
    (["vllm~=0"], [0]),                    # a library the record lists as absent (None) matches nothing
    (["driver=nope"], []),
])
def test_listing_filters_on_environment_fields_in_sql(env_store: tuple[Store, list[int]], conditions: list[str],
                                                      matching: list[int]) -> None:
    store, ids = env_store
    parsed = [parse_condition(c) for c in conditions]
    assert [r.id for r in store.list_runs(environment=parsed, sort="id")] == [ids[i] for i in matching]
    assert store.count_runs(environment=parsed) == len(matching)
    sorted_by_metric = store.list_runs(environment=parsed, sort="-output_tokens_per_s", limit=10)
    assert [r.id for r in sorted_by_metric] == [ids[i] for i in reversed(matching)]


def test_an_unknown_or_malformed_condition_is_refused_naming_the_known_keys() -> None:
    with pytest.raises(ValueError, match="unknown environment field 'gpu'.*known: gpu_name, gpu_count, host"):
        parse_condition("gpu=H200")
    with pytest.raises(ValueError, match="not KEY=VALUE"):
        parse_condition("gpu_name")
    assert str(parse_condition(" host ~= box ")) == "host~=box"
    assert set(FIELDS) >= {"gpu_name", "gpu_count", "host", "driver", "python", "torch", "transformers", "vllm"}
