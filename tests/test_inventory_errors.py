"""Each kind of bad inventory gets one exact, actionable message, and nothing runs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from prodwall.errors import InventoryError
from prodwall.inventory import load_inventory

GOOD = """
version: 1
name: t
environments:
  prod:
    tier: production
    networks: [198.51.100.0/24, "2001:db8:100::/48"]
    hosts:
      db:
        addresses: [198.51.100.10]
        services: [postgres, syslog]
  dev:
    tier: dev
    networks: [192.0.2.0/26]
vantages:
  laptop:
    location: local
    environment: dev
"""

CASES = {
    "yaml-syntax": (
        GOOD.replace("    networks: [192.0.2.0/26]", "    networks: [192.0.2.0/26"),
        "{f}:14: YAML syntax error, column 9: expected ',' or ']', but got ':'. "
        "Fix: fix the indentation or quoting near this line",
    ),
    "unknown-key": (
        GOOD.replace("        services: [postgres, syslog]", "        servcies: [postgres]"),
        "{f}:10: environments.prod.hosts.db.servcies: unknown key 'servcies'. "
        "Fix: did you mean 'services'?",
    ),
    "wrong-type": (
        GOOD.replace("version: 1", "version: one"),
        "{f}:1: version: Input should be 1. Fix: use a value of the type or one of the values "
        "named",
    ),
    "wrong-tier": (
        GOOD.replace("tier: dev", "tier: develop"),
        "{f}:12: environments.dev.tier: Input should be 'production', 'staging', 'test', 'dev' "
        "or 'shared'. Fix: use a value of the type or one of the values named",
    ),
    "invalid-cidr": (
        GOOD.replace("198.51.100.0/24,", "198.51.100.0/33,"),
        "{f}:6: environments.prod.networks[0]: '198.51.100.0/33' is not a valid IPv4 or IPv6 "
        "CIDR: write ADDRESS/PREFIX, e.g. 198.51.100.0/24 or 2001:db8::/48.",
    ),
    "host-bits": (
        GOOD.replace("198.51.100.0/24,", "198.51.100.7/24,"),
        "{f}:6: environments.prod.networks[0]: '198.51.100.7/24' has host bits set: did you "
        "mean 198.51.100.0/24?",
    ),
    "invalid-arn": (
        GOOD.replace(
            "    hosts:\n      db:",
            "    cloud:\n      role_arns: [arn:aws:iam::12:role/x]\n    hosts:\n      db:",
            1,
        ),
        "{f}:8: environments.prod.cloud.role_arns[0]: 'arn:aws:iam::12:role/x' is not an IAM "
        "role ARN (e.g. arn:aws:iam::111122223333:role/deploy).",
    ),
    "unquoted-account": (
        GOOD.replace(
            "    hosts:\n      db:",
            "    cloud:\n      aws_accounts: [011122223333]\n    hosts:\n      db:",
            1,
        ),
        "{f}:8: environments.prod.cloud.aws_accounts[0]: account ID must be quoted: YAML read "
        "the unquoted number as 1229530843 (it drops leading zeros, and a leading 0 even makes "
        'it octal); write the 12 digits in quotes, e.g. "011122223333".',
    ),
    "overlap": (
        GOOD.replace("[192.0.2.0/26]", "[192.0.2.0/26, 198.51.100.128/25]"),
        "{f}:13: environments.dev.networks[1]: non-production network 198.51.100.128/25 of 'dev' "
        "overlaps production network 198.51.100.0/24 of 'prod'. Fix: production and "
        "non-production address space must be disjoint; correct one CIDR",
    ),
    "undeclared-environment": (
        GOOD.replace("    environment: dev", "    environment: devel"),
        "{f}:17: vantages.laptop.environment: vantage 'laptop' names undeclared environment "
        "'devel'. Fix: use one of: dev, prod",
    ),
    "host-outside-networks": (
        GOOD.replace("[198.51.100.10]", "[203.0.113.10]"),
        "{f}:9: environments.prod.hosts.db.addresses[0]: address 203.0.113.10 of host 'db' is "
        "outside every network of environment 'prod'. Fix: fix the address or add its network "
        "to the environment",
    ),
    "undeclared-host": (
        GOOD
        + """policy:
  allowed_flows:
    - from: dev
      to: dbx
      services: [postgres]
      ticket: CHG-1
      approver: a
      justification: j
      expires: 2030-01-01
""",
        "{f}:21: policy.allowed_flows[0].to: allowed flow names undeclared host 'dbx'. "
        "Fix: declare the host under an environment's hosts, or fix the name",
    ),
    "flow-without-ticket": (
        GOOD
        + """policy:
  allowed_flows:
    - from: dev
      to: db
      services: [postgres]
      approver: a
      justification: j
      expires: 2030-01-01
""",
        "{f}:20: policy.allowed_flows[0].ticket: required field is missing. "
        "Fix: add `ticket:` with the change or risk ticket that approved it",
    ),
    "waiver-without-expiry": (
        GOOD
        + """policy:
  waivers:
    - id: W-1
      target: db
      ticket: RISK-1
      approver: a
      justification: j
