"""How a vantage is reached, enforced: `via: netns:NAME` says the vantage (an ssh host
on a management link, say) is reachable only from inside that network namespace.

A run from anywhere else would send its connections out of the host's own default
route, off the machine. So `run`, `hosts` and `fleet` go that way themselves (`ip netns
exec NAME`, as root) when not already inside the namespace, and refuse when they cannot."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from prodwall.errors import VantageError

if TYPE_CHECKING:
    from prodwall.inventory.model import Vantage

NETNS_DIR = Path("/run/netns")


def _same_netns(name: str) -> bool:
    """Whether this process already lives in the named network namespace."""
    try:
        ours = os.stat("/proc/self/ns/net")
        theirs = os.stat(NETNS_DIR / name)
    except OSError:
        return False
    return (ours.st_dev, ours.st_ino) == (theirs.st_dev, theirs.st_ino)


def wrapper(what: str, via: str | None) -> tuple[str, ...]:
    """The command prefix that runs the suite where the vantage is reachable from: () when
    no way is declared or this process is already there; refused when it cannot get there."""
    if not via:
        return ()
    kind, _, name = via.partition(":")
    if kind != "netns" or not name:
        raise VantageError(f"{what}: via '{via}' is not netns:NAME")
    if _same_netns(name):
        return ()
    if not (NETNS_DIR / name).exists():
        raise VantageError(
            f"{what}: reached only from network namespace '{name}', which "
            "does not exist here (for the built-in lab: prodwall lab up); nothing was sent"
        )
    if os.geteuid() != 0:
        raise VantageError(
            f"{what}: reached only from network namespace '{name}': run as "
            f"root (prodwall enters it) or from inside it (ip netns exec {name} prodwall ...); "
            "nothing was sent"
        )
    return ("ip", "netns", "exec", name)


def for_run(vantage_name: str, location: str, via: str | None) -> tuple[str, ...]:
    """`run`'s way to a vantage. A `local` vantage is the machine the run is on (a fleet
    host running its own suite): its `via` says how `prodwall fleet` reaches it, not where
    this run goes."""
    return () if location == "local" else wrapper(f"vantage '{vantage_name}'", via)


def host_key(spec: str) -> tuple[str, str] | None:
    """(transport, host) as testinfra parses a host spec: ssh and paramiko are one way."""
    from testinfra.backend import parse_hostspec
    from testinfra.backend.base import BaseBackend

    if "://" not in spec:
        return None
    netloc, kw = parse_hostspec(spec)
    transport = {"paramiko": "ssh"}.get(kw.get("connection", ""), kw.get("connection", ""))
    name = BaseBackend.parse_hostspec(netloc).name if transport == "ssh" else netloc
    return (transport, name.lower()) if name else None


def for_hosts(vantages: Mapping[str, Vantage], hosts: str, given: str | None) -> str | None:
    """`hosts`' way to testinfra's hosts: --via when given, else the `via` of each inventory
    vantage that is one of those hosts (same transport and host, or an ansible:// name that
    is a vantage's name). Hosts declared to be reached two different ways in one run are
    refused: one run goes one way."""
    if given:
        return given
    ways: dict[str, list[str]] = {}
    for spec in filter(None, (s.strip() for s in hosts.split(","))):
        key = host_key(spec)
        for name, vantage in vantages.items():
            same = key is not None and key == host_key(vantage.location)
            named = key is not None and key == ("ansible", name.lower())
            if (same or named) and vantage.via:
                ways.setdefault(vantage.via, []).append(f"{spec} (vantage {name})")
    if len(ways) > 1:
        raise VantageError(
            "these hosts are reached different ways: "
            + "; ".join(f"{way}: {', '.join(specs)}" for way, specs in sorted(ways.items()))
            + ". Check each group in a run of its own; nothing was sent"
        )
    return next(iter(ways), None)


def for_fleet(vantages: Mapping[str, Vantage], names: Iterable[str]) -> str | None:
    """`fleet`'s way to its hosts: the `via` its mapped vantages declare, one for all."""
    ways: dict[str, list[str]] = {}
    for name in names:
        ways.setdefault(vantages[name].via or "(none)", []).append(name)
    if len(ways) > 1:
        raise VantageError(
            "the fleet's vantages declare different ways to their hosts: "
            + "; ".join(f"via {way}: {', '.join(sorted(n))}" for way, n in sorted(ways.items()))
            + ". Run each group with its own --limit; nothing was sent"
        )
    way = next(iter(ways), "(none)")
    return None if way == "(none)" else way
