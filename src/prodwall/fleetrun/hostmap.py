"""Which Ansible hosts the fleet run intends, and which inventory vantage each one is.

The intended list comes from Ansible itself (`ansible-inventory --list --limit`), so
patterns, groups and ansible.cfg mean what they mean to Ansible. A host maps to the
vantage named by its `prodwall_vantage` variable, or else to the vantage of its own
name; a host with neither is intended but cannot run, and is reported so."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from prodwall.errors import InputError, Problem, ProdwallError
from prodwall.inventory.loader import LoadedInventory
from prodwall.inventory.model import Inventory
from prodwall.yaml_source import parse_yaml

VANTAGE_VAR = "prodwall_vantage"


@dataclass(frozen=True)
class FleetTarget:
    host: str  # the Ansible inventory_hostname
    vantage: str | None  # the prodwall vantage it runs as; None: not mapped
    environment: str
    python: str
    become: bool
    problem: str = ""  # why it cannot run, when it cannot


def ansible_tool(name: str) -> str:
    """An Ansible command beside this Python first (the venv's), then on PATH."""
    beside = Path(sys.executable).with_name(name)
    found = str(beside) if beside.exists() else shutil.which(name)
    if not found:
        raise ProdwallError(
            f"`prodwall fleet` needs Ansible's {name}: install ansible-core "
            "(pip install 'prodwall[ansible]', or the Debian package ansible-core)"
        )
    return found


def intended(hosts_file: str, limit: str | None, inv: Inventory) -> list[FleetTarget]:
    argv = [ansible_tool("ansible-inventory"), "-i", hosts_file, "--list"]
    if limit:
        argv += ["--limit", limit]
    # a hosts file Ansible cannot parse is an error, not an empty fleet
    env = {**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_INVENTORY_UNPARSED_FAILED": "True"}
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300, env=env)
    if done.returncode != 0:
        raise ProdwallError(
            f"Ansible could not read the hosts inventory {hosts_file}: "
            f"{done.stderr.strip()[-1500:] or done.stdout.strip()[-1500:]}"
        )
    try:
        listed = json.loads(done.stdout)
        hostvars: dict[str, dict[str, object]] = listed.get("_meta", {}).get("hostvars", {})
    except (ValueError, AttributeError) as exc:
        raise ProdwallError(f"ansible-inventory printed no JSON for {hosts_file}: {exc}") from exc
    if not hostvars:
        what = f"matches --limit {limit}" if limit else "is listed"
        warned = done.stderr.strip()[-1500:]
        raise ProdwallError(
            f"no host of {hosts_file} {what}: a fleet run needs at least one vantage host"
            + (f" (Ansible said: {warned})" if warned else "")
        )
    return [_target(host, hostvars[host], inv) for host in sorted(hostvars)]


def _target(host: str, hostvars: dict[str, object], inv: Inventory) -> FleetTarget:
    name = str(hostvars.get(VANTAGE_VAR) or host)
    vantage = inv.vantages.get(name)
    if vantage is None:
        return FleetTarget(
            host, None, "", "python3", False,
            f"no vantage '{name}' in the inventory: declare vantages.{name} (location: "
            f"local, its environment), or set the host variable {VANTAGE_VAR}",
        )  # fmt: skip
    return FleetTarget(host, name, vantage.environment, vantage.python, vantage.sudo)


def check_targets(targets: list[FleetTarget], loaded: LoadedInventory) -> None:
    """A fleet run executes on the host itself: its vantages must say `location: local`,
    and one vantage is one host (two hosts' runs under one name would read as one).
    Anything else is an inventory mistake, refused before any host is touched."""
    inv = loaded.inventory
    found: list[tuple[tuple[str, ...], str, str]] = [  # (where, message, fix)
        (
            ("vantages", t.vantage, "location"),
            f"'{inv.vantages[t.vantage].location}': a fleet run executes on the host itself "
            f"({t.host}), as its own vantage",
            "declare the fleet's vantages with `location: local` (an inventory of their own "
            "if the same names are also probed from elsewhere)",
        )
        for t in targets
        if t.vantage is not None and inv.vantages[t.vantage].location != "local"
    ]
    hosts_of: dict[str, list[str]] = {}
    for t in targets:
        if t.vantage is not None:
            hosts_of.setdefault(t.vantage, []).append(t.host)
    found += [
        (
            ("vantages", name),
            f"Ansible hosts {', '.join(hosts)} all map to this one vantage",
            f"declare a vantage per host and point each host's {VANTAGE_VAR} at its own",
        )
        for name, hosts in hosts_of.items()
        if len(hosts) > 1
    ]
    if found:  # only now: the lines come from parsing the inventory's bytes again
        source = str(loaded.path)
        doc = parse_yaml(loaded.raw, source)
        raise InputError(
            [
                Problem(source, doc.line_of(where), ".".join(where), message, fix)
                for where, message, fix in found
            ]
        )
