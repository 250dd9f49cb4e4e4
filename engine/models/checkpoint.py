"""The quantization a checkpoint already carries, read from its files (never assumed), and the rule that
a `quantization` setting must not contradict it.

A transformers folder says it in config.json (`quantization_config.quant_method`: awq, gptq,
compressed-tensors, fp8, bitsandbytes, ...); a GGUF file in its `general.file_type` key (e.g. Q4_1).
Reading touches the files only; no weights are loaded.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from engine.errors import ConfigError
from engine.models import gguf_header
from engine.models.resolve import ModelSource

NONE = "none"
# llama.cpp's `llama_ftype` (gguf's LlamaFileType without the MOSTLY_ prefix), lower case.
_GGUF_FILE_TYPES = {0: "all_f32", 1: "f16", 2: "q4_0", 3: "q4_1", 7: "q8_0", 8: "q5_0", 9: "q5_1", 10: "q2_k",
                    11: "q3_k_s", 12: "q3_k_m", 13: "q3_k_l", 14: "q4_k_s", 15: "q4_k_m", 16: "q5_k_s",
                    17: "q5_k_m", 18: "q6_k", 19: "iq2_xxs", 20: "iq2_xs", 21: "q2_k_s", 22: "iq3_xs",
                    23: "iq3_xxs", 24: "iq1_s", 25: "iq4_nl", 26: "iq3_s", 27: "iq3_m", 28: "iq2_s", 29: "iq2_m",
                    30: "iq4_xs", 31: "iq1_m", 32: "bf16", 36: "tq1_0", 37: "tq2_0", 38: "mxfp4_moe",
                    39: "nvfp4", 40: "q1_0"}
# Settings that name a scheme a checkpoint carries (quant_method → the `quantization` choice).
_SETTING_OF = {"awq": "awq", "gptq": "gptq", "fp8": "fp8", "bnb-8bit": "bnb-8bit", "bnb-4bit": "bnb-4bit"}
# Settings that only make sense on a checkpoint already quantized that way.
_PREQUANTIZED_ONLY = ("awq", "gptq")


def read_quantization(source: ModelSource) -> str:
    """The checkpoint's own quantization: 'none', a quant_method ('awq', 'gptq', 'compressed-tensors',
    'fp8', 'bnb-4bit', 'bnb-8bit', ...) or 'gguf-<file type>' (e.g. 'gguf-q4_1')."""
    if source.gguf_file:
        return gguf_file_type(source.path / source.gguf_file)
    return config_quantization(source.path / "config.json")


def config_quantization(config_file: Path) -> str:
    """The `quantization_config` of a transformers config.json ('none' when it has none)."""
    try:
        data = json.loads(config_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError("model", f"{config_file} cannot be read as JSON: {exc}") from None
    quant: Any = data.get("quantization_config") if isinstance(data, dict) else None
    if quant is None:
        return NONE
    method = quant.get("quant_method") if isinstance(quant, dict) else None
    if not isinstance(method, str) or not method:
        raise ConfigError("model", f"{config_file}: quantization_config.quant_method is missing or not a "
                          f"string (got {method!r}); cannot tell how the checkpoint is quantized")
    method = method.lower()
    if method == "bitsandbytes":
        return "bnb-4bit" if quant.get("load_in_4bit") else "bnb-8bit"
    return method


def gguf_file_type(path: Path) -> str:
    """'gguf-<type>' from the file's `general.file_type` key (read with the standard library), or from
    its most common weight tensor type when the key is absent (older writers; needs the gguf package)."""
    try:
        file_type = gguf_header.read_key(path, "general.file_type")
    except (OSError, gguf_header.GGUFHeaderError) as exc:
        raise ConfigError("model", f"{path}: cannot read the GGUF header: {exc}") from None
    if file_type is not None:
        return "gguf-" + _GGUF_FILE_TYPES.get(int(file_type), f"file-type-{file_type}")
    import gguf

    reader = gguf.GGUFReader(path)
    types = Counter(t.tensor_type.name for t in reader.tensors if t.name.endswith(".weight"))
    return "gguf-" + (types.most_common(1)[0][0].lower() if types else "unknown")


def check_setting(setting: str, checkpoint: str, where: str) -> None:
    """Refuse a `quantization` setting that contradicts the checkpoint's own (ConfigError on
    'quantization'). 'none' always means "run the checkpoint as stored"."""
    if setting == NONE or _SETTING_OF.get(checkpoint) == setting:
        return
    if checkpoint == NONE:
        if setting in _PREQUANTIZED_ONLY:
            raise ConfigError("quantization", f"{setting!r} runs only a checkpoint already quantized with "
                              f"{setting.upper()}, and {where} carries no quantization_config")
        return
    how = "its GGUF file type" if checkpoint.startswith("gguf-") else "its config.json quantization_config"
    raise ConfigError("quantization", f"{where} is already quantized ({checkpoint}, read from {how}); "
                      f"{setting!r} would contradict it: use quantization='none' to run it as stored"
                      + (f" or {_SETTING_OF[checkpoint]!r}" if checkpoint in _SETTING_OF else ""))
