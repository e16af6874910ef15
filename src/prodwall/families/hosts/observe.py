"""The runner's side of the hosts family: the agent's facts judged against the inventory.

Production is named the way the secrets family names it (one attributor: host names,
networks, domains); a hashed known_hosts entry is matched by hashing every production
name and address with its salt; a known host key or a private key is production's when
its fingerprint is one of the inventory's production `ssh_keys`. What was read with
nothing of production is positive evidence (the file said so), not silence; a file
that could not be read is `inconclusive`."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Iterator
from datetime import date

from prodwall.engine.protocol import ProtocolError
from prodwall.families.hosts import egress, guard_judge
from prodwall.families.hosts.records import HostsJob, HostsResult
from prodwall.families.secrets.attribute import Attributor
from prodwall.families.secrets.observe import Key, environment_maps, run_key
from prodwall.inventory.model import Environment, Inventory, Vantage
from prodwall.plan import Plan, Probe
from prodwall.vantages.agent import AgentError, run_agent
from prodwall.verdicts import Observation, Signal

AGENT = "prodwall.families.hosts.vantage_agent"


def job_for(vantage: Vantage, inv: Inventory, aspects: set[str], key: Key) -> HostsJob:
    env = inv.environments[vantage.environment]
    policy = env.host_policy
    production = bool(aspects & set(guard_judge.PROD_ASPECTS))
    return HostsJob(
        egress="egress" in aspects,
        production=production,
        break_glass=tuple(policy.break_glass) if production else (),
        log_paths=tuple(policy.log_paths) if "logs" in aspects else (),
        log_sample_bytes=policy.log_sample_bytes,
        log_max_files=policy.log_max_files,
        key=key.value.hex() if "logs" in aspects else "",
    )


def run(probes: tuple[Probe, ...], plan: Plan, inv: Inventory) -> tuple[Observation, ...]:
    if not probes:
        return ()
    key = run_key()
    job = job_for(plan.vantage, inv, {p.target for p in probes}, key)
    try:
        raw = run_agent(plan.vantage, AGENT, job.to_json(), 600)
        result = HostsResult.from_json(raw)
    except (AgentError, ProtocolError) as exc:
        return tuple(
            Observation("host", p.target, Signal.FAILED, str(exc), evidence={"aspect": p.target})
            for p in probes
        )
    env = inv.environments[plan.vantage.environment]
    allowed = allowed_flows(inv, plan.vantage.environment, plan.planned_on)
    return tuple(observe(result, probes, inv, env, key.from_run, allowed))


def allowed_flows(inv: Inventory, environment: str, today: date) -> set[tuple[str, str, int]]:
    """(address, protocol, port) of every unexpired allowed flow from this environment."""
    out: set[tuple[str, str, int]] = set()
    for flow in inv.policy.allowed_flows:
        if flow.from_ != environment or flow.is_expired(today):
            continue
        host = next((e.hosts[flow.to] for e in inv.environments.values() if flow.to in e.hosts),
                    None)  # fmt: skip
        for address in host.addresses if host else ():
            out |= {(str(address), svc.protocol, svc.port) for svc in flow.services}
    return out


def observe(
    result: HostsResult,
    probes: tuple[Probe, ...],
    inv: Inventory,
    env: Environment | None = None,
    key_from_run: bool = False,
    allowed: set[tuple[str, str, int]] | None = None,
) -> Iterator[Observation]:
    judge = _Judge(inv)
    for probe in probes:
        aspect = probe.target
        if aspect in guard_judge.PROD_ASPECTS:
            if env is None:
                raise ValueError("production aspects are judged against their environment")
            yield from guard_judge.judge(aspect, result, env, inv, key_from_run)
            continue
        if aspect == "egress":
            yield from egress_observations(result, inv, allowed or set())
            continue
        found = list(judge.aspect(aspect, result))
        yield from found
        wanted = WANTED[aspect]
        unread = [u for u in result.unreadable if any(w in u.what for w in wanted)]
        for u in unread:
            yield Observation(
                "host",
                aspect,
                Signal.FAILED,
                f"{u.what} could not be read: {u.why}",
                evidence={"aspect": aspect},
            )
        if not found and not unread:
            read = [p for p in result.read if any(w in p for w in wanted)]
            if aspect == "live":
                read = [
                    f"{len(result.connections)} open connections, "
                    f"{len(result.mounts)} network mounts, {len(result.tunnels)} forwarders"
                ]
            yield Observation(
                "host",
                aspect,
                Signal.STOPPED,
                f"{aspect}: read {', '.join(read) or 'nothing there to read'}; nothing of "
                "production",
                evidence={"aspect": aspect, "read": read},
            )


WANTED = {  # the files each aspect reads: one of them unread makes it inconclusive
    "name-resolution": ("/etc/hosts", "/etc/resolv.conf"),
    "ssh": (".ssh", "ssh_"),
    "live": ("/proc/net/", "/proc/mounts"),
}


class _Judge:
    def __init__(self, inv: Inventory) -> None:
        self.attributor = Attributor(environment_maps(inv))
        prod = inv.production()
        self.names = sorted(
            {str(n) for e in prod.values() for h in e.hosts.values() for n in h.names}
            | {str(a) for e in prod.values() for h in e.hosts.values() for a in h.addresses}
        )
        self.keys = {k.sha256: k.name for e in prod.values() for k in e.ssh_keys}

    def _prod(self, host: str) -> str:
        """'' or why `host` is production's."""
        host = host.strip("[]").split("]:", 1)[0]
        found = self.attributor.host(host)
        if found is None or found.tier != "production":
            return ""
        return f"{host} is production's ({found.environment}, by {found.by})"

    def aspect(self, aspect: str, result: HostsResult) -> Iterator[Observation]:
        if aspect == "name-resolution":
            return self.name_resolution(result)
        if aspect == "ssh":
            return self.ssh(result)
        return self.live(result)

    def live(self, result: HostsResult) -> Iterator[Observation]:
        """Connections, mounts and forwarders toward production, as they stand now."""
        for c in result.connections:
            why = self._prod(c.remote)
            if why:
                what = f"an open TCP connection ({c.state}) to {c.remote}:{c.port}: {why}"
                yield _crossed("live", f"{c.remote}:{c.port}", what)
        for m in result.mounts:
            why = self._prod(m.source)
            if why:
                what = f"{m.fstype} mount of {m.source} on {m.mountpoint}: {why}"
                yield _crossed("live", m.mountpoint, what)
        for t in result.tunnels:
            why = next((w for w in (self._prod(h) for h in t.hosts) if w), "")
            if why:
                kind = "session forwarding the ssh agent" if t.agent_forwarding else "forwarder"
                what = f"a {t.program} {kind} (pid {t.pid}) toward production: {why}"
                yield _crossed("live", f"pid {t.pid}", what)

    def name_resolution(self, result: HostsResult) -> Iterator[Observation]:
        for e in result.etc_hosts:
            why = self._prod(e.address) or next(
                (w for w in (self._prod(n) for n in e.names) if w), ""
            )
            if why:
                yield _crossed(
                    "name-resolution",
                    f"/etc/hosts:{e.line}",
                    f"/etc/hosts maps {' '.join(e.names)} to {e.address}: {why}",
                )
        for server in result.resolvers:
            why = self._prod(server)
            if why:
                yield _crossed(
                    "name-resolution",
                    "/etc/resolv.conf",
                    f"resolv.conf uses nameserver {server}: {why}",
                )

    def ssh(self, result: HostsResult) -> Iterator[Observation]:
        for h in result.ssh_hosts:
            for where in (h.hostname, *h.patterns, h.proxy_jump.split("@")[-1].split(":")[0]):
                why = self._prod(where) if where and "*" not in where else ""
                if why:
                    agent = " with agent forwarding" if h.forward_agent else ""
                    what = f"ssh config Host {' '.join(h.patterns)}{agent}: {why}"
                    yield _crossed("ssh", f"{h.file}:{h.line}", what)
                    break
        for k in result.known_hosts:
            why = next((w for w in (self._prod(n) for n in k.names) if w), "")
            why = why or self._hashed(k.hashed)
            if not why and k.key_fingerprint in self.keys:
                why = f"its key is production's {self.keys[k.key_fingerprint]}"
            if why:
                yield _crossed("ssh", f"{k.file}:{k.line}", f"known_hosts entry: {why}")
        for key in result.keys:
            if key.public_fingerprint in self.keys:
                yield _crossed(
                    "ssh",
                    key.path,
                    f"private key {key.public_fingerprint} is production's "
                    f"{self.keys[key.public_fingerprint]}",
                )

    def _hashed(self, entries: tuple[str, ...]) -> str:
        """A hashed entry (|1|salt|hash) of a production name or address, found by hashing
        each of them with the entry's salt, as ssh-keygen -F does."""
        for entry in entries:
            try:
                _, _, salt, digest = entry.split("|", 3)
                key, want = base64.b64decode(salt), base64.b64decode(digest)
            except (ValueError, binascii.Error):
                continue
            for name in self.names:
                if hmac.compare_digest(hmac.new(key, name.encode(), hashlib.sha1).digest(), want):
                    return f"hashed entry of {name}, production's"
        return ""


