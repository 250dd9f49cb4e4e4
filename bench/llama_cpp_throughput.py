"""InferLab's llama-cpp engine throughput vs llama-cpp-python's own hand-timed token loop, same file and prompts.

Both sides load the demo's Q4_1 GGUF file with the same n_ctx, n_batch and thread count and generate
exactly `--output-len` tokens greedily for the same `--num-prompts` synthetic prompts of `--input-len`
tokens (the trial's own workload, rebuilt here with the engine's tokenizer), one prompt at a time from
an empty KV cache, after the same warm-up prompts. InferLab runs a trial through its real worker
process (output tokens / the repetition's wall time); the hand loop is `Llama.generate` timed around
all prompts in this process. The two sides alternate for `--rounds` rounds (one after the other, never
together), so a machine whose load drifts weighs on both alike; each round's ratio compares two runs
next to each other in time, and their median is the figure.

    .venv/bin/python bench/llama_cpp_throughput.py --threads 1   # 212 s on the loaded 2-core dev machine
Prints both output-token throughputs and their ratio per round, and the median ratio (target: >= 0.97).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.core.worker_client import WorkerClient  # noqa: E402
from engine import environment, workloads  # noqa: E402
from engine.backends.base import prompt_text  # noqa: E402
from engine.config import TrialConfig  # noqa: E402
from engine.models.demo import demo_gguf_path  # noqa: E402

TARGET = 0.97


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--num-prompts", type=int, default=8)
    p.add_argument("--input-len", type=int, default=128)
    p.add_argument("--output-len", type=int, default=64)
    p.add_argument("--num-warmups", type=int, default=2)
    p.add_argument("--threads", type=int, default=environment.compute_threads())
    p.add_argument("--rounds", type=int, default=3)
    return p.parse_args()


def trial_config(a: argparse.Namespace) -> TrialConfig:
    return TrialConfig.from_flat({
        "engine": "llama-cpp", "model": "demo", "device": "cpu", "input_tokens": a.input_len,
        "output_tokens": a.output_len, "ignore_eos": True, "temperature": 0.0, "num_requests": a.num_prompts,
        "warmup_requests": a.num_warmups, "repetitions": 1, "n_ctx": 512, "n_batch": 512,
        "n_threads": a.threads, "idle_baseline_s": 0.0, "telemetry_hz": 1.0})


def hand_loop_output_tokens_per_s(llm: Any, prompts: list[list[int]], warmups: list[list[int]],
                                  output_len: int) -> float:
    """llama-cpp-python's own greedy loop, each prompt from an empty KV cache, timed around all prompts."""
    def generate(ids: list[int]) -> int:
        llm.reset()
        n = 0
        for _ in llm.generate(ids, temp=0.0, top_k=0, top_p=1.0, min_p=0.0, repeat_penalty=1.0):
            n += 1
            if n == output_len:
                break
        return n

    for ids in warmups:
        generate(ids)
    start = time.perf_counter()
    tokens = sum(generate(ids) for ids in prompts)
    return tokens / (time.perf_counter() - start)


def main() -> int:
    a = parse_args()
    from llama_cpp import Llama
    from transformers import AutoTokenizer

    gguf = demo_gguf_path()
    config = trial_config(a)
    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)

    def ids_of(count: int, seed_offset: int) -> list[list[int]]:
        return [tokenizer.encode(prompt_text(tokenizer, r.prompt), add_special_tokens=False)
                for r in workloads.build(config, tokenizer, count, seed_offset=seed_offset)]

    prompts, warmups = ids_of(a.num_prompts, 0), ids_of(a.num_warmups, 1)
    llm = Llama(str(gguf), n_ctx=512, n_batch=512, n_threads=a.threads, n_threads_batch=a.threads, verbose=False)
    ours: list[float] = []
    theirs: list[float] = []
    t = time.perf_counter()
    with WorkerClient(env={"INFERLAB_NUM_THREADS": str(a.threads)}) as worker:
        for round_ in range(a.rounds):
            result = worker.run_trial(config)
            rate = result.value("output_tokens_per_s")
            if result.status != "ok" or rate is None:
                raise SystemExit(f"InferLab trial failed ({result.failure_cause}): {result.failure_message}")
            ours.append(rate)
            theirs.append(hand_loop_output_tokens_per_s(llm, prompts, warmups, a.output_len))
            print(f"round {round_ + 1}: InferLab {ours[-1]:7.1f} tok/s   hand loop {theirs[-1]:7.1f} tok/s   "
                  f"ratio {ours[-1] / theirs[-1]:.3f}")
    llm.close()
    print(f"workload: demo Q4_1 GGUF ({gguf.name}), {a.num_prompts} prompts x {a.input_len} in / {a.output_len} "
          f"out tokens, greedy, one prompt at a time, {a.num_warmups} warm-up prompts, {a.threads} threads")
    print(f"InferLab llama-cpp engine (worker), median: {statistics.median(ours):8.1f} output tok/s")
    print(f"llama-cpp-python hand-timed loop, median:   {statistics.median(theirs):8.1f} output tok/s")
    ratios = [a / b for a, b in zip(ours, theirs, strict=True)]
    print(f"ratio InferLab / hand loop, median of the rounds' ratios: {statistics.median(ratios):.3f} "
          f"(min {min(ratios):.3f}, max {max(ratios):.3f}; target >= {TARGET})")
    print(f"bench wall time: {time.perf_counter() - t:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
