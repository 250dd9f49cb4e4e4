"""The API key for a server: from the environment variable the trial names, else the OS keyring.

The key is only ever put in the request's Authorization header; it is never returned in results,
configs, notes or logs.
"""

from __future__ import annotations

import importlib.util
import os

KEYRING_SERVICE = "inferlab"


def api_key(env_var: str, base_url: str) -> str | None:
    """The key from `env_var`, else the keyring entry (service 'inferlab', user `base_url`), else None."""
    value = os.environ.get(env_var) if env_var else None
    if value:
        return value
    if importlib.util.find_spec("keyring") is None:
        return None
    import keyring
    from keyring.errors import KeyringError

    try:
        return keyring.get_password(KEYRING_SERVICE, base_url) or None
    except KeyringError:  # no usable backend (headless machine): behave as if no key is stored
        return None


def key_source(env_var: str, base_url: str) -> str:
    """Where the key came from, for the notes (never the key itself)."""
    if env_var and os.environ.get(env_var):
        return f"API key from the environment variable {env_var}"
    if api_key("", base_url):
        return f"API key from the OS keyring entry {KEYRING_SERVICE}/{base_url}"
    return "no API key sent"
