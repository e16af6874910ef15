"""`netns:NAME`: prodwall's own backend, our interpreter inside a network namespace."""

from __future__ import annotations

from prodwall.inventory.model import Vantage
from prodwall.vantages.backends.base import Launch
from prodwall.vantages.backends.local import Local
from prodwall.vantages.location import Location


class Netns(Local):
    NAME = "netns"
    places = False  # testinfra has no such host

    def launch(self, where: Location, vantage: Vantage, remote: list[str]) -> Launch:
        inner = super().launch(where, vantage, remote)
        return Launch(["ip", "netns", "exec", where.target, *inner.argv], inner.python)
