"""The desktop integration files that go into the tarball: .desktop entry, icons, launcher scripts."""

from __future__ import annotations

import configparser
import struct
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ICONS = REPO / "assets" / "icons"


def png_size_px(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", header[16:24])


def test_the_desktop_entry_launches_inferlab_with_its_icon() -> None:
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str  # keys are case-sensitive
    entry.read(REPO / "packaging" / "linux" / "inferlab.desktop")
    desktop = entry["Desktop Entry"]
    assert desktop["Type"] == "Application" and desktop["Name"] == "InferLab"
    assert desktop["Exec"] == "inferlab gui" and desktop["Icon"] == "inferlab"
    assert desktop["Categories"].endswith(";") and desktop["Terminal"] == "false"


def test_every_icon_size_is_rendered_from_the_svg() -> None:
    assert "<svg" in (ICONS / "inferlab.svg").read_text()
    for size_px in (16, 24, 32, 48, 64, 128, 256, 512):
        assert png_size_px(ICONS / f"inferlab-{size_px}.png") == (size_px, size_px)


def test_the_launcher_and_install_scripts_parse() -> None:
    for script in ("linux/inferlab.sh", "linux/install.sh"):
        subprocess.run(["sh", "-n", str(REPO / "packaging" / script)], check=True)
    for script in ("build_linux.sh", "smoke_test.sh"):
        subprocess.run(["bash", "-n", str(REPO / "packaging" / script)], check=True)


def test_install_script_installs_and_uninstalls_under_a_prefix(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    (bundle / "app").mkdir(parents=True)
    (bundle / "icons").mkdir()
    (bundle / "app" / "inferlab").write_text("#!/bin/sh\necho app \"$@\"\n")
    (bundle / "app" / "inferlab").chmod(0o755)
    for name in ("linux/inferlab.sh", "linux/install.sh", "linux/inferlab.desktop"):
        target = bundle / ("inferlab" if name.endswith("inferlab.sh") else Path(name).name)
        target.write_bytes((REPO / "packaging" / name).read_bytes())
        target.chmod(0o755)
    for icon in ICONS.glob("inferlab*"):
        (bundle / "icons" / icon.name).write_bytes(icon.read_bytes())
    prefix = tmp_path / "prefix"
    subprocess.run(["sh", str(bundle / "install.sh"), str(prefix)], check=True, capture_output=True)
    desktop = (prefix / "share" / "applications" / "inferlab.desktop").read_text()
    assert f"Exec={prefix}/lib/inferlab/inferlab gui" in desktop
    assert (prefix / "share" / "icons" / "hicolor" / "48x48" / "apps" / "inferlab.png").exists()
    ran = subprocess.run([str(prefix / "bin" / "inferlab"), "doctor"], capture_output=True, text=True, check=True)
    assert ran.stdout == "app doctor\n"  # the launcher found the app through the symlink
    subprocess.run(["sh", str(bundle / "install.sh"), "--uninstall", str(prefix)], check=True, capture_output=True)
    assert not (prefix / "bin" / "inferlab").exists() and not (prefix / "lib" / "inferlab").exists()
