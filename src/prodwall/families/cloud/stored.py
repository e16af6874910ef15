"""Stored strings in the non-production accounts (SSM parameters, Secrets Manager values,
Lambda environments, ECS task definitions, EC2 user data), scanned in memory with the
secrets family's own recognisers and offline attribution: a connection string to a
production host, a production credential, or a reference to a production account's
resource (an ARN, e.g. an ECS secret taken from a production secret) is a path in."""

from __future__ import annotations

import re
from collections.abc import Iterator

from prodwall.families.cloud.estate import RegionFacts
from prodwall.families.cloud.findings import STRINGS, Seen
from prodwall.families.secrets.attribute import Attributor
from prodwall.families.secrets.records import EnvironmentMap
from prodwall.families.secrets.scan import Scanner, Tally
from prodwall.verdicts import Signal

_ARN = re.compile(r"arn:aws[\w-]*:([\w-]+):[\w-]*:(\d{12}):[^\s\"',]+")


def find(f: RegionFacts, environments: tuple[EnvironmentMap, ...], key: bytes,
         prod_accounts: dict[str, str]) -> Iterator[Seen]:
    scanner = Scanner(key, Attributor(environments))
    for arn, call, text in f.strings:
        for found in scanner.text(text, arn, "cloud", Tally()):
            if found.tier != "production":
                continue
            prints = list(found.fingerprints)
            yield Seen(STRINGS, f.account, Signal.CROSSED,
                       f"{arn}: {found.detail} ({found.environment}, by {found.attributed_by})",
                       f.region, arn, call,
                       {"rule": found.rule, "fingerprints": [p[:16] for p in prints]})
        for match in _ARN.finditer(text):
            service, account = match.group(1), match.group(2)
            if account in prod_accounts and account != f.account:
                yield Seen(STRINGS, f.account, Signal.CROSSED,
                           f"{arn}: refers to a {service} resource of production account "
                           f"{account} ({prod_accounts[account]})", f.region, arn, call,
                           {"rule": "arn:production-account"})
