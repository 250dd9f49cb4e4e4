#!/bin/sh
# Install the unpacked InferLab bundle for this user (or under PREFIX): the app folder, an `inferlab`
# command, the desktop entry and the icons. Re-running it upgrades in place. Uninstall: --uninstall.
#   ./install.sh [--uninstall] [PREFIX]      (PREFIX defaults to ~/.local)
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
uninstall=0
if [ "${1:-}" = "--uninstall" ]; then uninstall=1; shift; fi
prefix="${1:-$HOME/.local}"
libdir="$prefix/lib/inferlab"
sizes="16 24 32 48 64 128 256 512"

rm -rf "$libdir" "$prefix/bin/inferlab" "$prefix/share/applications/inferlab.desktop" \
       "$prefix/share/icons/hicolor/scalable/apps/inferlab.svg"
for s in $sizes; do rm -f "$prefix/share/icons/hicolor/${s}x${s}/apps/inferlab.png"; done
if [ "$uninstall" = 1 ]; then echo "InferLab removed from $prefix"; exit 0; fi

mkdir -p "$libdir" "$prefix/bin" "$prefix/share/applications" "$prefix/share/icons/hicolor/scalable/apps"
cp -R "$here/app" "$here/inferlab" "$libdir/"
ln -s "$libdir/inferlab" "$prefix/bin/inferlab"
sed -e "s|^Exec=inferlab|Exec=$libdir/inferlab|" -e "s|^TryExec=inferlab|TryExec=$libdir/inferlab|" \
    "$here/inferlab.desktop" > "$prefix/share/applications/inferlab.desktop"
cp "$here/icons/inferlab.svg" "$prefix/share/icons/hicolor/scalable/apps/inferlab.svg"
for s in $sizes; do
  mkdir -p "$prefix/share/icons/hicolor/${s}x${s}/apps"
  cp "$here/icons/inferlab-$s.png" "$prefix/share/icons/hicolor/${s}x${s}/apps/inferlab.png"
done
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database "$prefix/share/applications" || true
command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q "$prefix/share/icons/hicolor" || true
echo "InferLab installed in $libdir; run 'inferlab' (make sure $prefix/bin is on PATH) or use the app menu."
