"""The `inferlab` console script: the composition root that routes to the GUI or the headless CLI.

`inferlab gui` (and `inferlab` with no arguments) starts the desktop app; every other subcommand goes
to the headless CLI, which never imports Qt.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """Run InferLab; returns the process exit code."""
    args = sys.argv[1:] if argv is None else list(argv)
    if not args or args[0] == "gui":
        from app.ui.main import main as gui_main

        return gui_main(args[1:])
    from app.cli.main import main as cli_main

    return cli_main(args)


def console() -> int:
    """The console script's entry: the headless commands log to a file in the data dir (the tracebacks of
    what they catch go there, not to stderr); the GUI sets up its own log."""
    if sys.argv[1:2] not in ([], ["gui"]):
        from app.logs import log_path, setup_logging

        setup_logging(log_path("cli"))
    return main()


if __name__ == "__main__":
    sys.exit(console())