def _egress_unknown(target: str, why: str) -> Observation:
    """A ruleset that cannot be read proves nothing: the egress check is inconclusive."""
    return Observation("host", target, Signal.FAILED, f"egress filter: {why}",
                       evidence={"aspect": "egress"})


def egress_observations(
    result: HostsResult, inv: Inventory, allowed: set[tuple[str, str, int]]
) -> Iterator[Observation]:
    """Per production network: the live ruleset drops every new flow to it, or not."""
    networks = list(inv.production_networks())
    chains: dict[str, egress.Chain] = {}
    base: list[str] = []
    read = []
    for rs in result.rulesets:
        if rs.error:
            yield _egress_unknown(rs.tool, rs.error)
            return
        try:
            more, more_base = (
                egress.from_nft(rs.text)
                if rs.tool == "nft"
                else egress.from_iptables(rs.text, 6 if rs.tool.startswith("ip6") else 4, rs.tool)
            )
        except (ValueError, KeyError, TypeError) as exc:
            yield _egress_unknown(rs.tool, f"{rs.tool}'s output could not be read "
                                  f"({type(exc).__name__})")
            return
        chains.update(more)
        base += more_base
        read.append(rs.tool)
    if not read:
        yield _egress_unknown("egress", "no ruleset was read")
        return
    for net, outcome in egress.judge(networks, chains, base, allowed).items():
        signal = Signal.STOPPED if outcome.dropped else Signal.CROSSED
        detail = (
            f"egress filter ({', '.join(read)}) toward {net}: "
            + ("every new flow dropped: " if outcome.dropped else "not dropped: ")
            + outcome.why
        )
        yield Observation("host", net, signal, detail, evidence={"aspect": "egress"})


def _crossed(aspect: str, where: str, detail: str) -> Observation:
    return Observation("host", where, Signal.CROSSED, detail, evidence={"aspect": aspect})
