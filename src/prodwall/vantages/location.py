"""The one parser of vantage locations.

`local`, `netns:NAME` (prodwall's own backend), and the pytest-testinfra host
specs prodwall reaches vantages through: `ssh://[user@]host[:port]`,
`paramiko://...`, `ansible://host-or-group`, `docker://container`,
`kubectl://pod[?namespace=NS&container=C]`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Scheme = Literal["local", "netns", "ssh", "paramiko", "ansible", "docker", "kubectl"]
TESTINFRA_SCHEMES: tuple[Scheme, ...] = ("ssh", "paramiko", "ansible", "docker", "kubectl")
EXAMPLES = (
    "local, netns:NAME, ssh://user@host[:port], ansible://group, docker://NAME, kubectl://POD"
)

_NETNS = re.compile(r"^netns:([A-Za-z0-9_.-]{1,64})$")
_HOSTSPEC = re.compile(
    r"^(ssh|paramiko|ansible|docker|kubectl)://"
    r"((?:[A-Za-z0-9_.-]+@)?(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+)(?::\d{1,5})?)"
    r"(\?[A-Za-z0-9_.=&/-]*)?$"
)


@dataclass(frozen=True)
class Location:
    scheme: Scheme
    target: str  # the namespace, or the host spec after scheme://
    raw: str

    @property
    def is_remote(self) -> bool:
        return self.scheme in TESTINFRA_SCHEMES


def parse(text: str) -> Location:
    """A Location, or ValueError saying what a location looks like."""
    if text == "local":
        return Location("local", "", text)
    match = _NETNS.match(text)
    if match:
        return Location("netns", match.group(1), text)
    match = _HOSTSPEC.match(text)
    if match:
        scheme: Scheme = match.group(1)  # type: ignore[assignment]
        port = re.search(r":(\d+)$", match.group(2))
        if port and not 0 < int(port.group(1)) < 65536:
            raise ValueError(f"port {port.group(1)} of '{text}' is not a TCP port")
        return Location(scheme, match.group(2) + (match.group(3) or ""), text)
    raise ValueError(f"'{text}' is not a vantage location ({EXAMPLES})")
