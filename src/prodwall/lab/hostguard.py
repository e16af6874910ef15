"""While the lab is up, nothing aimed at its addresses can leave the machine."""

from __future__ import annotations

import subprocess

# The lab's address space, made unreachable in the host's own namespace while the lab is
# up: a command run from the host (not inside pwlab-runner) that aims at a lab address
# fails at once instead of following the host's default route off the machine.
HOST_GUARD = ("198.18.0.0/15", "fd00:18::/32", "fd00:19::/32")
GUARD_PROTO = "99"  # marks the routes as the lab's, so down removes only its own


def guard_host_routes() -> None:
    for prefix in HOST_GUARD:
        subprocess.run(["ip", "route", "replace", "unreachable", prefix, "proto", GUARD_PROTO],
                       check=True, capture_output=True)  # fmt: skip


def unguard_host_routes() -> list[str]:
    removed = []
    for prefix in HOST_GUARD:
        done = subprocess.run(["ip", "route", "del", "unreachable", prefix, "proto", GUARD_PROTO],
                              capture_output=True)  # fmt: skip
        if done.returncode == 0:
            removed.append(f"host route unreachable {prefix}")
    return removed
