"""Find Python interpreters that might host the engine: this one, the project's .venv, the active venv,
the user's configured ones, conda envs, pyenv versions and the pythons on $PATH.

Only file-system look-ups here; `discover_environments` then probes each candidate (in parallel, each in
its own subprocess with a timeout) and drops duplicates (same prefix and version).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from app.envs.probe import EnvReport, run_probe
from app.envs.settings import load_settings

_PATH_PYTHON = re.compile(r"^python3(\.\d+)?$")
CONDA_ROOTS = ("miniconda3", "anaconda3", "miniforge3", "mambaforge", "micromamba")


def env_python(prefix: Path) -> Path:
    """The interpreter of a venv/conda prefix (bin/python on POSIX, python.exe on Windows)."""
    return prefix / "python.exe" if os.name == "nt" else prefix / "bin" / "python"


def project_root() -> Path | None:
    """The source checkout this app runs from (None in a frozen bundle)."""
    if getattr(sys, "frozen", False):
        return None
    return Path(__file__).resolve().parents[2]


def candidates() -> Iterator[tuple[str, str]]:
    """(python path, source label) pairs, most relevant first; may contain duplicates and non-files."""
    if not getattr(sys, "frozen", False):  # in a bundle sys.executable is the app, not a Python
        yield sys.executable, "current interpreter"
    root = project_root()
    if root is not None:
        yield str(env_python(root / ".venv")), "project .venv"
    if os.environ.get("VIRTUAL_ENV"):
        yield str(env_python(Path(os.environ["VIRTUAL_ENV"]))), "active venv"
    settings = load_settings()
    for python in [settings.engine_python or "", *settings.extra_pythons]:
        if python:
            yield python, "configured"
    yield from ((str(p), "conda") for p in _conda_pythons())
    yield from ((str(p), "pyenv") for p in _pyenv_pythons())
    yield from ((str(p), "PATH") for p in _path_pythons())


def _conda_pythons() -> Iterator[Path]:
    prefixes: list[Path] = []
    if os.environ.get("CONDA_PREFIX"):
        prefixes.append(Path(os.environ["CONDA_PREFIX"]))
    listing = Path.home() / ".conda" / "environments.txt"
    if listing.exists():
        prefixes += [Path(line.strip()) for line in listing.read_text().splitlines() if line.strip()]
    for root in [Path.home() / name for name in CONDA_ROOTS] + [Path("/opt/conda")]:
        prefixes.append(root)
        prefixes += sorted((root / "envs").glob("*"))
    yield from (env_python(p) for p in prefixes if env_python(p).exists())


def _pyenv_pythons() -> Iterator[Path]:
    root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    for version in sorted((root / "versions").glob("*")):
        python = env_python(version)
        if python.exists():
            yield python


def _path_pythons() -> Iterator[Path]:
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        if not folder or folder.rstrip("/").endswith(os.path.join(".pyenv", "shims")):
            continue  # pyenv shims only re-dispatch to the versions listed above
        try:
            names = sorted(os.listdir(folder))
        except OSError:
            continue
        yield from (Path(folder) / n for n in names if _PATH_PYTHON.match(n) and os.access(Path(folder) / n, os.X_OK))


def unique_candidates(pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Drop repeats of the same file (python and python3 in one folder are one interpreter)."""
    index: dict[tuple[str, str], int] = {}
    out: list[tuple[str, str]] = []
    for python, source in pairs:
        path = os.path.abspath(os.path.expanduser(python))
        key = (os.path.dirname(path), os.path.realpath(path))
        if key not in index:
            index[key] = len(out)
            out.append((path, source))
        elif source not in out[index[key]][1]:  # keep every label: "current interpreter, project .venv"
            first_path, first_source = out[index[key]]
            out[index[key]] = (first_path, f"{first_source}, {source}")
    return out


def discover_environments(*, cuda: bool = False, timeout_s: float = 20.0,
                          extra: Iterable[str] = ()) -> list[EnvReport]:
    """Probe every candidate (and `extra` paths); one report per distinct environment, in order.

    Candidates that are missing files are skipped unless the user configured them (then the report
    says what is wrong)."""
    pairs = unique_candidates([*((p, "configured") for p in extra), *candidates()])
    pairs = [(p, s) for p, s in pairs if s == "configured" or os.path.isfile(p)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        reports = list(pool.map(lambda pair: run_probe(pair[0], source=pair[1], cuda=cuda,
                                                       timeout_s=timeout_s), pairs))
    seen: set[tuple[str, str]] = set()
    unique = []
    for report in reports:
        key = (report.prefix, report.version) if report.ok else (report.python, "")
        if key not in seen:
            seen.add(key)
            unique.append(report)
    return unique
