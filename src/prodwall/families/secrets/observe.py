"""The runner's side of the secrets family: the job (every environment's endpoints
from the inventory, the run's fingerprint key, a canary), the agent run at the
vantage, and observations: a production credential or connection string is
`crossed` (production is one copy-paste away); a source read in full with nothing
of production is silence, which counts only if the canary was found.

Production secrets' fingerprints stay here: a credential found at the vantage is
matched by its fingerprint on this side, so a vantage never holds both the key
and the fingerprints it could guess passwords against."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass, replace

from prodwall.engine.protocol import ProtocolError
from prodwall.errors import ProdwallError
from prodwall.families.secrets.records import (
    EnvironmentMap,
    Finding,
    ScanOptions,
    SecretJob,
    SecretResult,
)
from prodwall.fingerprint import KEY_ENV, fingerprint, key_given, load_key
from prodwall.inventory.model import Inventory
from prodwall.plan import Plan, Probe
from prodwall.vantages.agent import AgentError, run_agent
from prodwall.verdicts import Observation, Signal

AGENT = "prodwall.families.secrets.vantage_agent"
CANARY_USER = "prodwall-canary"


@dataclass(frozen=True)
class Key:
    value: bytes
    from_run: bool  # False: no key was given; fingerprints cannot match the inventory's


def run_key() -> Key:
    """The run's fingerprint key ($PRODWALL_FINGERPRINT_KEY), or a throwaway one: the
    values are fingerprinted either way, never carried."""
    if key_given():
        try:
            return Key(load_key(None), True)
        except ProdwallError:
            pass
    return Key(secrets.token_bytes(32), False)


def environment_maps(inv: Inventory) -> tuple[EnvironmentMap, ...]:
    out = []
    for name, env in inv.environments.items():
        hosts: dict[str, str] = {}
        for host_name, host in env.hosts.items():
            for dns in host.names:
                hosts[dns] = host_name
            for address in host.addresses:
                hosts[str(address)] = host_name
        out.append(
            EnvironmentMap(
                name=name,
                tier=env.tier,
                domains=tuple(env.dns_domains),
                hosts=hosts,
                networks=tuple(str(n) for n in env.networks),
                aws_accounts=tuple(env.cloud.aws_accounts),
                api_servers=tuple(env.cloud.kubernetes_api_servers),
                ssh_keys=tuple(k.sha256 for k in env.ssh_keys),
            )
        )
    return tuple(out)


def canary(inv: Inventory) -> tuple[str, str]:
    """(text, password): a made-up connection string to a production host name, with a
    fresh password, which the vantage's pipeline must find and attribute."""
    password = "cn-" + secrets.token_urlsafe(18)
    prod = [h for e in inv.production().values() for h in e.hosts.values()]
    host = next((n for h in prod for n in h.names), "")
    host = host or next((str(a) for h in prod for a in h.addresses), "")
    if not host:
        return "", password
    return f"DATABASE_URL=postgres://{CANARY_USER}:{password}@{host}:5432/canary\n", password


def run(probes: tuple[Probe, ...], plan: Plan, inv: Inventory) -> tuple[Observation, ...]:
    if not probes:
        return ()
    key = run_key()
    text, password = canary(inv)
    scan = inv.secret_scan
    sources = {p.target for p in probes}
    job = SecretJob(
        key=key.value.hex(),
        environments=environment_maps(inv),
        options=ScanOptions(
            paths=tuple(scan.paths) if sources & {"files", "manifests"} else (),
            include=tuple(scan.include),
            exclude=tuple(scan.exclude),
            max_file_bytes=scan.max_file_bytes,
            max_files=scan.max_files,
            archives=scan.archives,
            git_history=scan.git_history,
            processes="processes" in sources,
            credential_stores="stores" in sources,
            manifests="manifests" in sources,
            resolve_hosts=scan.resolve_hosts,
        ),
        canary=text,
    )
    try:
        raw = run_agent(plan.vantage, AGENT, job.to_json(), 1800)
        result = SecretResult.from_json(raw)
    except (AgentError, ProtocolError) as exc:
        return tuple(Observation("secrets", p.target, Signal.FAILED, str(exc)) for p in probes)
    return tuple(observe(result, probes, inv, key, fingerprint(password.encode(), key.value)))


