"""`python -m engine`: the InferLab inference worker (see engine.worker and engine.protocol)."""

import sys

from engine.worker import main

if __name__ == "__main__":
    sys.exit(main())
