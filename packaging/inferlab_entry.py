"""Entry point of the frozen app: the same composition root as the `inferlab` console script."""

import sys

from app.main import console

if __name__ == "__main__":
    sys.exit(console())
