"""How a command reaches a vantage: one local argv that runs it there, with stdin,
stdout and stderr streamed. One transport per file, behind one registry (testinfra's
style), used alike by running the agent (`launch`) and by the fleet's placement of
testinfra's hosts (`placement`).

`local` and `netns:` are prodwall's own; the remote schemes go through pytest-testinfra's
backends, which parse the host spec and build the command (ssh options, identity,
config; docker and kubectl targets), so a vantage is written the way testinfra users
already write hosts. `ansible://` asks testinfra's Ansible runner which backend the
Ansible inventory says reaches the host, then launches through that one."""

from __future__ import annotations

from typing import Any

from prodwall.inventory.model import Vantage
from prodwall.vantages.backends.ansible import Ansible, ansible_beside_us
from prodwall.vantages.backends.base import BackendUnavailable, Launch, Transport, fill, hostspec
from prodwall.vantages.backends.docker import Docker
from prodwall.vantages.backends.kubectl import Kubectl
from prodwall.vantages.backends.local import Local
from prodwall.vantages.backends.netns import Netns
from prodwall.vantages.backends.paramiko import Paramiko
from prodwall.vantages.backends.ssh import Ssh

REGISTRY: dict[str, Transport] = {
    t.NAME: t for t in (Local(), Netns(), Ssh(), Paramiko(), Ansible(), Docker(), Kubectl())
}


def transport(name: str) -> Transport:
    found = REGISTRY.get(name)
    if found is None:
        raise BackendUnavailable(
            f"testinfra's {name} backend runs commands without a stdin stream; prodwall "
            "cannot ship its agent that way: use ssh://, paramiko://, docker:// or kubectl://"
        )
    return found


def launch(vantage: Vantage, remote: list[str]) -> Launch:
    """The local argv that runs `remote` (argv[0] = "{python}") at the vantage."""
    where = vantage.where
    return transport(where.scheme).launch(where, vantage, remote)


def placement(backend: Any) -> tuple[str, dict[str, Any], list[str]]:
    """A testinfra host as a vantage location, its backend options and its names."""
    name = getattr(backend, "NAME", "")
    found = REGISTRY.get(name)
    if found is None or not found.places:
        kind = name or type(backend).__name__
        raise ValueError(f"testinfra's {kind} backend cannot carry checks")
    return found.placement(backend)


__all__ = [
    "REGISTRY",
    "BackendUnavailable",
    "Launch",
    "Transport",
    "ansible_beside_us",
    "fill",
    "hostspec",
    "launch",
    "placement",
    "transport",
]
