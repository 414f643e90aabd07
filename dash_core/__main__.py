"""``python -m dash_core``: the command-line interface (see :mod:`dash_core.cli`)."""

import sys

from dash_core.cli import main

if __name__ == "__main__":
    sys.exit(main())
