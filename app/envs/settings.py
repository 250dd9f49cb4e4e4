"""The user's environment choices, in `environments.json` in the data dir (shared by the GUI and CLI).

`engine_python` is the interpreter that hosts the engine worker (None: not chosen yet, use the default);
`extra_pythons` are interpreters the user added by hand (discovery probes them too); `host_pythons`
the engine Python to run on each SSH host (by host name as ssh knows it; default python3). Paths only:
no secret is ever stored here.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from pathlib import Path

from engine.paths import data_dir

FILE_NAME = "environments.json"
ENGINE_PYTHON_ENV = "INFERLAB_ENGINE_PYTHON"  # overrides the saved choice, as INFERLAB_STORE_URL does the store
DEFAULT_REMOTE_PYTHON = "python3"


@dataclasses.dataclass
class EnvSettings:
    engine_python: str | None = None
    extra_pythons: list[str] = dataclasses.field(default_factory=list)
    host_pythons: dict[str, str] = dataclasses.field(default_factory=dict)


def settings_path() -> Path:
    return data_dir() / FILE_NAME


def load_settings() -> EnvSettings:
    """The saved choices; a missing file means defaults. A corrupt file is an error naming the file."""
    path = settings_path()
    if not path.exists():
        return EnvSettings()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return EnvSettings(engine_python=raw.get("engine_python"),
                           extra_pythons=[str(p) for p in raw.get("extra_pythons", [])],
                           host_pythons={str(h): str(p) for h, p in raw.get("host_pythons", {}).items()})
    except (ValueError, AttributeError, TypeError) as exc:
        raise ValueError(f"{path}: not a valid environments file ({exc}); fix or delete it") from exc


def save_settings(settings: EnvSettings) -> None:
    """Write atomically (temp file + rename) so a crash never leaves half a file."""
    path = settings_path()
    staging = path.with_suffix(".tmp")
    staging.write_text(json.dumps(dataclasses.asdict(settings), indent=2) + "\n", encoding="utf-8")
    staging.replace(path)


def engine_python() -> str | None:
    """The interpreter to host the engine: INFERLAB_ENGINE_PYTHON, else the user's saved choice, else this
    interpreter when it is a real Python (a source checkout); None in a frozen bundle before the first run
    has chosen one."""
    chosen = os.environ.get(ENGINE_PYTHON_ENV) or load_settings().engine_python
    if chosen:
        return chosen
    return None if getattr(sys, "frozen", False) else sys.executable


def host_python(host: str) -> str:
    """The engine Python saved for SSH `host`, else python3 (found on the host's PATH)."""
    return load_settings().host_pythons.get(host) or DEFAULT_REMOTE_PYTHON


def save_host_python(host: str, python: str) -> None:
    """Remember `python` as the engine Python on `host` (an empty one forgets it: python3 again)."""
    settings = load_settings()
    pythons = {h: p for h, p in settings.host_pythons.items() if h != host}
    if python.strip():
        pythons[host] = python.strip()
    save_settings(dataclasses.replace(settings, host_pythons=pythons))
