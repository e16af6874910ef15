"""The runner's side of the vantage probes: the job (every production role, bucket,
secret and parameter the inventory lists), the agent run at the vantage, and
observations per production account: an identity of that account at the vantage, or a
call into it that AWS allowed, is `crossed`; AccessDenied is `stopped` with its request
id; anything else (throttling, an endpoint down, a credential not resolvable) is `failed`.

Against a simulator (inventory `aws.simulated`), a cross-account call it allowed is judged
by the policy that governs it in AWS (the role's trust policy, the bucket's or the
secret's resource policy), read through the audit role: moto does not enforce them."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from prodwall.engine.protocol import ProtocolError
from prodwall.families.cloud.accounts import accounts, targets
from prodwall.families.cloud.audit import UNIMPLEMENTED
from prodwall.families.cloud.records import AGENT, IDENTITY, CloudJob, CloudResult, Identity, Target
from prodwall.families.cloud.simulated import Rejudge
from prodwall.families.secrets.observe import run_key
from prodwall.inventory.model import Inventory, Vantage
from prodwall.plan import Plan, Probe
from prodwall.vantages.agent import AgentError, run_agent
from prodwall.verdicts import Observation, Signal


def run(probes: tuple[Probe, ...], plan: Plan, inv: Inventory) -> tuple[Observation, ...]:
    if not probes:
        return ()
    wanted = {(p.kind, p.target) for p in probes}
    job = CloudJob(
        key=run_key().value.hex(),
        targets=tuple(t for t in targets(inv) if (t.kind, t.name) in wanted),
        homes=tuple(inv.aws.homes),
        ec2_instance=plan.vantage.ec2_instance,
        region=inv.aws.regions[0],
    )
    try:
        result = CloudResult.from_json(run_agent(plan.vantage, AGENT, job.to_json(), 600))
    except (AgentError, ProtocolError) as exc:
        return tuple(Observation(p.kind, p.target, Signal.FAILED, str(exc)) for p in probes)
    return tuple(observe(result, job, inv, plan.vantage))


def observe(result: CloudResult, job: CloudJob, inv: Inventory,
            vantage: Vantage | None = None) -> list[Observation]:
    prod, nonprod, other = accounts(inv)
    known = {**other, **nonprod, **prod}
    simulated = inv.aws.simulated
    out = [_tagged(o, simulated) for o in _identities(result, prod, known)]
    rejudge = Rejudge(inv) if simulated else None
    limits: list[str] = []
    for target in job.targets:
        tried = [a for a in result.attempts if a.kind == target.kind and a.target == target.name]
        if simulated:  # where the simulator falls short of AWS: a limit, not AWS's answer
            short = [a for a in tried if a.outcome == "error" and a.code in UNIMPLEMENTED]
            limits += [f"{a.call} {a.target}: the simulator cannot answer it ({a.code})"
                       for a in short]
            tried = [a for a in tried if a not in short]
        if not [a for a in tried if a.identity >= 0]:
            out.append(_tagged(_untried(target, result), simulated))
        for attempt in tried:
            who = result.identities[attempt.identity] if attempt.identity >= 0 else None
            name = who.arn or who.source if who else "an unsigned request"
            evidence: dict[str, Any] = {
                "account": target.account, "call": attempt.call, "arn": target.name,
                "identity": name, "request_id": attempt.request_id,
                "region": target.region or inv.aws.regions[0],
            }
            if attempt.outcome == "allowed":
                signal, detail = Signal.CROSSED, f"{name}: {attempt.call} {target.name} " \
                    f"allowed ({attempt.detail})"
                if rejudge is not None and who is not None and who.account != target.account:
                    signal, detail = rejudge.judge(target, who, signal, detail)
            elif attempt.outcome == "denied":
                signal = Signal.STOPPED
                detail = f"{name}: {attempt.call} {target.name} denied ({attempt.code})"
            else:
                signal = Signal.FAILED
                detail = f"{name}: {attempt.call} {target.name} could not tell ({attempt.code})"
            out.append(_tagged(Observation(target.kind, target.account, signal, detail,
                                           evidence=evidence), simulated))
    if limits:
        out = [replace(o, evidence={**o.evidence, "limits": limits}) if o.kind != IDENTITY
               else o for o in out]
    return out


def _identities(result: CloudResult, prod: dict[str, str],
                known: dict[str, str]) -> list[Observation]:
    out = []
    notes = {"read": list(result.read), "boto3": result.boto or "missing at the vantage"}
    for account in prod:
        if not result.identities and not result.unresolved and not result.unreadable:
            out.append(Observation(IDENTITY, account, Signal.STOPPED,
                                   f"no AWS credential at the vantage ({len(result.read)} "
                                   "sources read)", evidence={"account": account, **notes}))
        for why in (*result.unresolved, *result.unreadable):
            out.append(Observation(IDENTITY, account, Signal.FAILED,
                                   f"not resolved: {why}", evidence={"account": account}))
    for identity in result.identities:
        out += _identity(identity, prod, known)
    return out


def _identity(i: Identity, prod: dict[str, str], known: dict[str, str]) -> list[Observation]:
    account = i.account or i.offline_account
    key = f", key {i.key_type}... {i.key_fp[:16]}" if i.key_fp else ""
    how = f"{i.source} ({i.kind}{key})"
    said = i.arn or (f"account {account}, decoded offline" if account else "unknown")
    evidence = {"source": i.source, "key_fingerprint": i.key_fp[:16], "arn": i.arn,
                "offline_account": i.offline_account, "sts_account": i.account,
                "request_id": i.request_id, "call": "sts:GetCallerIdentity",
                "endpoint": i.endpoint or "AWS"}
    if i.error:
        evidence["error"] = i.error
    hits = {a for a in (i.account, i.offline_account) if a in prod}
    out = []
    for group in prod:
        ev = {**evidence, "account": group}
        if group in hits:
            why = f" (GetCallerIdentity: {i.error})" if i.error else ""
            out.append(Observation(IDENTITY, group, Signal.CROSSED,
                                   f"{how} is {said}: production account {group} "
                                   f"({prod[group]}){why}", evidence=ev))
        elif hits:
            continue
        elif i.error and i.error in ("InvalidClientTokenId", "ExpiredToken") and account:
            out.append(Observation(IDENTITY, group, Signal.STOPPED,
                                   f"{how}: AWS rejects it ({i.error})", evidence=ev))
        elif account and account in known:
            out.append(Observation(IDENTITY, group, Signal.STOPPED,
                                   f"{how} is {said}: account {account} ({known[account]})",
                                   evidence=ev))
        else:
            why = f"account {account} is not in the inventory" if account else \
                f"its account is unknown ({i.error or 'no answer'})"
            out.append(Observation(IDENTITY, group, Signal.FAILED,
                                   f"{how}: {why}", evidence=ev))
    return out


def _untried(target: Target, result: CloudResult) -> Observation:
    evidence = {"account": target.account, "arn": target.name}
    if result.unresolved or result.unreadable or not result.boto:
        why = "boto3 is missing at the vantage" if not result.boto else \
            "a credential at the vantage could not be resolved"
        return Observation(target.kind, target.account, Signal.FAILED,
                           f"{target.name}: not tried ({why})", evidence=evidence)
    # nothing was tried with an identity: nothing is proven (CLOUD-IDENT-01 says whether
    # the vantage holds none); a bucket's unsigned request, if answered, stands beside this
    return Observation(target.kind, target.account, Signal.FAILED,
                       f"{target.name}: no AWS identity at the vantage to try it with "
                       f"({len(result.read)} sources read): nothing proven", evidence=evidence)


def _tagged(o: Observation, simulated: bool) -> Observation:
    if not simulated:
        return o
    return replace(o, detail=f"[simulated] {o.detail}",
                   evidence={**o.evidence, "simulated": True})
