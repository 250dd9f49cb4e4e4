"""Per-trial overhead of a worker over SSH (loopback) vs a local worker, on the fidelity config.

Starts a throwaway sshd on 127.0.0.1 (tests/remote/conftest.py's, keys and configs in a temp dir; needs
openssh-server) whose "remote" Python is this one, then runs the same trial (demo model, batch 8,
16 → 64 tokens, fp32, CPU, telemetry 10 Hz, 1 repetition) through a local worker and through the SSH
worker, interleaved trial by trial; both workers are started (and warmed up) before timing. A trial's
wall time is from `run_trial` to its result in the client: what a sweep waits for per trial.

    .venv/bin/python bench/remote_overhead.py [--trials 5] [--threads N]

`--threads N` gives both workers INFERLAB_NUM_THREADS=N (the SSH worker gets it the way any worker
environment travels: on its stdin): one thread each keeps the figure steady on a machine doing other
work, where two threads on two shared cores stall each other.

Prints the median wall time per trial of each, the decode throughput of each and the overhead ratio
ssh / local − 1 (target ≤ 5 %); then the time each spends outside the trial's measured window, whose
difference is what the SSH transport adds, free of the window's own noise.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.core.transport import SshTransport  # noqa: E402
from app.core.worker_client import WorkerClient  # noqa: E402
from bench.engine_fidelity import BATCH, CONFIG  # noqa: E402
from tests.remote.conftest import HOST, have_openssh, loopback_sshd  # noqa: E402

TRIAL = {**CONFIG, "repetitions": 1, "warmup_requests": 0}


def timed(client: WorkerClient) -> tuple[float, float, float]:
    """(wall s, decode tok/s, wall s outside the measured window) of one trial through `client`."""
    started = time.perf_counter()
    result = client.run_trial(TRIAL)
    wall = time.perf_counter() - started
    if result.status != "ok":
        raise SystemExit(f"trial failed: {result.failure_cause}: {result.failure_message}")
    window = result.value("wall_s") or float("nan")  # the one repetition's measured window
    return wall, result.value("decode_tokens_per_s") or float("nan"), wall - window


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=5, help="timed trials per side")
    parser.add_argument("--threads", type=int, default=None, help="INFERLAB_NUM_THREADS for both workers")
    args = parser.parse_args()
    if not have_openssh():
        print("needs OpenSSH's server: apt-get install openssh-server")
        return 1
    walls: dict[str, list[float]] = {"local": [], "ssh": []}
    decode: dict[str, list[float]] = {"local": [], "ssh": []}
    outside: dict[str, list[float]] = {"local": [], "ssh": []}
    with tempfile.TemporaryDirectory(prefix="inferlab-bench-ssh-") as tmp, loopback_sshd(Path(tmp)) as server:
        env = {"INFERLAB_NUM_THREADS": str(args.threads)} if args.threads else {}
        clients = {"local": WorkerClient(env=env), "ssh": WorkerClient(
            env=env, transport=SshTransport(HOST, sys.executable, ssh_config=server.ssh_config))}
        try:
            for client in clients.values():
                client.run_trial({**TRIAL, "warmup_requests": BATCH})  # start, load, warm up: not timed
            print("both workers started and warmed up", flush=True)
            for _ in range(args.trials):
                for side, client in clients.items():
                    wall, tok_s, rest = timed(client)
                    walls[side].append(wall)
                    decode[side].append(tok_s)
                    outside[side].append(rest)
                    print(f"{side:>5} trial: {wall:.3f} s, decode {tok_s:.1f} tok/s", flush=True)
        finally:
            for client in clients.values():
                client.close()
    local, ssh = statistics.median(walls["local"]), statistics.median(walls["ssh"])
    threads = f"{args.threads} compute thread(s)" if args.threads else "the worker's default compute threads"
    print(f"config: demo model, batch {BATCH}, 16 in / 64 out, fp32, CPU, telemetry 10 Hz, {threads}; "
          f"{args.trials} trials per side, interleaved; sshd on 127.0.0.1")
    for side in ("local", "ssh"):
        print(f"{side:>5}: median wall per trial {statistics.median(walls[side]):7.3f} s   "
              f"decode {statistics.median(decode[side]):7.1f} tok/s   (walls: "
              + ", ".join(f"{w:.3f}" for w in walls[side]) + ")")
    print(f"overhead: ssh / local - 1 = {100 * (ssh / local - 1):+.1f} %   (target <= 5 %)")
    # The measured window is the same work on both sides, so its noise (another process taking a core)
    # says nothing about the transport; what SSH adds lies outside it: starting the trial, relaying the
    # events and the result.
    extra = statistics.median(outside["ssh"]) - statistics.median(outside["local"])
    print(f"outside the measured window: local {statistics.median(outside['local']):.3f} s, "
          f"ssh {statistics.median(outside['ssh']):.3f} s per trial; ssh adds {extra:+.3f} s = "
          f"{100 * extra / local:+.1f} % of a local trial")
    return 0


if __name__ == "__main__":
    sys.exit(main())
