"""The cloud family (AWS, on boto3): no identity, trust, network path or stored string in
a non-production account reaches a production one.

At a vantage (where the credentials live), through its backend: every ambient identity,
attributed offline and then by sts:GetCallerIdentity (CLOUD-IDENT-01), and live,
read-only denial probes with each (CLOUD-DENY-01). From the runner, with a read-only
audit role in each listed account (`prodwall cloud`): network paths (CLOUD-NET-01), trust
(CLOUD-TRUST-01) and stored strings (CLOUD-STRINGS-01). Every call is a read: the guard
refuses anything else before it is sent."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from prodwall.families.base import FamilyDefaults, RunContext
from prodwall.families.cloud.accounts import accounts, targets
from prodwall.families.cloud.findings import CONFIG_KINDS, NETWORK, STRINGS, TRUST
from prodwall.families.cloud.records import AGENT, IDENTITY, LIVE_KINDS
from prodwall.inventory.model import Inventory, Vantage
from prodwall.plan import Probe
from prodwall.verdicts import Observation

VANTAGE_KINDS = (IDENTITY, *LIVE_KINDS)
WHAT = {
    "cloud-role": "vantage identities cannot assume this production role (sts:AssumeRole)",
    "cloud-bucket": "vantage identities, and unsigned requests, cannot head or list this "
    "production bucket",
    "cloud-secret": "vantage identities cannot get this production secret (value discarded)",
    "cloud-parameter": "vantage identities cannot get this production parameter (value "
    "discarded)",
}


class CloudFamily(FamilyDefaults):
    name = "cloud"
    kinds = frozenset({*VANTAGE_KINDS, *CONFIG_KINDS})
    order = 45
    parameters = ("aws_prod_account", "aws_nonprod_account")
    vantage_modules = (AGENT,)
    vantage_needs = ("boto3", "botocore")

    def limits(self, inv: Inventory) -> dict[str, str]:
        regions = ", ".join(inv.aws.regions) or "none listed"
        return {
            "cloud": f"the listed AWS accounts in the listed regions ({regions}), read "
            "through the audit role; other regions and unlisted accounts are not read"
            + ("; results from a simulated AWS are labelled simulated" if inv.aws.simulated
               else "")
        }

    def plan(self, inv: Inventory, vantage: Vantage, today: date) -> Iterator[Probe]:
        """At a vantage standing for a host of its own: its identities, then each
        production resource the inventory lists, tried with each."""
        prod, _, _ = accounts(inv)
        if not vantage.secret_scan or not prod:
            return
        for account, env in prod.items():
            yield Probe(IDENTITY, account, env, "no AWS identity at the vantage belongs to "
                        "this production account (offline, then sts:GetCallerIdentity)",
                        sends="api")
        for target in targets(inv):
            yield Probe(target.kind, target.name, prod.get(target.account, ""),
                        WHAT[target.kind], sends="api")

    def runner_plan(self, inv: Inventory, today: date) -> Iterator[Probe]:
        """From the runner, through the audit roles: the configuration proof."""
        prod, nonprod, _ = accounts(inv)
        for account, env in prod.items():
            yield Probe(NETWORK, account, env, "no VPC peering, route, transit gateway, "
                        "endpoint service, security group, network ACL or RAM share joins "
                        "this production account's networks to non-production ones",
                        sends="api")
            yield Probe(TRUST, account, env, "no trust or resource policy of this production "
                        "account grants a non-production account", sends="api")
        for account, env in nonprod.items():
            yield Probe(STRINGS, account, env, "no stored string of this non-production "
                        "account (parameters, secrets, Lambda, ECS, user data) points into "
                        "production", sends="api")

    def run(self, probes: tuple[Probe, ...], ctx: RunContext) -> tuple[Observation, ...]:
        if ctx.inventory is None:
            raise ValueError("the cloud family needs the inventory in its run context")
        from prodwall.families.cloud import (
            audit_runner,
            live,  # boto3 and the agent: only to run
        )

        at_vantage = tuple(p for p in probes if p.kind in VANTAGE_KINDS)
        from_runner = tuple(p for p in probes if p.kind in CONFIG_KINDS)
        return (live.run(at_vantage, ctx.plan, ctx.inventory)
                + audit_runner.run(from_runner, ctx.inventory))

    def groups(self, inv: Inventory) -> dict[str, list[str]]:
        prod, nonprod, _ = accounts(inv)
        return {"aws_prod_account": list(prod), "aws_nonprod_account": list(nonprod)}


FAMILY = CloudFamily()
