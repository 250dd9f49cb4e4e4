#!/usr/bin/env bash
# Download, online and once, the wheels bench/gpu_check.sh installs on an offline GPU machine that
# has only torch, transformers and nvidia-ml-py: the engine worker's and the store's pure-Python
# dependencies, at the versions pinned in requirements/lock.txt, for CPython 3.12 on manylinux
# x86_64, into .whl/ (git-ignored). Copy the checkout with .whl/ to the GPU machine.
#   bench/gpu_wheels.sh [PYTHON]     (PYTHON runs pip; default python3)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
py=${1:-python3}
mapfile -t packages < <(grep -v '^#' "$root/bench/gpu_wheels.txt")
mkdir -p "$root/.whl"
for name in "${packages[@]}"; do
    pin=$(grep -i "^${name}==" "$root/requirements/lock.txt") || { echo "$name is not pinned in requirements/lock.txt" >&2; exit 1; }
    "$py" -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 -d "$root/.whl" "$pin"
done
ls -1 "$root/.whl"
