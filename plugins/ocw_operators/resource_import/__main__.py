"""``python -m ocw_operators.resource_import --help``."""

import sys

from ocw_operators.resource_import.cli import main

sys.exit(main())
