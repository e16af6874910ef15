"""How a command reaches a vantage: one local argv that runs it there, with
stdin, stdout and stderr streamed.

`local` and `netns:` are prodwall's own; the remote schemes go through
pytest-testinfra's backends, which parse the host spec and build the command
(ssh options, identity, config; docker and kubectl targets), so a vantage is
written the way testinfra users already write hosts.
"""

from __future__ import annotations

import os
import shlex
import sys
from dataclasses import dataclass
from typing import Any

from ..inventory.model import Vantage
from .location import Location


class BackendUnavailable(Exception):
    """The backend cannot even be set up here (e.g. testinfra missing)."""


@dataclass(frozen=True)
class Launch:
    argv: list[str]  # run locally; it runs the remote command at the vantage
    python: str  # the interpreter named in the remote command


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
    if where.scheme == "ssh":
        cmd, args = backend._build_ssh_command(shlex.join(command))
        return Launch(["sh", "-c", " ".join(cmd) % tuple(shlex.quote(a) for a in args)], python)
    if where.scheme == "docker":
        user = ["-u", backend.user] if getattr(backend, "user", None) else []
        return Launch(["docker", "exec", "-i", *user, backend.name, *command], python)
    if where.scheme == "kubectl":
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
        f"{where.scheme}:// vantages run commands through testinfra without a stdin stream; "
        "prodwall cannot ship its agent that way yet: use ssh://, docker:// or kubectl://"
    )


def _fill(remote: list[str], python: str) -> list[str]:
    return [python if part == "{python}" else part for part in remote]


def _testinfra(where: Location, vantage: Vantage) -> Any:
    try:
        from testinfra.backend import get_backend
    except ImportError as exc:  # pragma: no cover - a dependency
        raise BackendUnavailable(f"pytest-testinfra is not installed ({exc})") from None
    options: dict[str, Any] = {}
    if where.scheme == "ssh":
        options = {
            "ssh_identity_file": vantage.ssh_identity_file,
            "ssh_config": vantage.ssh_config,
            "controlpersist": 0,  # no master connection left behind after the run
        }
    try:
        return get_backend(f"{where.scheme}://{where.target}", **options)
    except Exception as exc:
        raise BackendUnavailable(f"testinfra cannot use {where.raw}: {exc}") from None
