"""`python -m csvflow`, the same as the `csvflow` command."""

import sys

from csvflow.cli import main

sys.exit(main())
