"""`python -m prodwall.cli`."""

import sys

from . import main

sys.exit(main())
