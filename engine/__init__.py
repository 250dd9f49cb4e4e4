"""InferLab's inference worker: backends, workloads, meters and telemetry.

This package imports no Qt and no database code. torch, transformers and vLLM are imported lazily,
inside the backend that needs them, so the worker runs in any Python environment that has its small
dependency set (psutil, nvidia-ml-py, platformdirs) plus the inference library it drives.
"""

__version__ = "0.1.0"
