"""Rules between options that are known without loading anything, and the local paths a trial reads.

`check` runs with every config (`TrialConfig.check_consistency`), so the profile parser, the CLI's
`--set`, the GUI form and the worker refuse the same combinations, before any worker starts.
`check_local_path` is the front door's file check (model, draft model, prompt file): it touches the
file system only, never loads a model. Engine facts that need an installed library or a GPU probe
stay with the backends (`Backend.check`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from engine import registry
from engine.errors import ConfigError
from engine.schema import brief

if TYPE_CHECKING:
    from engine.config import TrialConfig
    from engine.models.resolve import ModelSource

# transformers assisted generation (a draft model or prompt lookup) runs one sequence at a time.
BATCH_ONE_SPECULATIVE = {"hf-generate": ("draft", "prompt-lookup"), "hf-pipeline": ("draft", "prompt-lookup")}
# Weight formats with CUDA kernels only (bitsandbytes; fp8 weights have no CPU kernels in vLLM).
CUDA_ONLY_QUANTIZATION = ("bnb-8bit", "bnb-4bit", "fp8")
URL_SCHEMES = ("http", "https")
PATH_OPTIONS = ("model", "draft_model", "prompt_file")


def check(config: TrialConfig) -> None:
    """Refuse option combinations no engine run could honour; ConfigError names the option to change."""
    c = config.common
    spec = registry.spec(config.engine)
    for name, value in spec.fixed.items():
        if getattr(c, name) != value:
            raise ConfigError(name, f"{spec.fixed_reason}; leave it at {value!r} for engine {config.engine!r}")
    if getattr(config.engine_options, "torch_compile", False) and c.warmup_requests < c.batch_size:
        raise ConfigError("warmup_requests", f"must be at least batch_size ({c.batch_size}) with torch_compile: "
                          "compilation runs on the first call of each batch shape and would otherwise be "
                          "timed inside the measured window")
    if c.workload == "jsonl" and not c.prompt_file:
        raise ConfigError("prompt_file", "is required when workload='jsonl'")
    if c.speculative == "draft" and not c.draft_model:
        raise ConfigError("draft_model", "is required when speculative='draft'")
    if c.speculative != "draft" and c.draft_model:
        raise ConfigError("draft_model", "is only used when speculative='draft'")
    if c.batch_size != 1 and c.speculative in BATCH_ONE_SPECULATIVE.get(config.engine, ()):
        raise ConfigError("batch_size", f"got {c.batch_size}; {config.engine} runs speculative="
                          f"{c.speculative!r} (transformers assisted generation) at batch_size 1 only")
    if c.device == "cpu" and c.quantization in CUDA_ONLY_QUANTIZATION:
        raise ConfigError("quantization", f"{c.quantization!r} runs on CUDA only, and device is 'cpu'; "
                          "on CPU use int8-weight or int4-weight (hf-* engines)")
    check_gpus(config)
    if config.engine == "openai":
        check_http_url(config.engine_options.base_url, "base_url")


def check_gpus(config: TrialConfig) -> None:
    """The GPU axis: `gpu_devices` lists exactly `num_gpus` devices, a CPU trial uses none, and an engine
    with pipeline parallelism splits `num_gpus` as tensor × pipeline (`parallel_sizes`)."""
    c = config.common
    if c.gpu_devices is not None:
        listed = gpu_device_entries(c.gpu_devices)
        if len(listed) != c.num_gpus:
            raise ConfigError("gpu_devices", f"lists {len(listed)} device(s) ({c.gpu_devices}) but num_gpus is "
                              f"{c.num_gpus}; set num_gpus = {len(listed)}, or list {c.num_gpus} device(s)")
    if c.device == "cpu" and c.num_gpus > 1:
        raise ConfigError("num_gpus", f"got {c.num_gpus}; device is 'cpu', where a trial runs on the processor "
                          "and uses no GPU: set device to 'cuda' (or 'auto') to shard over several GPUs")
    if c.device == "cpu" and c.gpu_devices is not None:
        raise ConfigError("gpu_devices", "names GPUs, but device is 'cpu' (a CPU trial uses no GPU): leave it "
                          "unset, or set device to 'cuda'")
    if hasattr(config.engine_options, "pipeline_parallel_size"):
        _check_parallel(config)


def gpu_device_entries(value: str) -> tuple[str, ...]:
    """The entries of a `gpu_devices` list (indices, `GPU-…` or `MIG-…` UUIDs); ConfigError on an empty,
    malformed or repeated one (CUDA would silently stop reading the list there)."""
    entries = tuple(e.strip() for e in value.split(","))
    for entry in entries:
        if not (entry.isdigit() or entry.startswith(("GPU-", "MIG-"))):
            raise ConfigError("gpu_devices", f"entry {entry!r} of {brief(value)} is neither a GPU index (0, 1, …) "
                              "nor a GPU-… or MIG-… UUID (as nvidia-smi -L prints them)")
    repeated = sorted({e for e in entries if entries.count(e) > 1})
    if repeated:
        raise ConfigError("gpu_devices", f"lists {repeated[0]!r} twice in {brief(value)}")
    return entries


def parallel_sizes(config: TrialConfig) -> tuple[int, int]:
    """(tensor, pipeline) parallel sizes of a trial whose engine has both: an unset tensor_parallel_size
    is num_gpus / pipeline_parallel_size, so tensor × pipeline = num_gpus (checked by `check`)."""
    o = config.engine_options
    tensor = o.tensor_parallel_size
    return (config.common.num_gpus // o.pipeline_parallel_size if tensor is None else tensor,
            o.pipeline_parallel_size)


def _check_parallel(config: TrialConfig) -> None:
    o, gpus = config.engine_options, config.common.num_gpus
    if o.tensor_parallel_size is None and gpus % o.pipeline_parallel_size:
        raise ConfigError("pipeline_parallel_size", f"got {o.pipeline_parallel_size}; num_gpus = {gpus} is not a "
                          "multiple of it, so the tensor-parallel size (num_gpus / pipeline_parallel_size) is not "
                          "a whole number")
    tensor, pipeline = parallel_sizes(config)
    if tensor * pipeline != gpus:
        raise ConfigError("tensor_parallel_size", f"tensor_parallel_size {tensor} × pipeline_parallel_size "
                          f"{pipeline} = {tensor * pipeline} GPUs, but num_gpus is {gpus}: set num_gpus = "
                          f"{tensor * pipeline}, or leave tensor_parallel_size unset (it is then num_gpus / "
                          "pipeline_parallel_size)")


def check_http_url(url: str, field: str) -> None:
    """An http:// or https:// URL with a host (the openai engine's server)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError as exc:
        raise ConfigError(field, f"is not a URL ({exc})") from None
    if parts.scheme not in URL_SCHEMES or not host:
        raise ConfigError(field, f"got {brief(url)}; expected an http:// or https:// server URL, e.g. "
                          "http://127.0.0.1:8000/v1")


