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
    if config.engine == "openai":
        check_http_url(config.engine_options.base_url, "base_url")


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
    from engine.models import checkpoint
    from engine.models.resolve import resolve

    source = resolve(config.common.model, gguf=spec.model_format == "gguf")
    found = checkpoint.read_quantization(source)
    checkpoint.check_setting(config.common.quantization, found, str(source.path / (source.gguf_file or "")))
    return found


def _require_readable(field: str, path: Path) -> None:
    mode = os.R_OK | (os.X_OK if path.is_dir() else 0)
    if not os.access(path, mode):
        raise ConfigError(field, f"{path} is not readable by this user")
