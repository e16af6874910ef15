"""Which AWS accounts are production and which are not, and the production resources
the live probes try: read from the inventory alone (light: the planner imports it)."""

from __future__ import annotations

from prodwall.families.cloud.records import BUCKET, PARAMETER, ROLE, SECRET, Target
from prodwall.inventory.model import Inventory

NONPROD_TIERS = ("dev", "test", "staging")


def accounts(inv: Inventory) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """(production, non-production, other) accounts -> environment name."""
    prod: dict[str, str] = {}
    nonprod: dict[str, str] = {}
    other: dict[str, str] = {}
    for name, env in inv.environments.items():
        into = prod if env.is_production else nonprod if env.tier in NONPROD_TIERS else other
        for account in env.cloud.aws_accounts:
            into.setdefault(account, name)
    return prod, nonprod, other


def targets(inv: Inventory) -> list[Target]:
    out = []
    for env in inv.production().values():
        home = env.cloud.aws_accounts[0] if env.cloud.aws_accounts else ""
        for arn in env.cloud.role_arns:
            out.append(Target(kind=ROLE, name=arn, account=arn.split(":")[4], region=""))
        for bucket in env.cloud.buckets:
            out.append(Target(kind=BUCKET, name=bucket, account=home, region=""))
        for arn in env.cloud.secrets:
            parts = arn.split(":")
            out.append(Target(kind=SECRET, name=arn, account=parts[4], region=parts[3]))
        for arn in env.cloud.parameters:
            parts = arn.split(":")
            out.append(Target(kind=PARAMETER, name=arn, account=parts[4], region=parts[3]))
    return out
