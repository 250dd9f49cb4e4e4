#!/usr/bin/env bash
# Build llama-cpp-python's wheel once into a cache and print the cache folder (a pip --find-links dir).
# PyPI ships llama-cpp-python as an sdist only, and compiling llama.cpp takes minutes, so the built wheel
# is kept under ~/.cache/inferlab/wheels (INFERLAB_WHEEL_CACHE overrides), keyed by its version (from
# requirements/lock.txt), the Python tag and the platform; later calls find it there and return at once.
# CPU build, portable: GGML_NATIVE=OFF compiles llama.cpp's x86-64 baseline (AVX2, FMA, F16C) rather than
# this machine's exact instruction set, so a cached wheel runs on any such CPU. The multimodal (llava/mtmd)
# library is left out: InferLab drives text generation only, and llama-cpp-python imports it lazily.
# Usage: scripts/llama-cpp-wheel.sh [--cached-only] PYTHON (the Python the wheel is for; it runs the build's
# pip). With --cached-only it builds nothing: it prints the cache folder if the wheel is there, else exits 3.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cached_only=""
if [[ "${1:-}" == "--cached-only" ]]; then
  cached_only=1
  shift
fi
python="$1"
version="$(grep -i -E '^llama[-_]cpp[-_]python==' "$repo/requirements/lock.txt" | cut -d= -f3)"
if [[ -z "$version" ]]; then
  echo "llama-cpp-wheel: requirements/lock.txt pins no llama-cpp-python version" >&2
  exit 1
fi
tag="$("$python" -c 'import sys, sysconfig
print(f"cp{sys.version_info[0]}{sys.version_info[1]}-" + sysconfig.get_platform().replace("-", "_").replace(".", "_"))')"
root="${INFERLAB_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/inferlab/wheels}"
cache="$root/llama-cpp-python-$version-$tag"
if [[ -n "$cached_only" ]]; then
  compgen -G "$cache/llama_cpp_python-$version-*.whl" >/dev/null || exit 3
  echo "$cache"
  exit 0
fi
mkdir -p "$root"
exec 9>"$cache.lock"
flock 9  # a second setup running at once waits for this build instead of compiling it again
if ! compgen -G "$cache/llama_cpp_python-$version-*.whl" >/dev/null; then
  echo "llama-cpp-wheel: building llama-cpp-python $version for $tag (once; several minutes)" >&2
  rm -rf "$cache.partial"
  start=$SECONDS
  CMAKE_ARGS="-DGGML_NATIVE=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF \
-DLLAMA_BUILD_TOOLS=OFF -DLLAVA_BUILD=OFF" CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}" \
    "$python" -m pip wheel -q --no-deps -w "$cache.partial" "llama-cpp-python==$version"
  mv "$cache.partial" "$cache"
  echo "llama-cpp-wheel: built in $((SECONDS - start)) s into $cache" >&2
fi
echo "$cache"
