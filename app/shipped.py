"""Where the shipped `assets/` and `profiles/` folders are, from a checkout or an installed wheel.

The wheel carries them inside the `app` package as `app/_shipped/<name>` (mapped in setup.py); a source
checkout has them at its root, next to `app/`.
"""

from __future__ import annotations

from pathlib import Path

_APP = Path(__file__).resolve().parent


def shipped_dir(name: str) -> Path:
    """The shipped folder `name` ("assets" or "profiles"): the installed copy if present, else the checkout's."""
    installed = _APP / "_shipped" / name
    return installed if installed.is_dir() else _APP.parent / name
