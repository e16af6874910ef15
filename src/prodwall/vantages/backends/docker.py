"""`docker://NAME`: `docker exec -i` into the container."""

from __future__ import annotations

from typing import Any

from prodwall.inventory.model import Vantage
from prodwall.vantages.backends.base import Launch, Transport


class Docker(Transport):
    NAME = "docker"

    def through(self, backend: Any, command: list[str], python: str, vantage: Vantage) -> Launch:
        user = ["-u", backend.user] if getattr(backend, "user", None) else []
        return Launch(["docker", "exec", "-i", *user, backend.name, *command], python)
