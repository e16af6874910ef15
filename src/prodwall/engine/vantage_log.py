"""Progress at the vantage: lines on stderr, which the runner streams as they come."""

from __future__ import annotations

import sys
import time


def say(message: str) -> None:
    print(f"  [{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)
