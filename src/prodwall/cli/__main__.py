"""`python -m prodwall.cli`."""

import sys

from prodwall.cli import main

sys.exit(main())
