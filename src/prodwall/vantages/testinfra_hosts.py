"""Host checks across a fleet: testinfra's `--hosts` (ssh://, paramiko://, ansible://...,
groups of an Ansible inventory expanded by testinfra) instead of one inventory vantage.

Each host testinfra hands a check becomes a vantage of its own: reached through the
same testinfra backend, placed in the environment the prodwall inventory gives its
name or address. A host the inventory does not know is not guessed at: its checks
are inconclusive until the inventory names it."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from prodwall.inventory.model import Inventory, Vantage


@dataclass(frozen=True)
class FleetHost:
    id: str  # testinfra's id: ansible://prod-db, ssh://dev-ws
    vantage: Vantage | None  # None: the inventory does not place it
    why: str  # how it was placed, or why not


def place(host: Any, inv: Inventory, sudo: bool = False) -> FleetHost:
    """The testinfra host as a vantage in its inventory environment."""
    backend = host.backend
    hid = backend.get_pytest_id()
    try:
        location, extra, names = _location(backend)
    except ValueError as exc:
        return FleetHost(hid, None, str(exc))
    env, by = _environment(inv, names)
    if not env:
        env, by = _declared(inv, location)
    if not env:
        known = ", ".join(names) or hid
        return FleetHost(
            hid,
            None,
            f"{known}: not a host, name or address of any inventory environment, nor an "
            "inventory vantage; add it to the environment it belongs to "
            "(environments.<env>.hosts)",
        )
    vantage = Vantage(location=location, environment=env, sudo=sudo, **extra)
    return FleetHost(hid, vantage, f"{hid} is in {env} ({by})")


def _location(backend: Any) -> tuple[str, dict[str, Any], list[str]]:
    from prodwall.vantages.backends import placement

    return placement(backend)


def _declared(inv: Inventory, location: str) -> tuple[str, str]:
    """The environment of the inventory vantage this host is (same transport and host):
    a management address is in no environment, but the vantage says where it stands."""
    from prodwall.vantages.via import host_key

    key = host_key(location)
    for name, vantage in inv.vantages.items():
        if key is not None and host_key(vantage.location) == key:
            return vantage.environment, f"vantage {name}"
    return "", ""


def _environment(inv: Inventory, names: list[str]) -> tuple[str, str]:
    for word in names:
        for env_name, env in inv.environments.items():
            for host_name, host in env.hosts.items():
                if word == host_name or word in {str(n) for n in host.names}:
                    return env_name, f"host {host_name}"
                if word in {str(a) for a in host.addresses}:
                    return env_name, f"address of {host_name}"
    for word in names:
        try:
            address = ipaddress.ip_address(word)
        except ValueError:
            continue
        for env_name, env in inv.environments.items():
            if any(address in net for net in env.networks):
                return env_name, f"{word} in its networks"
    return "", ""
