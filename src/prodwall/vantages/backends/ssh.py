"""`ssh://`: testinfra's ssh backend builds the ssh command line (options, identity,
config); no master connection is left behind after the run."""

from __future__ import annotations

import shlex
from typing import Any

from prodwall.inventory.model import Vantage
from prodwall.vantages.backends.base import Launch, Transport, quoted, ssh_options, ssh_placement


class Ssh(Transport):
    NAME = "ssh"

    def options(self, vantage: Vantage) -> dict[str, Any]:
        return {**ssh_options(vantage), "controlpersist": 0}

    def through(self, backend: Any, command: list[str], python: str, vantage: Vantage) -> Launch:
        cmd, args = backend._build_ssh_command(shlex.join(command))
        return Launch(["sh", "-c", quoted(cmd, args)], python)

    def placement(self, backend: Any) -> tuple[str, dict[str, Any], list[str]]:
        return ssh_placement(self.NAME, backend)
