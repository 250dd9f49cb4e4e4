"""Run every first-run check once and gather the answers (what `inferlab doctor` prints)."""

from __future__ import annotations

import dataclasses
from typing import Any

import engine
from app import __version__ as app_version
from app.envs import checks
from app.envs.gpus import NvmlReport, discover_gpus
from app.envs.probe import EnvReport
from app.envs.pythons import discover_environments
from app.envs.settings import load_settings
from engine.paths import data_dir


@dataclasses.dataclass
class DoctorReport:
    nvml: NvmlReport
    environments: list[EnvReport]
    engine_env: EnvReport | None
    checks: list[checks.Check]

    @property
    def ok(self) -> bool:
        """No check is an error (warnings, such as 'no GPU', still let InferLab work)."""
        return all(c.status != "error" for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "app_version": app_version, "engine_version": engine.__version__,
                "data_dir": str(data_dir()), "nvml": self.nvml.to_dict(),
                "engine_python": self.engine_env.python if self.engine_env else None,
                "environments": [env.to_dict() for env in self.environments],
                "checks": [c.to_dict() for c in self.checks]}


def run_doctor(*, cuda: bool = False, extra_pythons: tuple[str, ...] = (), create_store: bool = False,
               timeout_s: float = 20.0) -> DoctorReport:
    """GPUs, Python environments (probed), the chosen engine environment, the engine file run in it,
    demo model, store."""
    nvml = discover_gpus()
    envs = discover_environments(cuda=cuda, timeout_s=timeout_s, extra=extra_pythons)
    chosen = checks.choose_engine_env(envs, load_settings().engine_python)
    found = [checks.check_gpus(nvml), checks.check_environments(envs, chosen, nvml),
             checks.check_engine_artifact(chosen), checks.check_demo_model(chosen),
             checks.check_store(create=create_store)]
    return DoctorReport(nvml, envs, chosen, found)
