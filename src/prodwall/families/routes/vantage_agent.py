"""Route lookups and the vantage's own addresses, read *at* the vantage.

`ip -j route get` asks the vantage's kernel (netlink underneath), which tells
blackhole, unreachable, prohibit and missing routes apart. A lookup sends no
packet. Standard library only: this runs inside the shipped agent file.
"""

from __future__ import annotations

import subprocess
from typing import Any

from prodwall.families.routes.records import IpOutput, RouteJob, RouteResult

TIMEOUT_S = 10.0


def _ip(*args: str) -> IpOutput:
    cmd = ["ip", "-j", *args]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return IpOutput(command=" ".join(cmd), error=exc.__class__.__name__)
    return IpOutput(
        command=" ".join(cmd),
        returncode=done.returncode,
        stdout=done.stdout,
        stderr=done.stderr.strip(),
    )


def lookups(job: RouteJob) -> RouteResult:
    return RouteResult(
        lookups=tuple(_ip("route", "get", a) for a in job.lookups),
        addresses=_ip("addr", "show") if job.addresses else None,
    )


def run(job: dict[str, Any]) -> dict[str, Any]:
    return lookups(RouteJob.from_json(job)).to_json()
