"""Trust across the boundary: every trust policy and resource policy read in a
production account (IAM roles, S3 buckets, KMS keys, Secrets Manager secrets, SNS topics,
SQS queues), read by prodwall's own policy reading for each non-production account."""

from __future__ import annotations

from collections.abc import Iterator

from prodwall.families.cloud.estate import AccountFacts, Text
from prodwall.families.cloud.findings import TRUST, Seen
from prodwall.families.cloud.policy import GRANTS, TRUST_ACTIONS, UNKNOWN, Asker, read
from prodwall.verdicts import Signal


def find(facts: AccountFacts, nonprod: dict[str, str], org_id: str | None) -> Iterator[Seen]:
    texts: list[tuple[str, Text, bool]] = [("", t, True) for t in facts.roles]
    texts += [("", t, False) for t in facts.buckets]
    texts += [(r, t, False) for r, f in facts.regions.items() for t in f.policies]
    for region, (arn, call, document), trust in texts:
        for account, environment in nonprod.items():
            reading = read(document, Asker(account, org_id=org_id),
                           actions=TRUST_ACTIONS if trust else (), trust=trust)
            what = "trust policy" if trust else "resource policy"
            if reading.answer == GRANTS:
                yield Seen(TRUST, facts.account, Signal.CROSSED,
                           f"{arn}: its {what} grants account {account} ({environment}): "
                           f"{reading.why}", region, arn, call)
            elif reading.answer == UNKNOWN:
                yield Seen(TRUST, facts.account, Signal.FAILED,
                           f"{arn}: cannot show its {what} grants nothing to account {account} "
                           f"({environment}): {reading.why}", region, arn, call)


def policies_read(facts: AccountFacts) -> int:
    return len(facts.roles) + len(facts.buckets) + sum(
        len(f.policies) for f in facts.regions.values())
