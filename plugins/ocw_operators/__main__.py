"""``python -m ocw_operators --help``: the project's command line (see :mod:`ocw_operators.cli`)."""

import sys

from ocw_operators.cli import main

if __name__ == "__main__":
    sys.exit(main())
