#!/usr/bin/env bash
# System packages InferLab uses. With --app: only the libraries Qt's X11 platform plugin needs (the app
# itself). Without: also what the full test suite uses: PostgreSQL (store tests), Chromium and poppler
# (report rendering checks), Xvfb (screenshots), OpenSSH (remote-worker tests run a real sshd on loopback). The Qt libraries are found by `ldd` on the plugin itself
# (app/envs/qt_libs.py), not guessed from one of them. Installs what is missing when run as root with
# apt-get; otherwise prints the exact command. Never fails the caller: tests that need a missing tool say
# so themselves, and run-app.sh checks the Qt libraries again before it starts the app.
set -uo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
need=()
if [[ "${1:-}" != "--app" ]]; then
  command -v chromium >/dev/null || need+=(chromium)
  command -v pdftoppm >/dev/null || need+=(poppler-utils)
  command -v xvfb-run >/dev/null || need+=(xvfb xauth)
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
  [[ -x /usr/sbin/sshd ]] || need+=(openssh-server)
  command -v ssh >/dev/null || need+=(openssh-client)
fi
for package in $("$repo/.venv/bin/python" -m app.envs.qt_libs); do need+=("$package"); done
[[ ${#need[@]} -eq 0 ]] && exit 0
if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
  echo "system-deps: installing ${need[*]}" >&2
  apt-get update -qq >/dev/null 2>&1
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null 2>&1 ||
    echo "system-deps: apt-get install failed for ${need[*]}; run: sudo apt-get install -y ${need[*]}" >&2
else
  echo "system-deps: please run: sudo apt-get install -y ${need[*]}" >&2
fi
exit 0