def check_local_path(field: str, value: Any) -> None:
    """A path option's value names something readable here: the model and draft model resolve offline
    (demo, a folder, a .gguf file or an HF-cache id), the prompt file is a readable file."""
    if not isinstance(value, str) or not value or value == "demo" and field != "prompt_file":
        return
    if field == "prompt_file":
        path = Path(value).expanduser()
        if not path.is_file():
            raise ConfigError(field, f"no such file: {path}")
        _require_readable(field, path)
        return
    # Imported here: engine.config imports this module, and model resolution (file locks for the demo
    # model) has no business in every import of the config.
    from engine.models.resolve import resolve

    source = resolve(value, field=field)
    _require_readable(field, source.path / source.gguf_file if source.gguf_file else source.path)


def check_checkpoint(config: TrialConfig) -> str | None:
    """The quantization the trial's local checkpoint carries (`engine.models.checkpoint`), after refusing
    a `quantization` setting that contradicts it; None where a server loads the model."""
    spec = registry.spec(config.engine)
    if not spec.local_model:
        return None
    from engine.models.resolve import resolve

    return _checked_checkpoint(resolve(config.common.model, gguf=spec.model_format == "gguf"),
                               config.common.quantization)


def check_checkpoint_files(engine: str, model: str, quantization: str) -> None:
    """The front door's form of `check_checkpoint` (profiles, `--set`): the same refusal, reading only the
    checkpoint's config.json or GGUF header. The demo model is not materialized for it (that imports
    transformers): until it is, the worker checks it."""
    spec = registry.spec(engine)
    if not spec.local_model or quantization == "none":  # 'none' never contradicts
        return
    from engine.models import demo
    from engine.models.resolve import resolve

    gguf = spec.model_format == "gguf"
    if model == "demo" and not gguf and not demo.is_materialized():
        return
    _checked_checkpoint(resolve(model, gguf=gguf), quantization)


def _checked_checkpoint(source: ModelSource, quantization: str) -> str:
    from engine.models import checkpoint

    found = checkpoint.read_quantization(source)
    checkpoint.check_setting(quantization, found, str(source.path / (source.gguf_file or "")))
    return found


def _require_readable(field: str, path: Path) -> None:
    mode = os.R_OK | (os.X_OK if path.is_dir() else 0)
    if not os.access(path, mode):
        raise ConfigError(field, f"{path} is not readable by this user")
