"""Measurement fidelity: does measuring through InferLab cost decode throughput?

The same config (demo model, batch 8, 16 input tokens, 64 output tokens, fp32, CPU) runs through
InferLab — a real worker subprocess via WorkerClient, every meter and telemetry at 10 Hz on — and
through a bare, hand-timed `model.generate` loop in this process, interleaved repetition by repetition
to cancel drift. The bare loop is the fastest honest one: `torch.inference_mode()` (about 2% faster
than `no_grad` on CPU), no streamer, the same prompts and the same number of compute threads; while
one side runs the other sleeps.

Bare decode throughput = batch × (64 − 1) / (time of a 64-token generate − time of a 1-token
generate), i.e. the time after the first token, like InferLab's decode_tokens_per_s
(bench/bare_loop.py).

    .venv/bin/python bench/engine_fidelity.py [--rounds 3] [--reps 3]

Prints both decode (and whole-call output) throughputs, the ratios InferLab / bare of the medians
(target ≥ 0.98) and the spread of the per-pair ratios (min–max), which shows how busy the machine was.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.core.worker_client import WorkerClient  # noqa: E402
from bench.bare_loop import BareLoop  # noqa: E402
from engine import environment  # noqa: E402

BATCH, INPUT_TOKENS, OUTPUT_TOKENS = 8, 16, 64
CONFIG = {"engine": "hf-generate", "model": "demo", "device": "cpu", "dtype": "float32", "batch_size": BATCH,
          "num_requests": BATCH, "input_tokens": INPUT_TOKENS, "output_tokens": OUTPUT_TOKENS, "ignore_eos": True,
          "telemetry_hz": 10.0, "seed": 0}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--reps", type=int, default=3, help="repetitions per side per round")
    args = parser.parse_args()

    bare = BareLoop(CONFIG)
    bare.repetition()  # warm-up, as the InferLab trial warms up
    lab_decode, lab_output, bare_decode, bare_output = [], [], [], []
    with WorkerClient() as client:
        for rnd in range(args.rounds):
            for rep in range(args.reps):  # alternate side by side, one repetition each
                result = client.run_trial({**CONFIG, "repetitions": 1,
                                           "warmup_requests": BATCH if rnd == rep == 0 else 0})
                if result.status != "ok":
                    print(f"InferLab trial failed: {result.failure_cause}: {result.failure_message}")
                    return 1
                lab_decode.append(result.value("decode_tokens_per_s") or 0.0)
                lab_output.append(result.value("output_tokens_per_s") or 0.0)
                d, o = bare.repetition()
                bare_decode.append(d)
                bare_output.append(o)
            print(f"round {rnd + 1}: InferLab decode {statistics.median(lab_decode[-args.reps:]):8.1f} tok/s   "
                  f"bare decode {statistics.median(bare_decode[-args.reps:]):8.1f} tok/s", flush=True)

    threads = environment.compute_threads()
    print(f"\nconfig: demo model, batch {BATCH}, {INPUT_TOKENS} in / {OUTPUT_TOKENS} out, fp32, CPU, "
          f"{threads} compute threads, telemetry 10 Hz; {len(lab_decode)} interleaved repetitions per side")
    for label, lab, ref in (("decode", lab_decode, bare_decode), ("output", lab_output, bare_output)):
        lab_m, ref_m = statistics.median(lab), statistics.median(ref)
        pairs = [a / b for a, b in zip(lab, ref, strict=True)]
        print(f"{label:>6} throughput: InferLab {lab_m:8.1f} tok/s   bare {ref_m:8.1f} tok/s   "
              f"ratio {lab_m / ref_m:.3f}   per-pair ratios {min(pairs):.3f}–{max(pairs):.3f}")
    print("target: decode ratio >= 0.98 (on a quiet machine; a wide per-pair spread means a busy one)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