def observe(
    result: SecretResult, probes: Iterable[Probe], inv: Inventory, key: Key, canary_fp: str
) -> list[Observation]:
    named = _production_fingerprints(inv) if key.from_run else {}
    found = [_by_fingerprint(f, named) for f in result.findings]
    canary_ok = any(
        f.tier == "production" and canary_fp in f.fingerprints for f in result.canary_found
    )
    stats = {s.source: s for s in result.stats}
    out: list[Observation] = []
    for probe in probes:
        source = probe.target
        mine = [f for f in found if f.source == source]
        prod = [f for f in mine if f.tier == "production"]
        for f in prod:
            out.append(_crossed(f))
            if f.kind == "connection-string" and f.fingerprints:
                # the password inside it is a production credential stored here as well
                out.append(_crossed(replace(f, kind="credential")))
        st = stats.get(source)
        unattributed = _unique([f for f in mine if not f.environment and f.fingerprints])
        evidence = {
            "source": source,
            "read": st.to_json() if st else {},
            "canary_found": canary_ok,
            "limitation": "" if key.from_run else (
                f"no fingerprint key (${KEY_ENV}): values were fingerprinted under a throwaway "
                "key, so production secrets were not matched by fingerprint"
            ),
            "unattributed": [_line(f) for f in unattributed[:50]],
            "unattributed_count": len(unattributed),
            "unreadable": [f"{u.what}: {u.why}" for u in result.unreadable if u.source ==
                           ("files" if source != "processes" else "processes")][:50],
            "truncated": result.truncated,
        }  # fmt: skip
        if st is None or (st.items == 0 and source != "manifests" and source != "stores"):
            why = f"{source}: nothing could be read"
            out.append(Observation("secrets", source, Signal.FAILED, why, evidence=evidence))
            continue
        # what was read, with nothing of production beyond the findings above: silence,
        # which counts as blocked only with the canary found
        out.append(
            Observation(
                "secrets",
                source,
                Signal.SILENT,
                f"{source}: {st.items:,} read ({st.bytes / 1e6:.1f} MB); "
                f"{st.non_production} pointing at other environments",
                evidence=evidence,
            )
        )
    return out


def _production_fingerprints(inv: Inventory) -> dict[str, tuple[str, str]]:
    return {
        s.hmac_sha256: (env_name, s.name)
        for env_name, env in inv.production().items()
        for s in env.secrets
    }


def _by_fingerprint(f: Finding, named: dict[str, tuple[str, str]]) -> Finding:
    """A secret whose fingerprint is a production secret's is production's, wherever the
    string around it points (a production password reused on a dev host included)."""
    match = next((named[fp] for fp in f.fingerprints if fp in named), None)
    if match is None:
        return f
    env, secret = match
    return replace(
        f,
        environment=env,
        tier="production",
        attributed_by="fingerprint",
        confidence="high",
        detail=f"{f.detail} (the secret is production's {secret}, by fingerprint)",
    )


def _crossed(f: Finding) -> Observation:
    return Observation(
        f.kind,
        f"{f.path}:{f.line}" if f.line else f.path,
        Signal.CROSSED,
        f"{f.detail}: production ({f.environment}, by {f.attributed_by}, {f.confidence} "
        "confidence)" + (f" [fingerprint {f.fingerprints[0][:16]}]" if f.fingerprints else ""),
        host=f.target or None,
        protocol=f.rule,
        evidence={
            "source": f.source,
            "path": f.path,
            "line": f.line,
            "rule": f.rule,
            "target": f.target,
            "environment": f.environment,
            "attributed_by": f.attributed_by,
            "confidence": f.confidence,
            "fingerprints": [fp[:16] for fp in f.fingerprints],
        },
    )


def _unique(findings: list[Finding]) -> list[Finding]:
    seen: set[tuple[str, ...]] = set()
    out = []
    for f in findings:
        if f.fingerprints not in seen:
            seen.add(f.fingerprints)
            out.append(f)
    return out


def _line(f: Finding) -> str:
    fps = ",".join(fp[:16] for fp in f.fingerprints)
    return f"{f.path}:{f.line} {f.rule} {f.target or '(no target)'} [{fps}]"
