"""The CLI's exit codes: the one table that every subcommand returns from, `--help` prints and the
README quotes (a test checks the README against it)."""

from __future__ import annotations

import enum


class Exit(enum.IntEnum):
    OK = 0
    TRIALS_FAILED = 1
    USAGE = 2
    STORE_OR_IO = 3
    INTERRUPTED = 130


MEANINGS = {
    Exit.OK: "ok",
    Exit.TRIALS_FAILED: "some trials failed (doctor: a check failed)",
    Exit.USAGE: "usage, profile or input error (refused before anything ran or was written)",
    Exit.STORE_OR_IO: "store or file I/O error (the store cannot be opened, a file cannot be read or written)",
    Exit.INTERRUPTED: "interrupted (Ctrl-C)",
}


def epilog() -> str:
    """The table as `--help` prints it."""
    return "exit codes:\n" + "\n".join(f"  {code.value:<4} {MEANINGS[code]}" for code in Exit)
