#!/usr/bin/env bash
# Build the installable Linux app: dist/inferlab-<version>-linux-<arch>.tar.gz, a PyInstaller onedir
# bundle of the GUI + CLI (no torch/transformers/vLLM: the engine runs in an environment the user picks)
# with a launcher, a .desktop entry, the icons and an install script.
#
# Idempotent and cached: the tarball is keyed by a hash of its inputs (packaging/, app/, engine/, the
# bundled assets, the lock file, the Python and PyInstaller versions) and kept in
# ~/.cache/inferlab/packaging/<hash>/ (the newest three are kept); a matching entry is reused, not rebuilt.
#
# Usage: packaging/build_linux.sh [--force] [--print-hash] [--print-tarball]
#   --force          rebuild even if the cache has this hash
#   --print-hash     print the input hash and exit
#   --print-tarball  print the cached tarball's path if it exists (exit 1 if not) and exit
# Env: INFERLAB_BUILD_PYTHON (default .venv/bin/python), INFERLAB_PACKAGING_CACHE (default as above).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
python="${INFERLAB_BUILD_PYTHON:-$repo/.venv/bin/python}"
cache_root="${INFERLAB_PACKAGING_CACHE:-$HOME/.cache/inferlab/packaging}"
version="$(sed -n 's/^__version__ = "\(.*\)"/\1/p' app/__init__.py)"
name="inferlab-$version-linux-$(uname -m)"

input_hash() {
  {
    find packaging app engine assets/icons assets/report assets/ui -type f \
      ! -path '*/__pycache__/*' ! -name '*.pyc' 2>/dev/null | LC_ALL=C sort | xargs sha256sum
    sha256sum requirements/lock.txt
    "$python" -c 'import sys; print(sys.version)'
    "$python" -m PyInstaller --version
  } | sha256sum | cut -c1-16
}

hash="$(input_hash)"
cached="$cache_root/$hash/$name.tar.gz"
case "${1:-}" in
  --print-hash) echo "$hash"; exit 0 ;;
  --print-tarball) [[ -f "$cached" ]] && echo "$cached" && exit 0; exit 1 ;;
esac

mkdir -p dist
if [[ -f "$cached" && "${1:-}" != "--force" ]]; then
  echo "build_linux: reusing cached build $hash" >&2
  cp "$cached" "dist/$name.tar.gz"
else
  started=$(date +%s)
  work="$repo/build/pyinstaller"
  rm -rf "$work/dist" "$work/stage"
  mkdir -p "$work"
  echo "build_linux: running PyInstaller (log: $work/build.log)" >&2
  if ! "$python" -m PyInstaller --noconfirm --clean --log-level WARN --distpath "$work/dist" \
       --workpath "$work/work" packaging/inferlab.spec >"$work/build.log" 2>&1; then
    tail -30 "$work/build.log" >&2
    echo "build_linux: PyInstaller failed (full log: $work/build.log)" >&2
    exit 1
  fi
  # Strip debug symbols from the shared objects, except the auditwheel-vendored ones in *.libs/ folders:
  # stripping those (numpy's OpenBLAS) breaks them, which is why the spec has strip=False.
  if command -v strip >/dev/null; then
    find "$work/dist/inferlab" -type f \( -name '*.so' -o -name '*.so.*' \) \
         ! -path '*.libs/*' -exec strip --strip-unneeded {} + 2>/dev/null || true
  else
    echo "build_linux: 'strip' not found (binutils): the bundle keeps its debug symbols" >&2
  fi
  stage="$work/stage/$name"
  mkdir -p "$stage/icons"
  mv "$work/dist/inferlab" "$stage/app"
  install -m 755 packaging/linux/inferlab.sh "$stage/inferlab"
  install -m 755 packaging/linux/install.sh "$stage/install.sh"
  install -m 644 packaging/linux/inferlab.desktop packaging/linux/README.txt "$stage/"
  cp assets/icons/inferlab.svg assets/icons/inferlab-*.png "$stage/icons/"
  # Reproducible archive: sorted names, fixed owner and mtime.
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$work/stage" \
      -czf "dist/$name.tar.gz.partial" "$name"
  mv "dist/$name.tar.gz.partial" "dist/$name.tar.gz"
  mkdir -p "$cache_root/$hash"
  cp "dist/$name.tar.gz" "$cached.partial" && mv "$cached.partial" "$cached"
  # Keep the three newest cached builds (each is ~110 MB).
  ls -1dt "$cache_root"/*/ | tail -n +4 | xargs -r rm -rf
  echo "build_linux: built in $(( $(date +%s) - started )) s" >&2
fi
echo "build_linux: dist/$name.tar.gz ($(du -h "dist/$name.tar.gz" | cut -f1) packed," \
     "$(tar -tzvf "dist/$name.tar.gz" | awk '{s += $3} END {printf "%.0f MiB", s / 1048576}') unpacked)" >&2
echo "$repo/dist/$name.tar.gz"
