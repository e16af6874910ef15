"""Where a simulator's answer is not AWS's: moto allows every cross-account AssumeRole and
ignores a resource policy's Principal. A cross-account call it allowed is judged here by
the policy AWS would apply (the role's trust policy, the bucket's or the secret's resource
policy), read through the audit role; without one the success stands, labelled."""

from __future__ import annotations

from typing import Any

from prodwall.families.cloud.audit import NO_POLICY
from prodwall.families.cloud.policy import GRANTS, NONE, TRUST_ACTIONS, Asker, read
from prodwall.families.cloud.records import BUCKET, ROLE, SECRET, Identity, Target
from prodwall.inventory.model import Inventory
from prodwall.verdicts import Signal


class Rejudge:
    def __init__(self, inv: Inventory) -> None:
        self.inv = inv
        self._auditor: Any = None

    def auditor(self) -> Any:
        """The runner's audit access (its own credentials, then the audit role)."""
        from prodwall.families.cloud.audit import Auditor

        return Auditor(self.inv.aws)

    def _policy(self, target: Target) -> tuple[str, str] | None:
        if not self.inv.aws.audit_role:
            return None
        if self._auditor is None:
            self._auditor = self.auditor()
        a, acct = self._auditor, target.account
        region = target.region or self.inv.aws.regions[0]
        if target.kind == ROLE:
            got = a.one(acct, region, "iam", "get_role", RoleName=target.name.split("/")[-1])
            doc = (got or {}).get("Role", {}).get("AssumeRolePolicyDocument")
            return (doc if isinstance(doc, str) else _json(doc), "trust policy") if got else None
        if target.kind == BUCKET:
            got = a.one(acct, region, "s3", "get_bucket_policy", NO_POLICY, Bucket=target.name)
            return (str(got.get("Policy", "")), "bucket policy") if got is not None else None
        if target.kind == SECRET:
            got = a.one(acct, region, "secretsmanager", "get_resource_policy",
                        SecretId=target.name)
            return (str((got or {}).get("ResourcePolicy") or ""), "resource policy") \
                if got else None
        return None

    def judge(self, target: Target, who: Identity, signal: Signal,
              detail: str) -> tuple[Signal, str]:
        try:
            found = self._policy(target)
        except Exception as exc:
            found = None
            detail += f"; its policy could not be read ({type(exc).__name__})"
        if found is None:
            return signal, detail + "; the simulator does not enforce cross-account policies " \
                "and the governing policy was not read: shown as allowed"
        document, what = found
        reading = read(document, Asker(who.account, principal_arn=who.arn,
                                       org_id=self.inv.aws.organization_id),
                       actions=TRUST_ACTIONS if target.kind == ROLE else (),
                       trust=target.kind == ROLE)
        if reading.answer == GRANTS:
            return Signal.CROSSED, detail + f"; the {what} grants it: {reading.why}"
        if reading.answer == NONE:
            return Signal.STOPPED, (
                f"{who.arn}: {target.name}: the simulator allowed this cross-account call, "
                f"which AWS refuses: the {what} grants nothing to account {who.account} "
                f"({reading.why})")
        return Signal.FAILED, detail + f"; the {what} may grant it: {reading.why}"


def _json(doc: Any) -> str:
    import json

    return json.dumps(doc or {})
