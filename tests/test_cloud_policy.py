"""prodwall's policy reading on real-world shapes: each answer, in both directions."""

from __future__ import annotations

import json

import pytest

from prodwall.families.cloud.policy import GRANTS, NONE, TRUST_ACTIONS, UNKNOWN, Asker, read

PROD, TEST, OTHER = "111122223333", "222233334444", "999988887777"
ORG = "o-a1b2c3d4e5"


def _doc(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _allow(principal, action="*", **extra) -> dict:
    return {"Effect": "Allow", "Principal": principal, "Action": action, **extra}


CASES = [
    # (name, policy, trust, expected for the test account)
    ("account root", _doc(_allow({"AWS": f"arn:aws:iam::{TEST}:root"}, "sts:AssumeRole")), True,
     GRANTS),
    ("bare account id", _doc(_allow({"AWS": TEST}, "sts:AssumeRole")), True, GRANTS),
    ("a role of the account", _doc(_allow({"AWS": [f"arn:aws:iam::{PROD}:root",
                                                   f"arn:aws:iam::{TEST}:role/ci"]},
                                          "sts:AssumeRole")), True, GRANTS),
    ("own account only", _doc(_allow({"AWS": f"arn:aws:iam::{PROD}:root"}, "sts:AssumeRole")),
     True, NONE),
    ("service principal in a trust policy", _doc(_allow({"Service": "ec2.amazonaws.com"},
                                                        "sts:AssumeRole")), True, NONE),
    ("wildcard principal", _doc(_allow("*", "s3:GetObject")), False, GRANTS),
    ("AWS wildcard", _doc(_allow({"AWS": "*"}, "sts:AssumeRole")), True, GRANTS),
    ("wildcard limited to the prod account",
     _doc(_allow("*", "s3:*", Condition={"StringEquals": {"aws:PrincipalAccount": PROD}})),
     False, NONE),
    ("wildcard limited to the organization",
     _doc(_allow("*", "s3:*", Condition={"StringEquals": {"aws:PrincipalOrgID": ORG}})),
     False, GRANTS),
    ("wildcard limited to another organization",
     _doc(_allow("*", "s3:*", Condition={"StringEquals": {"aws:PrincipalOrgID": "o-zz99zz99zz"}})),
     False, NONE),
    ("wildcard with everything but prod refused",
     _doc(_allow("*", "s3:*", Condition={"StringNotEquals": {"aws:PrincipalAccount": TEST}})),
     False, NONE),
    ("wildcard narrowed by source IP only",
     _doc(_allow("*", "s3:*", Condition={"IpAddress": {"aws:SourceIp": "198.18.0.0/15"}})),
     False, UNKNOWN),
    ("named account with an external id", _doc(_allow(
        {"AWS": f"arn:aws:iam::{TEST}:root"}, "sts:AssumeRole",
        Condition={"StringEquals": {"sts:ExternalId": "x"}})), True, GRANTS),
    ("PrincipalArn pattern into the test account", _doc(_allow(
        {"AWS": "*"}, "sts:AssumeRole",
        Condition={"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{TEST}:role/*"}})), True,
     GRANTS),
    ("PrincipalArn pattern inside prod", _doc(_allow(
        {"AWS": "*"}, "sts:AssumeRole",
        Condition={"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{PROD}:role/*"}})), True,
     NONE),
    ("NotPrincipal allow", _doc({"Effect": "Allow",
                                 "NotPrincipal": {"AWS": f"arn:aws:iam::{OTHER}:root"},
                                 "Action": "s3:*"}), False, GRANTS),
    ("NotPrincipal excluding the test account", _doc({
        "Effect": "Allow", "NotPrincipal": {"AWS": [f"arn:aws:iam::{TEST}:root"]},
        "Action": "s3:*"}), False, NONE),
    ("grant then explicit deny", _doc(
        _allow({"AWS": f"arn:aws:iam::{TEST}:root"}, "s3:GetObject"),
        {"Effect": "Deny", "Principal": "*", "Action": "*",
         "Condition": {"StringNotEquals": {"aws:PrincipalAccount": PROD}}}), False, NONE),
    ("conditional deny not credited", _doc(
        _allow({"AWS": f"arn:aws:iam::{TEST}:root"}, "s3:GetObject"),
        {"Effect": "Deny", "Principal": "*", "Action": "*",
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}}), False, GRANTS),
    ("SNS default: everyone, by source owner", _doc(_allow(
        {"AWS": "*"}, ["SNS:Publish"], Condition={"StringEquals": {"AWS:SourceOwner": PROD}})),
     False, NONE),
    ("service principal on a queue, no source condition",
     _doc(_allow({"Service": "sns.amazonaws.com"}, "sqs:SendMessage")), False, GRANTS),
    ("service principal on a queue, test account's source",
     _doc(_allow({"Service": "sns.amazonaws.com"}, "sqs:SendMessage",
                 Condition={"ArnLike": {"aws:SourceArn": f"arn:aws:sns:*:{TEST}:*"}})),
     False, GRANTS),
    ("action not a trust action", _doc(_allow({"AWS": f"arn:aws:iam::{TEST}:root"},
                                              "iam:GetRole")), True, NONE),
    ("NotAction allows assume", _doc({"Effect": "Allow", "Principal": {"AWS": TEST},
                                      "NotAction": "iam:*"}), True, GRANTS),
    ("canonical user", _doc(_allow({"CanonicalUser": "79a59df900b949e55d96a1e698fbacedfd6e"},
                                   "s3:GetObject")), False, UNKNOWN),
    ("federated provider of prod", _doc(_allow(
        {"Federated": f"arn:aws:iam::{PROD}:oidc-provider/token.actions.githubusercontent.com"},
        "sts:AssumeRoleWithWebIdentity")), True, NONE),
    ("single statement object", json.dumps({"Statement": _allow({"AWS": TEST}, "s3:*")}),
     False, GRANTS),
    ("not JSON", "{nope", False, UNKNOWN),
    ("empty", "", False, NONE),
]


@pytest.mark.parametrize(("name", "policy", "trust", "expected"), CASES, ids=[c[0] for c in CASES])
def test_policy_reading(name: str, policy: str, trust: bool, expected: str) -> None:
    actions = TRUST_ACTIONS if trust else ()
    got = read(policy, Asker(TEST, org_id=ORG), actions=actions, trust=trust)
    assert got.answer == expected, got.why


def test_org_condition_unknown_without_the_organization() -> None:
    policy = _doc(_allow("*", "s3:*", Condition={"StringEquals": {"aws:PrincipalOrgID": ORG}}))
    assert read(policy, Asker(TEST)).answer == UNKNOWN


def test_a_named_principal_is_judged_as_itself() -> None:
    policy = _doc(_allow({"AWS": f"arn:aws:iam::{TEST}:role/ci"}, "sts:AssumeRole"))
    me = Asker(TEST, principal_arn=f"arn:aws:iam::{TEST}:user/dev")
    assert read(policy, me, actions=TRUST_ACTIONS, trust=True).answer == NONE
    ci = Asker(TEST, principal_arn=f"arn:aws:iam::{TEST}:role/ci")
    assert read(policy, ci, actions=TRUST_ACTIONS, trust=True).answer == GRANTS
