"""The built wheel, installed alone into a fresh venv, finds its shipped assets and profiles.

The fresh venv borrows only the project venv's third-party packages (through a .pth line), never the
checkout: commands run from a temp cwd and must import `app` from the new venv.
"""

from __future__ import annotations

import json
import os
import site
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# Without the checkout on PYTHONPATH: pip and the installed app must not see it.
CLEAN_ENV = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}


def _wheel_venv(tmp: Path) -> Path:
    """Build the wheel and install it (--no-deps) into a new venv; return that venv."""
    wheels = tmp / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(wheels), str(REPO)], check=True, timeout=300, cwd=tmp)
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    target = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                            capture_output=True, text=True, check=True).stdout.strip()
    wheel = next(wheels.glob("inferlab-*.whl"))
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q", str(wheel)],
                   check=True, timeout=300, env=CLEAN_ENV)
    # Only after the install: pip must not see (nor touch) the project venv's editable inferlab.
    Path(target, "project-deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    return venv


@pytest.mark.slow
def test_an_installed_wheel_exports_html_runs_a_shipped_profile_and_doctors(
        tmp_path: Path, data_dir: Path) -> None:
    venv = _wheel_venv(tmp_path)
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    env = {**CLEAN_ENV, "INFERLAB_DATA_DIR": str(data_dir)}

    def inferlab(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(venv / "bin" / "inferlab"), *args], capture_output=True, text=True, cwd=cwd,
                              env=env, timeout=300)

    where = subprocess.run([str(venv / "bin" / "python"), "-c", "import app, engine; print(app.__file__); print(engine.__file__)"],
                           capture_output=True, text=True, cwd=cwd, env=env, check=True).stdout.split()
    assert all(p.startswith(str(venv)) for p in where), where
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    run = inferlab("run", "cpu-smoke", "--set", "batch_size=1", "--store", url, "--json")
    assert run.returncode == 0, run.stdout + run.stderr
    html = tmp_path / "report.html"
    export = inferlab("export", "1", "-o", str(html), "--store", url)
    assert export.returncode == 0, export.stdout + export.stderr
    assert "<style>" in html.read_text() and "output_tokens_per_s" in html.read_text()
    doctor = inferlab("doctor", "--json")
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert json.loads(doctor.stdout)
