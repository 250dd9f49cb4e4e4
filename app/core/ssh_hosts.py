"""The SSH hosts a user can pick: the `Host` names of their ssh client config, parsed simply.

Only `Host` lines are read, and only names without wildcards (`*`, `?`) or negation (`!`): those are
patterns, not machines. `Include`d files and `Match` blocks are not followed; ssh itself still applies
everything when it connects.
"""

from __future__ import annotations

from pathlib import Path


def default_ssh_config() -> Path:
    return Path.home() / ".ssh" / "config"


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
