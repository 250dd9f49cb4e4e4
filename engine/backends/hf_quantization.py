"""Weight quantization the transformers backends apply at load: one table of schemes, each labelled with
its library, scheme and group size; the checks that refuse a scheme this hardware has no kernel for
(before anything loads); and the `quantization_config` each passes to `from_pretrained`.

torch, transformers and the quantization libraries are imported inside functions.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
from pathlib import Path
from typing import Any

from engine.errors import UnsupportedError

TORCHAO_INT4_GROUP_SIZE = 32  # divides every linear input of the demo model (576, 1536) and common sizes


@dataclasses.dataclass(frozen=True)
class Scheme:
    """One weight-quantization choice: who applies it, what it does, and its grouping."""

    library: str      # the distribution that applies it
    module: str       # its import name (checked with find_spec)
    scheme: str
    group_size: str   # group size of the weight scales, or how they are grouped
    cuda_only: bool = False

    def label(self) -> str:
        return f"{self.library}: {self.scheme}; weight scales {self.group_size}"


SCHEMES: dict[str, Scheme] = {
    "int8-weight": Scheme("optimum-quanto", "optimum.quanto", "int8 weight-only (activations keep the model dtype)",
                          "per output channel"),
    "int4-weight": Scheme("optimum-quanto", "optimum.quanto", "int4 weight-only (activations keep the model dtype)",
                          "per group of 128 inputs, or of the largest multiple of 32 below it that divides a "
                          "layer's inputs"),
    "torchao-int8-weight": Scheme("torchao", "torchao", "int8 weight-only (activations keep the model dtype)",
                                  "per output channel"),
    "torchao-int8-dynamic": Scheme("torchao", "torchao", "int8 dynamic activation (scales per token, computed "
                                   "at run time) + int8 weight", "per output channel"),
    "torchao-int4-weight": Scheme("torchao", "torchao", "int4 weight-only (Int4OpaqueTensor, CPU kernel)",
                                  f"per group of {TORCHAO_INT4_GROUP_SIZE} inputs"),
    "bnb-8bit": Scheme("bitsandbytes", "bitsandbytes", "LLM.int8() 8-bit weights", "per output channel",
                       cuda_only=True),
    "bnb-4bit": Scheme("bitsandbytes", "bitsandbytes", "4-bit (fp4) weights", "per block of 64", cuda_only=True),
}


def check(quantization: str, device: str, model_dir: Path | None) -> None:
    """Refuse a scheme that is not installed or has no kernel on `device` (UnsupportedError)."""
    scheme = SCHEMES.get(quantization)
    if scheme is None:
        return
    if scheme.cuda_only and device != "cuda":
        raise UnsupportedError("quantization", f"{scheme.library} runs on CUDA only; on CPU use int8-weight, "
                               "int4-weight or a torchao-* scheme")
    if importlib.util.find_spec(scheme.module) is None:
        raise UnsupportedError("quantization", f"{quantization} needs {scheme.library} (not installed)")
    if quantization == "torchao-int4-weight":
        _check_torchao_int4(device, model_dir)


def _check_torchao_int4(device: str, model_dir: Path | None) -> None:
    import torch

    if device != "cpu":
        raise UnsupportedError("quantization", "torchao's int4 weight-only kernel here is the CPU one "
                               "(Int4OpaqueTensor); on CUDA use int4-weight (optimum-quanto) or bnb-4bit")
    if not hasattr(torch.ops.aten, "_weight_int4pack_mm_for_cpu"):
        raise UnsupportedError("quantization", "this torch build has no int4 CPU matmul kernel "
                               "(aten._weight_int4pack_mm_for_cpu)")
    config_file = model_dir / "config.json" if model_dir is not None else None
    if config_file is None or not config_file.is_file():
        return
    config = json.loads(config_file.read_text(encoding="utf-8"))
    for key in ("hidden_size", "intermediate_size"):
        size = config.get(key)
        if isinstance(size, int) and size % TORCHAO_INT4_GROUP_SIZE:
            raise UnsupportedError("quantization", f"torchao int4 groups {TORCHAO_INT4_GROUP_SIZE} inputs, and "
                                   f"{config_file}'s {key} = {size} is not a multiple: those layers would stay "
                                   "unquantized")


def load_kwargs(quantization: str, notes: list[str]) -> dict[str, Any]:
    """The `from_pretrained` keyword arguments of a scheme ({} for 'none'); appends its label to notes."""
    scheme = SCHEMES.get(quantization)
    if scheme is None:
        return {}
    notes.append(f"weights quantized at load by {scheme.label()}")
    return {"quantization_config": _config(quantization)}


def _config(quantization: str) -> Any:
    from transformers import BitsAndBytesConfig, QuantoConfig, TorchAoConfig

    if quantization in ("int8-weight", "int4-weight"):
        return QuantoConfig(weights=quantization.split("-")[0])
    if quantization in ("bnb-8bit", "bnb-4bit"):
        return BitsAndBytesConfig(**{"load_in_8bit" if quantization == "bnb-8bit" else "load_in_4bit": True})
    return TorchAoConfig(_torchao_config(quantization))


def _torchao_config(quantization: str) -> Any:
    if quantization == "torchao-int4-weight":
        from torchao.prototype.quantization.int4 import PrototypeInt4WeightOnlyConfig

        return PrototypeInt4WeightOnlyConfig(group_size=TORCHAO_INT4_GROUP_SIZE)
    from torchao.quantization import Int8DynamicActivationInt8WeightConfig, Int8WeightOnlyConfig

    return Int8WeightOnlyConfig() if quantization == "torchao-int8-weight" else Int8DynamicActivationInt8WeightConfig()


def label(quantization: str) -> str:
    """The scheme's label ('none' when nothing is applied at load)."""
    scheme = SCHEMES.get(quantization)
    return "none" if scheme is None else scheme.label()
