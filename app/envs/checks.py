"""The first-run checks, shared by `inferlab doctor` and the first-run dialog.

Each check says what it found, and when something is wrong, what failed and how to fix it.
Status: "ok", "warning" (InferLab works, with less: e.g. no GPU) or "error" (something must be fixed).
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
from typing import Any

from app.envs.gpus import NvmlReport
from app.envs.probe import EnvReport
from app.paths import default_store_url
from engine import registry
from engine.models import demo

SETUP_HINT = ("create one: python3 -m venv ~/.inferlab-env && ~/.inferlab-env/bin/pip install "
              "'inferlab[hf,demo]' (or, in a source checkout, run scripts/bootstrap.sh); for vLLM add the "
              "vllm extra; then choose it on first run or add it to environments.json")


@dataclasses.dataclass(frozen=True)
class Check:
    name: str
    status: str  # ok | warning | error
    summary: str
    details: tuple[str, ...] = ()
    fix: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def check_gpus(nvml: NvmlReport) -> Check:
    if not nvml.available:
        return Check("gpu", "warning", "No NVIDIA GPU: the engine will run on the CPU", (nvml.reason,))
    if not nvml.gpus:
        return Check("gpu", "warning", f"NVIDIA driver {nvml.driver_version} found, but no GPU",
                     fix="check that the GPU is seated and visible (nvidia-smi)")
    names = tuple(f"GPU {g.index}: {g.name}, {g.memory_text()}, {g.uuid}" for g in nvml.gpus)
    return Check("gpu", "ok", f"{len(nvml.gpus)} NVIDIA GPU(s), driver {nvml.driver_version}, "
                              f"CUDA driver {nvml.cuda_driver_version}", names)


def choose_engine_env(envs: list[EnvReport], configured: str | None) -> EnvReport | None:
    """The configured interpreter if it exists in `envs`, else the first that can host the engine."""
    for env in envs:
        if configured and os.path.abspath(configured) == env.python:
            return env
    return next((env for env in envs if env.can_host_engine), None)


def check_environments(envs: list[EnvReport], chosen: EnvReport | None, nvml: NvmlReport) -> Check:
    details = tuple(describe_env(env) for env in envs)
    if chosen is None:
        return Check("python", "error", "No Python environment found that can host the engine", details,
                     SETUP_HINT)
    if not chosen.can_host_engine:
        why = chosen.error or "; ".join(c.reason for c in chosen.capabilities.values() if not c.available)
        return Check("python", "error", f"The chosen engine environment {chosen.python} cannot run the "
                     f"engine: {why}", details, SETUP_HINT)
    if nvml.gpus and chosen.torch_cuda_build == "":
        return Check("python", "warning", f"Engine environment {chosen.python}: torch is a CPU build, so "
                     "the NVIDIA GPU will not be used", details,
                     f"install a CUDA build of torch: {chosen.python} -m pip install torch "
                     "--index-url https://download.pytorch.org/whl/cu124 (or choose a CUDA environment)")
    return Check("python", "ok", f"Engine environment: {describe_env(chosen)}", details)


def describe_env(env: EnvReport) -> str:
    """One line: where it came from, Python version, what it can run."""
    if not env.ok:
        return f"{env.python} [{env.source}]: {env.error}"
    runs = runnable_engines(env)
    cuda = ""
    if env.cuda is not None:
        cuda = ", CUDA usable" if env.cuda.get("available") else ", CUDA not usable"
    return (f"{env.python} [{env.source}]: Python {env.version}, torch {env.torch_summary()}, transformers "
            f"{env.packages.get('transformers') or 'absent'}, vLLM {env.packages.get('vllm') or 'absent'}"
            f"{cuda}; runs: {', '.join(runs) or 'nothing (' + _first_reason(env) + ')'}")


def runnable_engines(env: EnvReport) -> list[str]:
    """The registered engines this environment can run (none without the engine core's packages)."""
    if not env.capabilities["engine"].available:
        return []
    return [name for name in registry.names() if env.capabilities[name].available]


def _first_reason(env: EnvReport) -> str:
    return next((c.reason for c in env.capabilities.values() if not c.available), "")


def check_engine_artifact(chosen: EnvReport | None, timeout_s: float = 60.0) -> Check:
    """Run the engine zipapp (`app.core.engine_artifact`) in the chosen environment with `--check`: the
    file a remote host or another Python runs, qualified by running it, not by reading package lists."""
    from app.core.engine_artifact import build

    if chosen is None or not chosen.ok:
        return Check("engine", "error", "The engine file was not tried: no usable engine environment",
                     fix=SETUP_HINT)
    path = build().write()
    try:
        done = subprocess.run([chosen.python, str(path), "--check"], capture_output=True, text=True,
                              timeout=timeout_s, stdin=subprocess.DEVNULL, check=False)
    except subprocess.TimeoutExpired:
        return Check("engine", "error", f"{path.name} did not answer --check within {timeout_s:g} s in "
                     f"{chosen.python}")
    if done.returncode != 0:
        why = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1]
        return Check("engine", "error", f"{path.name} does not run in {chosen.python}", (why,),
                     why.split("install with: ", 1)[1] if "install with: " in why else SETUP_HINT)
    backends = json.loads(done.stdout.strip().splitlines()[-1])["backends"]
    runs = [name for name, b in backends.items() if b["available"]]
    reasons = tuple(f"{name}: {b['reason']}" for name, b in backends.items())
    if not runs:
        return Check("engine", "error", f"The engine file {path.name} starts in {chosen.python} but can run "
                     "no engine there", reasons, SETUP_HINT)
    return Check("engine", "ok", f"The engine file {path.name} runs in {chosen.python}: {', '.join(runs)}",
                 reasons)


