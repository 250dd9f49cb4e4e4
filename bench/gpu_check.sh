#!/usr/bin/env bash
# Prove InferLab's GPU paths on an NVIDIA machine with no internet, in under 8 minutes:
#   bench/gpu_check.sh OUT_DIR [--reps N]
# Writes OUT_DIR/gpu_check.json and OUT_DIR/gpu_check.html (plus the store and the random-weight
# models it built). Needs a Python with torch, transformers (5.x) and nvidia-ml-py; the few
# pure-Python packages the worker and the store need beyond those are installed from the wheels in
# .whl/ (made beforehand, online, by bench/gpu_wheels.sh) into a temporary site folder, never into
# that Python. Set INFERLAB_PYTHON to choose the interpreter (default: python3).
# Without an NVIDIA GPU it runs end to end on CPU with tiny models and reports every GPU check
# "skipped: no NVIDIA GPU". Exit code: 0 when no check failed.
set -euo pipefail
if [[ $# -lt 1 ]]; then
    echo "usage: $0 OUT_DIR [--reps N]" >&2
    exit 2
fi
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=$1
shift
py=${INFERLAB_PYTHON:-python3}
site=$(mktemp -d)
trap 'rm -rf "$site"' EXIT
if [[ -d "$root/.whl" ]]; then
    mapfile -t packages < <(grep -v '^#' "$root/bench/gpu_wheels.txt")
    "$py" -m pip install --quiet --no-index --no-deps --find-links "$root/.whl" --target "$site" "${packages[@]}" \
        || echo "gpu_check: the wheels in .whl/ do not fit $py; using the packages it has" >&2
fi
export PYTHONPATH="$root:$site${PYTHONPATH:+:$PYTHONPATH}"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
timeout "${GPU_CHECK_TIMEOUT_S:-480}" "$py" "$root/bench/gpu_check.py" "$out" "$@"
