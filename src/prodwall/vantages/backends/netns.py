"""`netns:NAME`: prodwall's own backend, our interpreter inside a network namespace."""

from __future__ import annotations

from ...inventory.model import Vantage
from ..location import Location
from .base import Launch
from .local import Local


class Netns(Local):
    NAME = "netns"
    places = False  # testinfra has no such host

    def launch(self, where: Location, vantage: Vantage, remote: list[str]) -> Launch:
        inner = super().launch(where, vantage, remote)
        return Launch(["ip", "netns", "exec", where.target, *inner.argv], inner.python)
