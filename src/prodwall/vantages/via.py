"""How a vantage is reached, enforced: `via: netns:NAME` says the vantage (an ssh host
on a management link, say) is reachable only from inside that network namespace.

A run from anywhere else would send its connections out of the host's own default
route, off the machine. So `run` goes that way itself (`ip netns exec NAME`, as root)
when it is not already inside the namespace, and refuses when it cannot."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import VantageError

NETNS_DIR = Path("/run/netns")


def _same_netns(name: str) -> bool:
    """Whether this process already lives in the named network namespace."""
    try:
        ours = os.stat("/proc/self/ns/net")
        theirs = os.stat(NETNS_DIR / name)
    except OSError:
        return False
    return (ours.st_dev, ours.st_ino) == (theirs.st_dev, theirs.st_ino)


def wrapper(vantage_name: str, via: str | None) -> tuple[str, ...]:
    """The command prefix that runs the suite where the vantage is reachable from: () when
    no way is declared or this process is already there; refused when it cannot get there."""
    if not via:
        return ()
    kind, _, name = via.partition(":")
    if kind != "netns" or not name:
        raise VantageError(f"vantage '{vantage_name}': via '{via}' is not netns:NAME")
    if _same_netns(name):
        return ()
    if not (NETNS_DIR / name).exists():
        raise VantageError(
            f"vantage '{vantage_name}' is reached only from network namespace '{name}', which "
            "does not exist here (for the built-in lab: prodwall lab up); nothing was sent"
        )
    if os.geteuid() != 0:
        raise VantageError(
            f"vantage '{vantage_name}' is reached only from network namespace '{name}': run as "
            f"root (prodwall enters it) or from inside it (ip netns exec {name} prodwall ...); "
            "nothing was sent"
        )
    return ("ip", "netns", "exec", name)
