"""How a command reaches a vantage: one local argv that runs it there, with
stdin, stdout and stderr streamed.

`local` and `netns:` are prodwall's own; the remote schemes go through
pytest-testinfra's backends, which parse the host spec and build the command
(ssh options, identity, config; docker and kubectl targets), so a vantage is
written the way testinfra users already write hosts. `ansible://` asks
testinfra's Ansible runner which backend the Ansible inventory says reaches the
host (ssh, paramiko, local, docker...) and with which user, key and become, then
launches through that one.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from dataclasses import dataclass, field
from typing import Any

from ..inventory.model import Vantage
from .location import Location
from .paramiko_pipe import spec_env


class BackendUnavailable(Exception):
    """The backend cannot even be set up here (e.g. testinfra missing)."""


@dataclass(frozen=True)
class Launch:
    argv: list[str]  # run locally; it runs the remote command at the vantage
    python: str  # the interpreter named in the remote command
    env: dict[str, str] = field(default_factory=dict)  # added to the local environment


def launch(vantage: Vantage, remote: list[str]) -> Launch:
    """The local argv that runs `remote` (argv[0] = "{python}") at the vantage."""
    where = vantage.where
    if where.scheme in ("local", "netns"):
        python = sys.executable  # our own interpreter: it has what the agent needs
        wrapper = shlex.split(os.environ.get("PRODWALL_AGENT_WRAPPER", ""))
        argv = [*wrapper, *_fill(remote, python)]
        if where.scheme == "netns":
            argv = ["ip", "netns", "exec", where.target, *argv]
        return Launch(argv, python)
    python = vantage.python
    command = _fill(remote, python)
    if vantage.sudo:
        command = ["sudo", "-n", *command]
    backend = _testinfra(where, vantage)
    if where.scheme == "ansible":
        backend = _ansible_backend(backend, vantage)
        if getattr(backend, "sudo", False) and not vantage.sudo:  # Ansible's become
            user = getattr(backend, "sudo_user", None)
            command = ["sudo", "-n", *(["-u", user] if user else []), *command]
    return _through(backend, command, python, vantage)


def _through(backend: Any, command: list[str], python: str, vantage: Vantage) -> Launch:
    """The argv for one of testinfra's backends."""
    name = getattr(backend, "NAME", "")
    if name == "ssh":
        cmd, args = backend._build_ssh_command(shlex.join(command))
        return Launch(["sh", "-c", " ".join(cmd) % tuple(shlex.quote(a) for a in args)], python)
    if name == "paramiko":
        spec = _hostspec(backend)
        options = {
            "ssh_config": backend.ssh_config or vantage.ssh_config,
            "ssh_identity_file": backend.ssh_identity_file or vantage.ssh_identity_file,
        }
        return Launch(
            [sys.executable, "-m", "prodwall.vantages.paramiko_pipe"],
            python,
            spec_env(spec, shlex.join(command), options),
        )
    if name == "local":
        return Launch(command, python)
    if name == "docker":
        user = ["-u", backend.user] if getattr(backend, "user", None) else []
        return Launch(["docker", "exec", "-i", *user, backend.name, *command], python)
    if name == "kubectl":
        extra: list[str] = []
        for flag, attr in (
            ("--namespace", "namespace"),
            ("-c", "container"),
            ("--kubeconfig", "kubeconfig"),
            ("--context", "context"),
        ):
            if getattr(backend, attr, None):
                extra += [flag, str(getattr(backend, attr))]
        return Launch(["kubectl", "exec", "-i", *extra, backend.name, "--", *command], python)
    raise BackendUnavailable(
        f"testinfra's {name or type(backend).__name__} backend runs commands without a stdin "
        "stream; prodwall cannot ship its agent that way: use ssh://, paramiko://, "
        "docker:// or kubectl://"
    )


def _hostspec(backend: Any) -> str:
    """user[:password]@host[:port] as testinfra parsed it (IPv6 in brackets)."""
    host = backend.host
    name = f"[{host.name}]" if ":" in host.name else host.name
    user = host.user or ""
    if user and host.password:
        user += f":{host.password}"
    return (f"{user}@" if user else "") + name + (f":{host.port}" if host.port else "")


def _ansible_backend(backend: Any, vantage: Vantage) -> Any:
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


def _fill(remote: list[str], python: str) -> list[str]:
    return [python if part == "{python}" else part for part in remote]


def _testinfra(where: Location, vantage: Vantage) -> Any:
    try:
        from testinfra.backend import get_backend
    except ImportError as exc:  # pragma: no cover - a dependency
        raise BackendUnavailable(f"pytest-testinfra is not installed ({exc})") from None
    options: dict[str, Any] = {}
    if where.scheme in ("ssh", "paramiko"):
        options = {"ssh_identity_file": vantage.ssh_identity_file, "ssh_config": vantage.ssh_config}
    if where.scheme == "ssh":
        options["controlpersist"] = 0  # no master connection left behind after the run
    if where.scheme == "ansible" and vantage.ansible_inventory:
        options["ansible_inventory"] = vantage.ansible_inventory
    try:
        return get_backend(f"{where.scheme}://{where.target}", **options)
    except Exception as exc:
        raise BackendUnavailable(f"testinfra cannot use {where.raw}: {exc}") from None
