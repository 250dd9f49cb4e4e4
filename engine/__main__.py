"""`python -m engine` (or `python inferlab-engine.pyz`): the InferLab inference worker.

Before anything else it checks the worker's own dependencies (`engine.registry.WORKER_REQUIRES`):
a missing one is named with the exact install command for this Python, exit code 3, no traceback.
With `--check` it prints one JSON line (this Python, the engine version, which backends it can run
and why not) and exits, instead of serving the protocol.
With `--env-stdin` it first takes its environment from stdin (`engine.env_stdin`).
"""

import json
import sys

import engine
from engine.env_stdin import ENV_STDIN_FLAG, exec_with_stdin_env
from engine.registry import missing_worker_requirements

MISSING_DEPENDENCY_EXIT = 3


def main() -> int:
    if ENV_STDIN_FLAG in sys.argv[1:]:
        exec_with_stdin_env()
    missing = missing_worker_requirements()
    if missing:
        names = ", ".join(r.module for r in missing)
        dists = " ".join(r.dists[0] for r in missing)
        print(f"inferlab-engine: this Python ({sys.executable}) lacks {names}, which the engine worker needs; "
              f"install with: {sys.executable} -m pip install {dists}", file=sys.stderr)
        return MISSING_DEPENDENCY_EXIT
    from engine.worker import backend_report
    from engine.worker import main as worker_main

    if "--check" in sys.argv[1:]:
        print(json.dumps({"python": sys.executable, "engine_version": engine.__version__,
                          "backends": backend_report()}))
        return 0
    return worker_main()


if __name__ == "__main__":
    sys.exit(main())