def check_demo_model(chosen: EnvReport | None) -> Check:
    path = demo.demo_model_dir()
    if demo.is_materialized():
        return Check("demo-model", "ok", f"Demo model {demo.DEMO_NAME} is ready", (str(path),))
    python = chosen.python if chosen else "python"
    if chosen is not None and not chosen.capabilities["demo-model"].available:
        return Check("demo-model", "error", f"Demo model not prepared, and {chosen.python} cannot prepare it",
                     (chosen.capabilities["demo-model"].reason,),
                     f"{python} -m pip install 'inferlab[hf,demo]', then {python} -m engine.models prepare")
    return Check("demo-model", "warning", f"Demo model {demo.DEMO_NAME} is not prepared yet (about 20 s, once)",
                 (str(path),), f"run the first-run dialog, or: {python} -m engine.models prepare")


def check_store(*, create: bool) -> Check:
    """The default store: exists / can be created; with `create`, open it (applying migrations)."""
    url = default_store_url()
    shown = re.sub(r"://([^:/@]*):[^@/]*@", r"://\1:***@", url)  # never print a password
    if create:
        try:
            from app.store import Store  # SQLAlchemy + Alembic: imported only when the store is opened

            Store(url).close()
        except Exception as exc:  # any failure to open is reported with its message, never raised
            return Check("store", "error", f"Could not create the results store at {shown}",
                         (f"{type(exc).__name__}: {exc}",),
                         "check the folder is writable and has free space, or set INFERLAB_STORE_URL")
        return Check("store", "ok", f"Results store ready: {shown}")
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///"):]
        folder = os.path.dirname(path) or "."
        if os.path.exists(path):
            return Check("store", "ok", f"Results store: {url}")
        if os.access(folder, os.W_OK):
            return Check("store", "ok", f"Results store will be created at {path} on first use")
        return Check("store", "error", f"Cannot create the results store: {folder} is not writable",
                     fix="make the data dir writable, or set INFERLAB_DATA_DIR / INFERLAB_STORE_URL")
    return Check("store", "ok", f"Results store: {shown} (server database; checked when opened)")
