"""The GUI's first trial, sized to the machine the worker reports.

The engine's defaults (`engine.config`: batch 8, 128 → 64 tokens, 32 requests, 8 warm-up, 3 repetitions)
suit a GPU; on a CPU they take more than a minute to show a first figure for the demo model. Where the
worker's hello reports no GPU, the window starts from `CPU_TRIAL` instead, sized for a first result in
about 15 s on an idle CPU (`bench/first_contact.py` measures it). Profiles and the CLI keep the engine's
defaults.
"""

from __future__ import annotations

from typing import Any

CPU_TRIAL: dict[str, int] = {"batch_size": 4, "input_tokens": 32, "output_tokens": 16, "num_requests": 4,
                             "warmup_requests": 4, "repetitions": 2}


def trial_text(values: dict[str, Any]) -> str:
    """`batch 4, 32 → 16 tokens, 8 requests, 4 warm-up, 2 repetitions`."""
    return (f"batch {values['batch_size']}, {values['input_tokens']} → {values['output_tokens']} tokens, "
            f"{values['num_requests']} requests, {values['warmup_requests']} warm-up, "
            f"{values['repetitions']} repetitions")


def sized_defaults(hello: dict[str, Any], engine_defaults: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The trial options to start from on the machine `hello` describes (its `gpus` report, as
    `app.ui.worker_probe` adds it), and a line saying what they were sized to (why no GPU was found is
    the report's `reason`, shown beside it)."""
    gpus = hello.get("gpus") or {}
    if gpus.get("count"):
        names = ", ".join(sorted(set(gpus.get("names") or []))) or "unnamed"
        return ({k: engine_defaults[k] for k in CPU_TRIAL},
                f"Trial defaults: the engine's ({trial_text(engine_defaults)}), for the {gpus['count']} GPU(s) "
                f"the worker reports ({names}).")
    return (dict(CPU_TRIAL),
            f"Trial defaults sized to this machine: no GPU reported (hover for why), so a small CPU trial of "
            f"{trial_text(CPU_TRIAL)} (the engine's {trial_text(engine_defaults)} suit a GPU and take "
            f"minutes on a CPU).")
