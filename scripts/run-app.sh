#!/usr/bin/env bash
# Set up (first time) and launch the InferLab desktop app on the built-in demo model and the default
# SQLite store in the user's data dir. Extra arguments go to `inferlab gui`.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# The app does not wait for llama-cpp-python's one-off compile: it builds in the background, and the
# llama-cpp engine is there from the next start (the other engines at once).
INFERLAB_LLAMA_CPP=background "$repo/scripts/bootstrap.sh"
"$repo/scripts/system-deps.sh" --app
exec "$repo/.venv/bin/inferlab" gui "$@"
