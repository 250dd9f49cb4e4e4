"""The engine registry agrees with what installs an engine and with each engine's folder."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from engine import registry
from engine.config import CommonOptions, TrialConfig, all_options
from engine.schema import options_of

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def test_every_package_an_engine_needs_is_installed_by_the_package_or_an_extra() -> None:
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    groups = [project["dependencies"], *project["optional-dependencies"].values()]
    named = {re.split(r"[<>=!\[ ]", dep, maxsplit=1)[0].lower() for deps in groups for dep in deps}
    for spec in registry.BUILTIN:
        for requirement in spec.requires:
            assert named & set(requirement.dists), (spec.name, requirement)


@pytest.mark.parametrize("spec", registry.BUILTIN, ids=lambda s: s.name)
def test_gpu_only_and_fixed_choices_name_real_options_and_choices(spec: registry.EngineSpec) -> None:
    infos = all_options(spec.name)
    for name, choices in spec.gpu_only.items():
        assert set(choices) <= set(infos[name].choices or ()), name
    defaults = TrialConfig.from_flat({"engine": spec.name}).to_flat()
    for name, value in spec.fixed.items():
        assert name in options_of(CommonOptions) and infos[name].allowed(), name
        assert defaults[name] == value, name  # a fixed option defaults to its one value
    assert registry.backend_class(spec.name).name == spec.name
