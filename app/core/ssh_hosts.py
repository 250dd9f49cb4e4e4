"""The SSH hosts a user can pick: the `Host` names of their ssh client config, parsed simply.

Only `Host` lines are read, and only names without wildcards (`*`, `?`) or negation (`!`): those are
patterns, not machines. `Include`d files and `Match` blocks are not followed; ssh itself still applies
everything when it connects. INFERLAB_SSH_CONFIG names another config file for the GUI and CLI
(passed to ssh as `-F`, as `--ssh-config` is).
"""

from __future__ import annotations

import os
from pathlib import Path

SSH_CONFIG_ENV = "INFERLAB_SSH_CONFIG"


def configured_ssh_config() -> Path | None:
    """The config file INFERLAB_SSH_CONFIG names (None: ssh's own default)."""
    value = os.environ.get(SSH_CONFIG_ENV)
    return Path(value) if value else None


def default_ssh_config() -> Path:
    return configured_ssh_config() or Path.home() / ".ssh" / "config"


def ssh_config_hosts(path: Path | None = None) -> list[str]:
    """The concrete host names of `path` (default ~/.ssh/config), in file order; [] if it is absent."""
    path = path or default_ssh_config()
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    hosts: list[str] = []
    for line in text.splitlines():
        words = line.split("#", 1)[0].replace("=", " ").split()
        if len(words) < 2 or words[0].lower() != "host":
            continue
        hosts += [w for w in words[1:] if not any(c in w for c in "*?!") and w not in hosts]
    return hosts
