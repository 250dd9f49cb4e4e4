#!/usr/bin/env bash
# System packages the full test suite uses: PostgreSQL (store tests), Chromium and poppler (report
# rendering checks), Xvfb and xcb libraries (screenshots). Installs what is missing when run as root
# with apt-get; otherwise says what to install. Never fails the caller: tests that need a missing
# tool say so themselves.
set -uo pipefail
need=()
command -v chromium >/dev/null || need+=(chromium)
command -v pdftoppm >/dev/null || need+=(poppler-utils)
command -v xvfb-run >/dev/null || need+=(xvfb xauth)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
dpkg -s libxcb-cursor0 >/dev/null 2>&1 || need+=(libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-xinerama0)
[[ ${#need[@]} -eq 0 ]] && exit 0
if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
  echo "system-deps: installing ${need[*]}" >&2
  apt-get update -qq >/dev/null 2>&1
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null 2>&1 ||
    echo "system-deps: apt-get install failed for ${need[*]}" >&2
else
  echo "system-deps: please install: ${need[*]}" >&2
fi
exit 0
