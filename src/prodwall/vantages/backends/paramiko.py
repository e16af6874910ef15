"""`paramiko://`: our own pipe over paramiko (testinfra's paramiko backend has no stdin
stream); the host spec and options travel in the environment, out of argv."""

from __future__ import annotations

import shlex
import sys
from typing import Any

from prodwall.inventory.model import Vantage
from prodwall.vantages.backends.base import Launch, Transport, hostspec, ssh_options, ssh_placement
from prodwall.vantages.paramiko_pipe import spec_env


class Paramiko(Transport):
    NAME = "paramiko"

    def options(self, vantage: Vantage) -> dict[str, Any]:
        return ssh_options(vantage)

    def through(self, backend: Any, command: list[str], python: str, vantage: Vantage) -> Launch:
        options = {
            "ssh_config": backend.ssh_config or vantage.ssh_config,
            "ssh_identity_file": backend.ssh_identity_file or vantage.ssh_identity_file,
        }
        return Launch(
            [sys.executable, "-m", "prodwall.vantages.paramiko_pipe"],
            python,
            spec_env(hostspec(backend), shlex.join(command), options),
        )

    def placement(self, backend: Any) -> tuple[str, dict[str, Any], list[str]]:
        return ssh_placement(self.NAME, backend)
