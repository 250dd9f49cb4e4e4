"""Environment discovery on this machine: real interpreters probed in real subprocesses."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from app.envs import checks
from app.envs.gpus import discover_gpus
from app.envs.probe import run_probe
from app.envs.pythons import discover_environments
from app.envs.settings import EnvSettings, load_settings, save_settings
from tests.hardware import nvidia_gpu_count

REPO = Path(__file__).resolve().parents[2]
VENV_PYTHON = str(REPO / ".venv" / "bin" / "python")


def test_discovery_finds_the_project_venv_with_torch_transformers_vllm_and_no_cuda(data_dir: Path) -> None:
    envs = discover_environments()
    venv = next(env for env in envs if env.python == VENV_PYTHON)
    assert "project .venv" in venv.source
    assert venv.ok and venv.version.startswith("3.")
    for package in ("torch", "transformers", "vllm"):
        assert venv.packages[package], f"{package} not found in {VENV_PYTHON}"
    assert venv.torch_cuda_build == ""  # the CPU build of torch: no CUDA
    assert venv.torch_summary().endswith("(CPU build)")
    assert venv.capabilities["hf-generate"].available and venv.capabilities["vllm"].available
    assert venv.can_host_engine
    assert len({(e.prefix, e.version) for e in envs if e.ok}) == len([e for e in envs if e.ok])  # no repeats


def test_cuda_probe_imports_torch_in_the_child_and_reports_cuda_unusable() -> None:
    report = run_probe(VENV_PYTHON, cuda=True, timeout_s=120)
    assert report.cuda == {"available": False, "version": None, "devices": [], "error": None}


def test_nvml_reports_the_gpus_this_machine_has_or_a_reason_a_user_can_act_on() -> None:
    report = discover_gpus()
    count = nvidia_gpu_count()
    if count is not None:  # pragma: no cover - only on a machine with an NVIDIA driver
        assert report.available and report.driver_version and report.cuda_driver_version
        assert len(report.gpus) == count and all(g.uuid.startswith("GPU-") for g in report.gpus)
        return
    assert not report.available and "NVML" in report.reason and "driver" in report.reason
    assert report.gpus == () and report.driver_version == ""


def test_a_bare_interpreter_cannot_host_the_engine_and_says_what_to_install(bare_python: str) -> None:
    report = run_probe(bare_python)
    assert report.ok and not report.can_host_engine
    reason = report.capabilities["hf-generate"].reason
    assert "missing torch, transformers" in reason and f"{bare_python} -m pip install" in reason
    assert report.torch_summary() == "absent"


def test_broken_interpreters_are_reported_not_raised(tmp_path: Path) -> None:
    missing = run_probe(str(tmp_path / "no-python"))
    assert "no such interpreter" in missing.error and not missing.ok
    hanging = tmp_path / "hanging-python"
    hanging.write_text("#!/bin/sh\nsleep 30\n")
    hanging.chmod(hanging.stat().st_mode | stat.S_IXUSR)
    assert "did not answer the probe within 0.5 s" in run_probe(str(hanging), timeout_s=0.5).error
    failing = tmp_path / "failing-python"
    failing.write_text("#!/bin/sh\necho 'boom: cannot start' >&2\nexit 3\n")
    failing.chmod(failing.stat().st_mode | stat.S_IXUSR)
    assert run_probe(str(failing)).error.endswith("failed the probe (exit 3): boom: cannot start")


def test_a_configured_interpreter_is_probed_and_preferred(data_dir: Path, bare_python: str) -> None:
    save_settings(EnvSettings(engine_python=bare_python))
    assert load_settings().engine_python == bare_python
    envs = discover_environments()
    chosen = checks.choose_engine_env(envs, bare_python)
    assert chosen is not None and chosen.python == os.path.abspath(bare_python)
    assert chosen.source == "configured"
    check = checks.check_environments(envs, chosen, discover_gpus())
    assert check.status == "error" and "cannot run the engine" in check.summary
    assert "pip install" in check.fix


def test_an_interpreter_too_old_for_the_engine_says_so_even_with_every_package() -> None:
    from app.envs.probe import EnvReport, capabilities

    old = EnvReport("/opt/py38/bin/python", version="3.8.18",
                    packages={"torch": "2.4.0", "transformers": "4.46.0", "psutil": "5.9", "platformdirs": "4"})
    reasons = {c.reason for c in capabilities(old).values()}
    assert reasons == {"Python 3.8.18 is too old: the engine needs Python 3.10 or newer"}


def test_a_missing_package_is_named_by_import_and_installed_by_distribution() -> None:
    from app.envs.probe import EnvReport, capabilities

    report = EnvReport("/opt/py311/bin/python", version="3.11.7", packages={"psutil": "5.9", "platformdirs": "4"})
    reason = capabilities(report)["llama-cpp"].reason
    assert reason.startswith("missing llama_cpp, transformers, gguf")
    assert reason.endswith("(fix: /opt/py311/bin/python -m pip install llama-cpp-python transformers gguf)")
