"""prodwall's own reading of an AWS policy: does it grant anything to a given account?

Three answers, never a guess: `grants` (a statement allows a principal of that account,
or everyone, and nothing shown restricts it), `none` (no statement can apply to it, or an
explicit Deny covers it), `unknown` (a statement might apply, under conditions prodwall
cannot decide: the caller treats that as inconclusive, never as a pass).

Conditions are read where they decide *who* the caller is (aws:PrincipalAccount,
aws:PrincipalOrgID, aws:PrincipalArn, aws:SourceAccount, aws:SourceArn, aws:SourceOwner,
aws:SourceOrgID); any other condition (source IP, MFA, an external id, a VPC endpoint)
narrows *when*, not *who*: a grant naming the account stays a grant, a grant to everyone
becomes unknown."""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

GRANTS, NONE, UNKNOWN = "grants", "none", "unknown"
WHO_KEYS = frozenset({
    "aws:principalaccount", "aws:principalorgid", "aws:principalorgpaths", "aws:principalarn",
    "aws:sourceaccount", "aws:sourceowner", "aws:sourcearn", "aws:sourceorgid",
})
TRUST_ACTIONS = ("sts:AssumeRole", "sts:AssumeRoleWithWebIdentity", "sts:AssumeRoleWithSAML",
                 "sts:TagSession")


@dataclass(frozen=True)
class Reading:
    answer: str  # grants | none | unknown
    why: str  # the statement and what decided it, one line
    statement: str = ""  # its Sid, or its position


@dataclass(frozen=True)
class Asker:
    """Who is asking, as far as the policy can see: an account (any principal of it), or
    one principal of it, in an organization if known."""

    account: str
    principal_arn: str = ""
    org_id: str | None = None


def read(
    document: str | dict[str, Any] | None,
    asker: Asker,
    *,
    actions: Iterable[str] = (),
    trust: bool = False,
) -> Reading:
    """What `document` grants `asker`. `actions`: only statements allowing one of these
    count (empty: any action). `trust`: a role trust policy, where a service principal
    acts only for its own account's callers (it is not a grant to another account)."""
    if isinstance(document, str) and not document.strip():
        return Reading(NONE, "no policy")
    try:
        doc = json.loads(document) if isinstance(document, str) else document
    except ValueError:
        return Reading(UNKNOWN, "the policy is not JSON")
    if not doc:
        return Reading(NONE, "no policy")
    if not isinstance(doc, dict):
        return Reading(UNKNOWN, "the policy is not a JSON object")
    statements = doc.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list):
        return Reading(UNKNOWN, "the policy's Statement is neither a list nor an object")
    wanted = tuple(actions)
    allows: list[Reading] = []
    for number, st in enumerate(statements, 1):
        if not isinstance(st, dict):
            return Reading(UNKNOWN, f"statement {number} is not an object")
        name = str(st.get("Sid") or f"statement {number}")
        applies, why = _applies(st, asker, wanted, trust)
        effect = str(st.get("Effect", "")).lower()
        if effect == "deny" and applies == GRANTS and _covers_all(st, wanted):
            return Reading(NONE, f"{name}: an explicit Deny covers account {asker.account}",
                           name)
        if effect == "allow" and applies != NONE:
            allows.append(Reading(applies, f"{name}: {why}", name))
    for answer in (GRANTS, UNKNOWN):
        hit = next((r for r in allows if r.answer == answer), None)
        if hit is not None:
            return hit
    return Reading(NONE, f"no statement allows account {asker.account}")


def _applies(st: dict[str, Any], asker: Asker, wanted: tuple[str, ...],
             trust: bool) -> tuple[str, str]:
    if wanted and not _action_matches(st, wanted):
        return NONE, "not for these actions"
    who, how = _principal(st, asker, trust)
    if who == NONE:
        return NONE, how
    cond = st.get("Condition") or {}
    if not isinstance(cond, dict):
        return UNKNOWN, f"{how}, under a Condition prodwall cannot read"
    decided, open_keys, reasons = True, [], []
    for operator, block in cond.items():
        if not isinstance(block, dict):
            return UNKNOWN, f"{how}, under a malformed Condition"
        for key, values in block.items():
            if key.lower() not in WHO_KEYS:
                open_keys.append(key)
                continue
            result = _condition(str(operator), key.lower(), values, asker)
            if result is False:
                return NONE, f"{how}, but {operator} {key} excludes account {asker.account}"
            if result is None:
                decided = False
                reasons.append(f"{operator} {key}")
    if who == UNKNOWN:
        return UNKNOWN, how
    if not decided:
        return UNKNOWN, f"{how}, under {', '.join(reasons)} (cannot be decided offline)"
    if open_keys and who == "wildcard":
        return UNKNOWN, f"{how}, narrowed only by {', '.join(open_keys)}"
    if open_keys:
        return GRANTS, f"{how} (when {', '.join(open_keys)} hold)"
    return GRANTS, how


