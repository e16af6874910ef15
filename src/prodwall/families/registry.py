"""The registry of probe families: every object registered under the
`prodwall.families` entry point group (prodwall's own are registered the same
way, in pyproject.toml). The core loops over this registry and names no family.
"""

from __future__ import annotations

import functools
from importlib.metadata import entry_points

from prodwall.errors import ProdwallError
from prodwall.families.base import CONTRACT, Family, FamilyDefaults, RunContext

GROUP = "prodwall.families"


class FamilyError(ProdwallError):
    """A registered family is broken: it cannot be loaded or clashes with another."""


@functools.cache
def registry() -> dict[str, Family]:
    """name -> family, loaded once; two families may not claim the same kind."""
    found: dict[str, Family] = {}
    owner: dict[str, str] = {}
    for ep in sorted(entry_points(group=GROUP), key=lambda e: e.name):
        try:
            family = ep.load()
        except Exception as exc:
            raise FamilyError(
                f"probe family '{ep.name}' ({ep.value}) cannot be loaded: {exc}"
            ) from None
        missing = [a for a in CONTRACT if not hasattr(family, a)]
        if missing:
            raise FamilyError(
                f"probe family '{ep.name}' ({ep.value}) has no {', '.join(missing)}: see "
                "prodwall.families.base.Family (inherit FamilyDefaults for the optional ones)"
            )
        for kind in family.kinds:
            if kind in owner:
                raise FamilyError(
                    f"probe kind '{kind}' is claimed by families '{owner[kind]}' and "
                    f"'{family.name}'"
                )
            owner[kind] = family.name
        found[family.name] = family
    # the order families plan in (and the plan lists): routes, network, dns, then others
    return dict(sorted(found.items(), key=lambda kv: (kv[1].order, kv[0])))


def executed_kinds() -> frozenset[str]:
    return frozenset().union(*(f.kinds for f in registry().values()))


__all__ = [
    "GROUP",
    "Family",
    "FamilyDefaults",
    "FamilyError",
    "RunContext",
    "executed_kinds",
    "registry",
]
