"""Which Debian packages Qt's xcb platform plugin lacks: real `ldd` on PySide6's real plugins."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from app.envs.qt_libs import debian_package, missing_libraries, missing_packages, xcb_plugin, xcb_problem

pytestmark = pytest.mark.skipif(shutil.which("dpkg") is None or xcb_plugin() is None,
                                reason="needs a Debian-like system and PySide6's xcb plugin")


def owning_package(path: str) -> str:
    """The installed package that owns a file, by dpkg's own database (following symlinks)."""
    for candidate in (path, str(Path(path).resolve())):
        found = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
        if found.returncode == 0:
            return found.stdout.split(":")[0]
    raise AssertionError(f"dpkg knows no package owning {path}")


def test_every_system_library_of_the_xcb_plugin_maps_to_the_package_dpkg_says_owns_it() -> None:
    out = subprocess.run(["ldd", str(xcb_plugin())], capture_output=True, text=True, check=True).stdout
    resolved = [(name, path) for name, path in re.findall(r"^\s*(\S+) => (/\S+)", out, re.MULTILINE)
                if "site-packages" not in path]
    assert len(resolved) > 20 and any(name.startswith("libxcb-") for name, _ in resolved)
    assert {name: debian_package(name) for name, _ in resolved} == {
        name: owning_package(path) for name, path in resolved}


def plugin_with_a_missing_library() -> Path:
    """A real PySide6 plugin whose libraries are not all installed here (Oracle's client, say)."""
    for plugin in sorted(xcb_plugin().parents[1].glob("*/*.so")):
        if missing_libraries(plugin):
            return plugin
    pytest.skip("every PySide6 plugin's libraries are installed on this machine")


def test_a_library_ldd_cannot_resolve_is_named_with_its_package() -> None:
    plugin = plugin_with_a_missing_library()
    out = subprocess.run(["ldd", str(plugin)], capture_output=True, text=True, check=True).stdout
    missing = missing_libraries(plugin)
    assert all(f"{name} => not found" in out for name in missing)
    assert missing_packages(plugin) == sorted({debian_package(name) for name in missing})


@pytest.mark.skipif(os.geteuid() != 0, reason="scripts/system-deps.sh installs packages only as root")
def test_the_setup_script_installed_every_library_the_xcb_plugin_needs() -> None:
    assert missing_packages() == [], "scripts/system-deps.sh should have installed these"


def test_the_app_names_the_install_command_instead_of_letting_qt_abort() -> None:
    plugin = plugin_with_a_missing_library()
    problem = xcb_problem({"QT_QPA_PLATFORM": "xcb"}, plugin)
    assert problem is not None and f"sudo apt-get install -y {' '.join(missing_packages(plugin))}" in problem
    assert xcb_problem({"QT_QPA_PLATFORM": "offscreen"}, plugin) is None
    assert xcb_problem({"XDG_SESSION_TYPE": "wayland"}, plugin) is None
