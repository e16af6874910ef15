"""`local`: the vantage is this machine; our own interpreter runs the agent."""

from __future__ import annotations

import os
import shlex
import socket
import sys
from typing import Any

from prodwall.inventory.model import Vantage
from prodwall.vantages.backends.base import Launch, Transport, fill
from prodwall.vantages.location import Location


class Local(Transport):
    NAME = "local"

    def launch(self, where: Location, vantage: Vantage, remote: list[str]) -> Launch:
        python = sys.executable  # our own interpreter: it has what the agent needs
        wrapper = shlex.split(os.environ.get("PRODWALL_AGENT_WRAPPER", ""))
        return Launch([*wrapper, *fill(remote, python)], python)

    def through(self, backend: Any, command: list[str], python: str, vantage: Vantage) -> Launch:
        return Launch(command, python)  # Ansible's `local` connection

    def placement(self, backend: Any) -> tuple[str, dict[str, Any], list[str]]:
        return "local", {}, [socket.gethostname(), socket.getfqdn()]
