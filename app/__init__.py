"""InferLab's application: the non-Qt core (orchestration, store, sweeps, reports, CLI) and the Qt GUI
(app.ui). The core never imports Qt; nothing here imports torch, transformers or vLLM."""

__version__ = "0.1.0"
