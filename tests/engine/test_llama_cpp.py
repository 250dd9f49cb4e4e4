"""The llama-cpp engine on the demo's real Q4_1 GGUF file, run as stored by llama.cpp (llama-cpp-python
built from source): per-token timing, the checkpoint's GGUF type recorded, the quality guard against the
hf-generate float32 reference, the same prompts as hf-generate, and the refusals it owes (batch > 1,
a transformers folder, CUDA offload on a CPU build)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.core.worker_client import WorkerClient
from app.ui.experiment_view import ExperimentView
from engine.config import TrialConfig
from engine.errors import ConfigError
from engine.models.demo import demo_gguf_path
from tests.engine.conftest import tiny

REPO = Path(__file__).resolve().parents[2]
LLAMA = {"engine": "llama-cpp", "batch_size": 1, "n_ctx": 256}


def test_demo_q4_1_runs_natively_with_per_token_timing_and_quality_guard(client: WorkerClient) -> None:
    assert client.hello is not None and client.hello["backends"]["llama-cpp"]["available"] is True
    result = client.run_trial(tiny(**LLAMA, num_requests=2, repetitions=1, output_tokens=8, quality_guard=True))
    assert result.status == "ok", result.failure_message
    model = result.environment["model"]
    assert model["checkpoint_quantization"] == "gguf-q4_1"  # read from the GGUF file's type
    assert model["gguf_file"] == demo_gguf_path().name and model["format"] == "gguf" and model["device"] == "cpu"
    assert any("not dequantized" in note for note in result.notes)
    # llama.cpp's own count of the loaded tensors: Q4_1 weights, far below the float32 model's 538 MB
    assert 50e6 < result.value("model_weights_bytes") < 0.3 * 538e6
    assert result.environment["runtime"]["n_threads"] == 1 and result.environment["runtime"]["n_ctx"] == 256
    assert result.value("output_tokens_total") == 2 * 8
    # every token stamped as it is yielded: 7 gaps per request, a first-token time before the end
    itl = result.metrics["itl_ms_p50"]
    assert itl.status == "measured" and itl.n == 2 * 7 and itl.value > 0
    assert all(r.ttft_ms is not None and 0 < r.ttft_ms < r.e2e_ms for r in result.requests)
    assert "Llama.generate" in result.metrics["ttft_ms_p50"].method
    assert result.value("output_tokens_per_s") > 0
    # The Q4_1 file against the float32 hf-generate reference: the same weights (the demo folder is this file
    # dequantized), but llama.cpp multiplies them with activations quantized to 8 bits, so greedy paths part
    # after a first near-tie (then every later position differs) while perplexity stays within 1 %
    # (measured 0.42 and 1.007 on this machine).
    agreement = result.metrics["quality_agreement"]
    assert agreement.status == "measured" and agreement.n == 2 * 32 and "float32" in agreement.method
    assert agreement.value >= 0.2
    assert result.value("perplexity") > 1.0
    assert 0.98 < result.value("perplexity_ratio") < 1.03


def test_llama_cpp_and_hf_generate_float32_see_the_same_prompts(client: WorkerClient) -> None:
    # The comparison a sweep draws: the same workload on both engines, token for token.
    same = {"num_requests": 3, "repetitions": 1, "input_tokens": 24, "output_tokens": 6, "seed": 7,
            "workload": "chat"}
    runs = {engine: client.run_trial(tiny(**same, **extra)) for engine, extra in
            (("llama-cpp", LLAMA), ("hf-generate", {"batch_size": 1, "dtype": "float32", "device": "cpu"}))}
    for result in runs.values():
        assert result.status == "ok", result.failure_message
        assert result.value("output_tokens_total") == 3 * 6 and result.value("output_tokens_per_s") > 0
    fed = {engine: [(r.index, r.input_tokens) for r in result.requests] for engine, result in runs.items()}
    assert fed["llama-cpp"] == fed["hf-generate"]
    assert runs["llama-cpp"].environment["model"]["checkpoint_quantization"] == "gguf-q4_1"
    assert runs["hf-generate"].environment["model"]["checkpoint_quantization"] == "none"


def test_natural_stopping_and_a_cuda_request_refused_on_the_cpu_build(client: WorkerClient) -> None:
    result = client.run_trial(tiny(**LLAMA, num_requests=2, repetitions=1, output_tokens=64, ignore_eos=False,
                                   workload="chat"))
    assert result.status == "ok", result.failure_message
    assert all(0 < r.output_tokens <= 64 for r in result.requests)
    assert "the EOS token is counted" in result.metrics["output_tokens_total"].method
    refused = client.run_trial(tiny(**LLAMA, device="cuda", repetitions=1))
    assert refused.status == "failed" and refused.failure_cause.value == "unsupported"
    assert "GPU offload" in (refused.failure_message or "")


@pytest.mark.parametrize(("flat", "field", "fragment"), [
    ({"batch_size": 4}, "batch_size", "one sequence at a time"),
    ({"quantization": "int8-weight"}, "quantization", "GGUF file's own tensor types"),
    ({"speculative": "prompt-lookup"}, "speculative", "without speculation"),
])
def test_what_llama_cpp_python_cannot_do_is_refused_before_any_work(flat: dict, field: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as err:
        TrialConfig.from_flat({"engine": "llama-cpp", **flat})
    assert err.value.field == field and fragment in str(err.value)


def test_a_transformers_folder_is_refused_naming_the_model(client: WorkerClient, demo_model_dir: Path) -> None:
    result = client.run_trial(tiny(**LLAMA, model=str(demo_model_dir), repetitions=1))
    assert result.status == "failed" and result.failure_cause.value == "invalid-config"
    assert "model" in (result.failure_message or "") and ".gguf file" in (result.failure_message or "")


def test_form_and_doctor_pick_the_engine_up_from_the_registry(qtbot, data_dir: Path) -> None:
    view = ExperimentView()
    qtbot.addWidget(view)
    view.engine_box.setCurrentIndex(view.engine_box.findData("llama-cpp"))
    assert {"n_ctx", "n_threads", "n_batch", "flash_attn"} <= set(view.form.editors)
    config = view.validate()
    assert config is not None and config.engine == "llama-cpp" and config.common.batch_size == 1
    done = subprocess.run([sys.executable, "-m", "app.main", "doctor", "--json"], cwd=REPO, capture_output=True,
                          text=True, timeout=120, env=dict(os.environ))
    assert done.returncode == 0, done.stderr
    env = next(e for e in json.loads(done.stdout)["environments"] if e["python"] == sys.executable)
    assert env["capabilities"]["llama-cpp"]["available"] is True
    assert env["packages"]["llama_cpp"] == "0.3.36"