def _principal(st: dict[str, Any], asker: Asker, trust: bool) -> tuple[str, str]:
    """(explicit | wildcard | unknown | none, what matched)."""
    if "NotPrincipal" in st:
        listed = _values(st["NotPrincipal"])
        if any(_names_account(v, asker) for v in listed):
            return NONE, f"NotPrincipal excludes account {asker.account}"
        return "wildcard", "NotPrincipal allows every principal not listed"
    principal = st.get("Principal")
    if principal is None:
        return NONE, "no Principal (an identity policy)"
    if principal == "*":
        return "wildcard", "Principal \"*\" (everyone)"
    if not isinstance(principal, dict):
        return UNKNOWN, "an unreadable Principal"
    found = (NONE, f"no principal of account {asker.account}")
    for kind, values in principal.items():
        for value in _values(values):
            if kind == "AWS" and value == "*":
                found = ("wildcard", "Principal AWS \"*\" (every AWS principal)")
            elif kind == "AWS" and _names_account(value, asker):
                return "explicit", f"grants {value}"
            elif kind == "Service" and not trust and found[0] == NONE:
                # a service acting for any account's resources: who is decided by conditions
                found = ("wildcard", f"service principal {value} (for any account's "
                         "resources unless a source condition names them)")
            elif kind == "Federated" and _arn_account(value) == asker.account:
                return "explicit", f"grants identity provider {value}"
            elif kind == "CanonicalUser" and found[0] == NONE:
                found = (UNKNOWN, f"canonical user {value[:12]}... (account not known offline)")
    return found


def _names_account(value: str, asker: Asker) -> bool:
    if value == asker.account:
        return True
    if asker.principal_arn and value == asker.principal_arn:
        return True
    account = _arn_account(value)
    if account != asker.account:
        return False
    # the account's root is every principal of it; a named principal is one of them
    return not asker.principal_arn or value.endswith(":root") or value == asker.principal_arn


def _arn_account(value: str) -> str:
    parts = value.split(":")
    return parts[4] if len(parts) > 5 and value.startswith("arn:") else ""


def _condition(operator: str, key: str, values: Any, asker: Asker) -> bool | None:
    """True: holds for the asker; False: cannot hold; None: cannot be decided."""
    op = operator.split(":")[-1]
    op = op.removesuffix("IfExists")  # the who-keys are always present: IfExists is moot
    negated = "Not" in op
    base = op.replace("Not", "")
    allowed = _values(values)
    if key in ("aws:principalaccount", "aws:sourceaccount", "aws:sourceowner"):
        subject: str | None = asker.account
    elif key in ("aws:principalorgid", "aws:sourceorgid"):
        subject = asker.org_id
    elif key in ("aws:principalarn", "aws:sourcearn"):
        subject = asker.principal_arn or None
        if subject is None:  # any principal of the account: the pattern's account decides
            hit = any(_account_pattern_matches(v, asker.account) for v in allowed)
            if not hit:
                return negated
            return None if negated else True
    else:  # aws:PrincipalOrgPaths: not known offline
        return None
    if subject is None:
        return None
    if base in ("StringEquals", "ArnEquals"):
        hit = subject in allowed
    elif base in ("StringEqualsIgnoreCase",):
        hit = subject.lower() in (v.lower() for v in allowed)
    elif base in ("StringLike", "ArnLike"):
        hit = any(fnmatch.fnmatchcase(subject, v) for v in allowed)
    else:
        return None
    return hit != negated


def _account_pattern_matches(pattern: str, account: str) -> bool:
    parts = pattern.split(":")
    if len(parts) < 5:
        return fnmatch.fnmatchcase(account, pattern)
    return fnmatch.fnmatchcase(account, parts[4] or "*")


def _action_matches(st: dict[str, Any], wanted: tuple[str, ...]) -> bool:
    if "NotAction" in st:
        excluded = [a.lower() for a in _values(st["NotAction"])]
        return any(not any(fnmatch.fnmatchcase(w.lower(), e) for e in excluded) for w in wanted)
    patterns = [a.lower() for a in _values(st.get("Action", []))]
    return any(fnmatch.fnmatchcase(w.lower(), p) for w in wanted for p in patterns)


def _covers_all(st: dict[str, Any], wanted: tuple[str, ...]) -> bool:
    """A Deny that removes every grant in question (all actions, or all of `wanted`)."""
    if "NotAction" in st:
        return False
    patterns = [a.lower() for a in _values(st.get("Action", []))]
    if "*" in patterns:
        return True
    return bool(wanted) and all(
        any(fnmatch.fnmatchcase(w.lower(), p) for p in patterns) for w in wanted
    )


def _values(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    if isinstance(value, dict):
        return [str(v) for vs in value.values() for v in _values(vs)]
    return [str(value)]
