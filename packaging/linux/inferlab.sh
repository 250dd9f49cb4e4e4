#!/bin/sh
# InferLab launcher: runs the bundled app from wherever this folder was unpacked (symlinks allowed).
# `inferlab` alone opens the desktop app; `inferlab doctor`, `inferlab run …` etc. are the headless CLI.
here="$(dirname "$(readlink -f "$0")")"
exec "$here/app/inferlab" "$@"
