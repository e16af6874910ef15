"""What every transport is: how it launches a command at a vantage, and (for testinfra's
backends) how a testinfra host becomes a vantage location."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import Any

from prodwall.inventory.model import Vantage
from prodwall.vantages.location import Location


class BackendUnavailable(Exception):
    """The backend cannot even be set up here (e.g. testinfra missing)."""


@dataclass(frozen=True)
class Launch:
    argv: list[str]  # run locally; it runs the remote command at the vantage
    python: str  # the interpreter named in the remote command
    env: dict[str, str] = field(default_factory=dict)  # added to the local environment


def fill(remote: list[str], python: str) -> list[str]:
    return [python if part == "{python}" else part for part in remote]


def remote_command(vantage: Vantage, remote: list[str]) -> list[str]:
    """The command run at a remote vantage: its own interpreter, under `sudo -n` if asked."""
    command = fill(remote, vantage.python)
    return ["sudo", "-n", *command] if vantage.sudo else command


def hostspec(backend: Any) -> str:
    """user[:password]@host[:port] as testinfra parsed it (IPv6 in brackets)."""
    host = backend.host
    name = f"[{host.name}]" if ":" in host.name else host.name
    user = host.user or ""
    if user and host.password:
        user += f":{host.password}"
    return (f"{user}@" if user else "") + name + (f":{host.port}" if host.port else "")


class Transport:
    """A way to a vantage. Remote ones build testinfra's backend from the location and
    turn its command into a local argv (`through`)."""

    NAME = ""
    places = True  # a testinfra host of this kind can be a fleet vantage

    def launch(self, where: Location, vantage: Vantage, remote: list[str]) -> Launch:
        command = remote_command(vantage, remote)
        return self.through(self.backend(where, vantage), command, vantage.python, vantage)

    def options(self, vantage: Vantage) -> dict[str, Any]:
        """testinfra's options for this kind of host, from the vantage."""
        return {}

    def backend(self, where: Location, vantage: Vantage) -> Any:
        try:
            from testinfra.backend import get_backend
        except ImportError as exc:  # pragma: no cover - a dependency
            raise BackendUnavailable(f"pytest-testinfra is not installed ({exc})") from None
        try:
            return get_backend(f"{where.scheme}://{where.target}", **self.options(vantage))
        except Exception as exc:
            raise BackendUnavailable(f"testinfra cannot use {where.raw}: {exc}") from None

    def through(self, backend: Any, command: list[str], python: str, vantage: Vantage) -> Launch:
        raise NotImplementedError

    def placement(self, backend: Any) -> tuple[str, dict[str, Any], list[str]]:
        """(location, vantage options, names the inventory may know it by)."""
        return f"{self.NAME}://{backend.name}", {}, [str(backend.name)]


def ssh_options(vantage: Vantage) -> dict[str, Any]:
    return {"ssh_identity_file": vantage.ssh_identity_file, "ssh_config": vantage.ssh_config}


def ssh_placement(name: str, backend: Any) -> tuple[str, dict[str, Any], list[str]]:
    extra = {
        "ssh_config": getattr(backend, "ssh_config", None),
        "ssh_identity_file": getattr(backend, "ssh_identity_file", None),
    }
    return f"{name}://{hostspec(backend)}", extra, [backend.host.name]


def quoted(cmd: list[str], args: list[str]) -> str:
    return " ".join(cmd) % tuple(shlex.quote(a) for a in args)
