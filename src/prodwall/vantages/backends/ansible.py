"""`ansible://HOST`: testinfra's Ansible runner says which backend the Ansible inventory
reaches the host through (ssh, paramiko, local, docker...), with which user, key and
become; the command then goes through that transport."""

from __future__ import annotations

import os
import shutil
import sys
from typing import Any

from prodwall.inventory.model import Vantage
from prodwall.vantages.backends.base import BackendUnavailable, Launch, Transport, remote_command
from prodwall.vantages.location import Location


class Ansible(Transport):
    NAME = "ansible"

    def options(self, vantage: Vantage) -> dict[str, Any]:
        return {"ansible_inventory": vantage.ansible_inventory} if vantage.ansible_inventory else {}

    def launch(self, where: Location, vantage: Vantage, remote: list[str]) -> Launch:
        from prodwall.vantages.backends import (
            transport,  # the registry: the transport Ansible picks
        )

        command = remote_command(vantage, remote)
        backend = _host_backend(self.backend(where, vantage), vantage)
        if getattr(backend, "sudo", False) and not vantage.sudo:  # Ansible's become
            user = getattr(backend, "sudo_user", None)
            command = ["sudo", "-n", *(["-u", user] if user else []), *command]
        chosen = transport(getattr(backend, "NAME", ""))
        return chosen.through(backend, command, vantage.python, vantage)

    def placement(self, backend: Any) -> tuple[str, dict[str, Any], list[str]]:
        names = [str(backend.host)]
        try:
            values = backend.ansible_runner.get_variables(backend.host)
            names += [str(values[k]) for k in ("ansible_host", "inventory_hostname") if k in values]
        except Exception as exc:  # ansible-inventory failing: the name alone then
            names.append(f"(ansible variables unread: {type(exc).__name__})")
        extra = {"ansible_inventory": getattr(backend, "ansible_inventory", None)}
        return f"ansible://{backend.host}", extra, list(dict.fromkeys(names))


def _host_backend(backend: Any, vantage: Vantage) -> Any:
    """The backend testinfra's Ansible runner picks for the host from its inventory."""
    ansible_beside_us()
    runner = backend.ansible_runner
    try:
        hosts = runner.get_hosts(backend.host)
        if len(hosts) != 1:
            raise BackendUnavailable(
                f"{vantage.location}: the Ansible inventory gives {len(hosts)} hosts for "
                f"'{backend.host}'; a vantage is one host (name it, not a group)"
            )
        host = runner.get_host(
            hosts[0], ssh_config=vantage.ssh_config, ssh_identity_file=vantage.ssh_identity_file
        )
    except BackendUnavailable:
        raise
    except Exception as exc:  # ansible-inventory missing or failing: its own words
        raise BackendUnavailable(f"{vantage.location}: Ansible: {exc}") from None
    if host is None:
        connection = runner.get_variables(hosts[0]).get("ansible_connection", "ssh")
        raise BackendUnavailable(
            f"{vantage.location}: Ansible connection '{connection}' has no testinfra backend "
            "that can stream the agent (use ssh, paramiko_ssh, local or docker)"
        )
    return host.backend


def ansible_beside_us() -> None:
    """testinfra runs `ansible-inventory` from PATH: where it is not there but installed
    beside this interpreter (a virtualenv not activated), that one is used."""
    here = os.path.dirname(sys.executable)
    if shutil.which("ansible-inventory") is None and os.path.exists(
        os.path.join(here, "ansible-inventory")
    ):
        os.environ["PATH"] = here + os.pathsep + os.environ.get("PATH", "")
