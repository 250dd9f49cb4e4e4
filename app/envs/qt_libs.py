"""The system libraries Qt's X11 platform plugin (xcb) needs but cannot find, and the Debian packages with them.

Without them Qt aborts with "Could not load the Qt platform plugin xcb" and no hint of what to install.
`ldd` on the plugin names every missing library, so the set-up scripts and `inferlab gui` can print (or run)
the exact install command instead. PySide6 is located, never imported: this module belongs to the app core.

`python -m app.envs.qt_libs` prints the missing packages, one per line (nothing when all are present).
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

_NOT_FOUND = re.compile(r"^\s*(\S+) => not found", re.MULTILINE)
_SONAME = re.compile(r"^lib(?P<stem>.+?)\.so(?:\.(?P<major>\d+))?")
# Libraries the plugin's dependency tree pulls in whose package breaks Debian's naming rule.
_PACKAGE_OF = {
    "libc.so.6": "libc6", "libm.so.6": "libc6", "libpthread.so.0": "libc6", "libdl.so.2": "libc6",
    "libgcc_s.so.1": "libgcc-s1", "libz.so.1": "zlib1g", "libGLdispatch.so.0": "libglvnd0",
    "libglib-2.0.so.0": "libglib2.0-0", "libgthread-2.0.so.0": "libglib2.0-0",
    "libbrotlidec.so.1": "libbrotli1", "libbrotlicommon.so.1": "libbrotli1",
}


def xcb_plugin() -> Path | None:
    """PySide6's xcb platform plugin, or None where PySide6 or the plugin is absent (not Linux, say)."""
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return None
    plugin = Path(next(iter(spec.submodule_search_locations))) / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    return plugin if plugin.exists() else None


def missing_libraries(plugin: Path) -> list[str]:
    """Sonames `ldd` cannot resolve for `plugin` (sorted, each once)."""
    out = subprocess.run(["ldd", str(plugin)], capture_output=True, text=True, timeout=30, check=True).stdout
    return sorted(set(_NOT_FOUND.findall(out)))


def debian_package(soname: str) -> str:
    """Debian's package name for a shared library by its policy: libfoo.so.4 → libfoo4, libfoo-1.so.3 → libfoo-1-3
    (with the exceptions known for the plugin's tree)."""
    if soname in _PACKAGE_OF:
        return _PACKAGE_OF[soname]
    match = _SONAME.match(soname)
    if match is None:
        raise ValueError(f"not a shared library name: {soname}")
    stem, major = match["stem"].lower(), match["major"] or ""
    separator = "-" if stem[-1].isdigit() and major else ""
    return f"lib{stem}{separator}{major}"


def missing_packages(plugin: Path | None = None) -> list[str]:
    """Debian packages to install for the xcb plugin to load (empty when it loads, or there is no plugin)."""
    plugin = plugin or xcb_plugin()
    if plugin is None:
        return []
    return sorted({debian_package(name) for name in missing_libraries(plugin)})


def install_command(packages: list[str]) -> str:
    return "sudo apt-get install -y " + " ".join(packages)


def uses_xcb(env: dict[str, str]) -> bool:
    """Whether Qt will pick the X11 plugin: Linux, no other platform asked for, not a Wayland session."""
    platform = env.get("QT_QPA_PLATFORM", "")
    if platform:
        return platform.startswith("xcb")
    return sys.platform.startswith("linux") and env.get("XDG_SESSION_TYPE") != "wayland"


def xcb_problem(env: dict[str, str] | None = None, plugin: Path | None = None) -> str | None:
    """What to tell a user whose window Qt would abort on for missing libraries; None when it can open."""
    if not uses_xcb(dict(os.environ) if env is None else env):
        return None
    packages = missing_packages(plugin)
    if not packages:
        return None
    return ("InferLab cannot open a window: Qt's X11 platform plugin (xcb) needs system libraries that are "
            f"not installed ({', '.join(packages)}). Install them with:\n  {install_command(packages)}\n"
            "or run without a window: QT_QPA_PLATFORM=offscreen, or the headless `inferlab` commands.")


if __name__ == "__main__":
    print("\n".join(missing_packages()))
    sys.exit(0)