""",
        "{f}:20: policy.waivers[0].expires: required field is missing. "
        "Fix: add `expires: YYYY-MM-DD`; every exception needs an end date",
    ),
    "waiver-without-approver": (
        GOOD
        + """policy:
  waivers:
    - id: W-1
      target: db
      ticket: RISK-1
      approver: ""
      justification: j
      expires: 2030-01-01
""",
        "{f}:23: policy.waivers[0].approver: String should have at least 1 character. "
        "Fix: give a non-empty value",
    ),
    "duplicate-key": (
        GOOD.replace("    tier: dev\n", "    tier: dev\n    tier: test\n"),
        "{f}:13: environments.dev.tier: duplicate key (first given on line 12). "
        "Fix: merge the two entries into one",
    ),
    "no-production": (
        GOOD.replace("tier: production", "tier: staging"),
        "{f}:3: environments: no environment has tier: production. "
        "Fix: mark the production environment(s) with `tier: production`",
    ),
    "gateway-outside-networks": (
        GOOD.replace(
            "    networks: [192.0.2.0/26]",
            "    networks: [192.0.2.0/26]\n    boundary_gateways: [192.0.2.129]",
        ),
        "{f}:14: environments.dev.boundary_gateways[0]: boundary gateway 192.0.2.129 is outside "
        "every network of 'dev'. Fix: a gateway is on the environment's own subnet; fix the "
        "address",
    ),
    "vantage-in-production": (
        GOOD.replace("    environment: dev", "    environment: prod"),
        "{f}:17: vantages.laptop.environment: vantage 'laptop' belongs to production environment "
        "'prod'. Fix: prodwall probes production from non-production vantages; pick a dev or "
        "test environment",
    ),
    # a shared environment that declares no networks: its hosts are checked all the same
    # (#25), or a "control" to such a host would probe production in a control's name
    "non-production-host-in-production": (
        GOOD.replace(
            "vantages:",
            "  shared:\n    tier: shared\n    hosts:\n      mirror:\n"
            "        addresses: [198.51.100.7]\nvantages:",
        ),
        "{f}:18: environments.shared.hosts.mirror.addresses[0]: address 198.51.100.7 of "
        "non-production host 'mirror' lies in production network 198.51.100.0/24 of 'prod'. "
        "Fix: a host is in one environment: fix the address, or declare the host under its "
        "production environment",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_inventory_gets_exact_message(case: str, write_yaml: Callable[[str], Path]) -> None:
    text, expected = CASES[case]
    path = write_yaml(text)
    with pytest.raises(InventoryError) as info:
        load_inventory(path)
    messages = [str(p) for p in info.value.problems]
    assert messages == [expected.format(f=path)]
    assert "nothing was run" in str(info.value)


def test_several_problems_are_all_reported(write_yaml: Callable[[str], Path]) -> None:
    text = GOOD.replace("198.51.100.0/24,", "198.51.100.0/33,").replace(
        "    environment: dev", "    environmnt: dev"
    )
    with pytest.raises(InventoryError) as info:
        load_inventory(write_yaml(text))
    fields = [p.field for p in info.value.problems]
    assert "environments.prod.networks[0]" in fields
    assert "vantages.laptop.environmnt" in fields
    assert "vantages.laptop.environment" in fields  # the missing one


def test_secret_pasted_as_fingerprint_is_never_echoed(write_yaml: Callable[[str], Path]) -> None:
    secret = "Tr0ub4dor&3-prod-db-password"
    text = GOOD.replace(
        "  dev:\n", f"    secrets:\n      - name: db\n        hmac_sha256: '{secret}'\n  dev:\n"
    )
    with pytest.raises(InventoryError) as info:
        load_inventory(write_yaml(text))
    assert secret not in str(info.value)
    assert "withheld" in str(info.value)


def test_expired_waiver_is_a_notice_not_an_error(write_yaml: Callable[[str], Path]) -> None:
    text = (
        GOOD
        + """policy:
  waivers:
    - id: W-OLD
      target: db
      services: [syslog]
      ticket: RISK-9
      approver: a
      justification: j
      expires: 2026-01-31
"""
    )
    loaded = load_inventory(write_yaml(text), today=date(2026, 11, 27))
    assert loaded.notices == ("waiver W-OLD (RISK-9) expired on 2026-01-31: it no longer applies",)
    assert load_inventory(write_yaml(text), today=date(2026, 1, 31)).notices == ()


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(InventoryError) as info:
        load_inventory(tmp_path / "nope.yaml")
    assert (
        str(info.value.problems[0]) == f"{tmp_path / 'nope.yaml'}: file not found. "
        "Fix: check the path"
    )


def test_example_inventory_is_valid() -> None:
    from conftest import REPO

    loaded = load_inventory(REPO / "inventories" / "example.yaml")
    assert set(loaded.inventory.production()) == {"production"}
    assert len(loaded.sha256) == 64
