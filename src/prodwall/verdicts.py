"""Observations and verdicts, and the one function that turns the first into the second.

Fail closed (docs/design.md): a check passes only on positive evidence. Silence
counts as `blocked` only when a positive control from the same vantage, in
the same run, proved that an answer would have been seen.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum
from typing import Any, Literal

from prodwall.inventory.model import Waiver


class Outcome(StrEnum):
    BLOCKED = "blocked"  # pass
    REACHABLE = "reachable"  # fail
    INCONCLUSIVE = "inconclusive"  # not a pass
    WAIVED = "waived"  # reachable, covered by a valid exception; reported with the original
    NOT_REVIEWED = "not-reviewed"  # the check had zero targets: never a pass


class Signal(StrEnum):
    """What one observation says about the boundary."""

    CROSSED = "crossed"  # production (or a path to it) answered: a RST counts
    STOPPED = "stopped"  # positive evidence it stops: no route, refusal by a non-prod device
    SILENT = "silent"  # nothing came back
    FAILED = "failed"  # the probe itself could not tell (tool error, no permission, timeout)


@dataclass(frozen=True)
class ControlEvidence:
    """What a positive control showed, typed: the verdict side decides from these fields
    whether silence is evidence (positive.py), never from an evidence dict's keys."""

    passed: bool
    expect: Literal["answer", "closed"]
    observed: str
    network: str = ""  # the production network it stands for ("" outside production)
    why: str = ""  # the approved flow's justification
    next_hop: str = ""  # routed through a gateway: its answer crossed the vantage's boundary
    beyond_boundary: bool = False
    method: str = ""

    def as_evidence(self) -> dict[str, Any]:
        """The same, for the results file (JSON)."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Observation:
    kind: str  # the probe kind (Probe.kind: one a family declares in its `kinds`)
    target: str
    signal: Signal
    detail: str  # one line a human reads: "route via 198.18.0.1 dev eth0"
    host: str | None = None  # production host the target belongs to
    protocol: str | None = None
    port: int | None = None
    responder: str | None = None  # who answered, when someone did
    evidence: Mapping[str, Any] = field(default_factory=dict)
    count: int = 1  # how many identical probe outcomes this observation stands for
    ports: str | None = None  # with count > 1: the port ranges, e.g. "1-79,82-65535"
    # the service's state as the probe read it, where it reads one: "open", "closed",
    # "open|filtered", "silent"...; decisions read this, never the human-readable detail
    state: str = ""
    control: ControlEvidence | None = None  # a positive control's typed result


@dataclass(frozen=True)
class WaiverRef:
    id: str
    ticket: str
    approver: str
    justification: str
    expires: str


@dataclass(frozen=True)
class Verdict:
    check: str  # pytest node id
    controls: tuple[str, ...]
    vantage: str
    group: str  # the target group: a production network, zone or account
    outcome: Outcome
    reason: str
    original_outcome: Outcome | None = None  # set when waived
    waivers: tuple[WaiverRef, ...] = ()
    counts: Mapping[str, int] = field(default_factory=dict)  # by item outcome
    findings: tuple[str, ...] = ()  # every reachable (or waived) item, one line each
    inconclusive_items: tuple[str, ...] = ()
    evidence: Mapping[str, Any] = field(default_factory=dict)


def judge(
    observations: Iterable[Observation],
    *,
    check: str,
    controls: tuple[str, ...],
    vantage: str,
    group: str,
    positive_control: bool | None,
    waivers: Iterable[Waiver] = (),
    today: date,
    control_failure: str = "",
) -> Verdict:
    """Turn the observations of one check and target group into its verdict.

    positive_control: True if this run's positive controls passed, False if they
    failed, None if this family never relies on silence (e.g. route lookups).
    """
    obs = list(observations)
    verdict = Verdict(
        check,
        controls,
        vantage,
        group,
        Outcome.NOT_REVIEWED,
        "zero targets: nothing was probed, so nothing is proven",
    )
    if not obs:
        return verdict
    live = [w for w in waivers if not w.is_expired(today)]
    counts: Counter[str] = Counter()
    findings: list[str] = []
    inconclusive: list[str] = []
    used: dict[str, WaiverRef] = {}
    for o in obs:
        item = _item_outcome(o, positive_control)
        if item is Outcome.REACHABLE:
            waiver = next((w for w in live if _covers(w, o, controls, vantage)), None)
            if waiver is not None:
                item = Outcome.WAIVED
                used[waiver.id] = WaiverRef(
                    waiver.id,
                    waiver.ticket,
                    waiver.approver,
                    waiver.justification,
                    waiver.expires.isoformat(),
                )
                findings.append(f"{_describe(o)} (waived by {waiver.id}, {waiver.ticket})")
            else:
                findings.append(_describe(o))
        elif item is Outcome.INCONCLUSIVE:
            inconclusive.append(_describe(o))
        counts[item.value] += o.count
    total = sum(o.count for o in obs)
    verdict = replace(
        verdict,
        counts=dict(counts),
        findings=tuple(findings),
        inconclusive_items=tuple(inconclusive),
        evidence=_evidence(obs),
    )
    reachable = counts[Outcome.REACHABLE.value]
    if reachable:
        hits = [o for o in obs if _item_outcome(o, positive_control) is Outcome.REACHABLE]
        return replace(
            verdict,
            outcome=Outcome.REACHABLE,
            reason=f"{in_words(hits)} ({reachable:,} of {total:,} probes reached production)",
        )
    if inconclusive:
        why = ""
        if positive_control is False:
            why = f"; positive control failed: {control_failure or 'no control answered'}"
        return replace(
            verdict,
            outcome=Outcome.INCONCLUSIVE,
            reason=f"{len(inconclusive)} of {total} probes could not tell{why}",
        )
    if used:
        return replace(
            verdict,
            outcome=Outcome.WAIVED,
            original_outcome=Outcome.REACHABLE,
            waivers=tuple(used.values()),
            reason=f"{counts[Outcome.WAIVED.value]} of {total} probes reached "
            f"production under waiver {', '.join(sorted(used))}",
        )
    return replace(verdict, outcome=Outcome.BLOCKED, reason=f"all {total} probes blocked")


EVIDENCE_SAMPLE = 20


def _evidence(obs: list[Observation]) -> dict[str, Any]:
    """Compact evidence for every verdict, blocked ones included: what was seen, how often."""
    by_detail: Counter[str] = Counter()
    responders: Counter[str] = Counter()
    by_signal: Counter[str] = Counter()
    for o in obs:
        by_detail[o.detail] += o.count
        by_signal[o.signal.value] += o.count
        if o.responder:
            responders[o.responder] += o.count
    out: dict[str, Any] = {
        "probes": sum(o.count for o in obs),
        "by_signal": dict(by_signal),
        "by_detail": dict(by_detail.most_common(50)),
        "sample": [_describe(o) for o in obs[:EVIDENCE_SAMPLE]],
    }
    if responders:
        out["responders"] = dict(responders.most_common(50))
    methods: Counter[str] = Counter()
    for o in obs:
        if "method" in o.evidence:
            methods[str(o.evidence["method"])] += o.count
    if methods:
        out["methods"] = dict(methods)
    hops = {o.target: o.evidence["last_hop"] for o in obs if o.evidence.get("last_hop")}
    if hops:  # where it stops: the last hop that answered a traceroute
        out["last_hops"] = hops
    lossy = [
        o.evidence["sweep"]["receiver"] for o in obs if "receiver" in o.evidence.get("sweep", {})
    ]
    if lossy:  # answers the vantage's receiver dropped, and how re-probing recovered them
        out["receiver"] = lossy[0]
    filters = [o.evidence["vantage_filter"] for o in obs if "vantage_filter" in o.evidence]
    if filters:  # host evidence: the vantage's own filter, apart from the network's verdict
        out["vantage_filter"] = filters[0]
    readings = {
        json.dumps(o.evidence["distance"], sort_keys=True)
        for o in obs
        if o.evidence.get("distance")
    }
    if readings:  # who really answered: the answers' distances against production's
        out["distances"] = [json.loads(r) for r in sorted(readings)][:10]
    packets = [line for o in obs for line in o.evidence.get("packets", [])]
    if packets:  # the captured packets themselves, decoded (a sample: the pcap has them all)
        out["packets"] = list(dict.fromkeys(packets))[:25]
    files = {json.dumps(o.evidence["pcap"], sort_keys=True) for o in obs if "pcap" in o.evidence}
    if files:  # sidecar captures, named with their sha256
        out["files"] = [json.loads(f) for f in sorted(files)]
    return out


def _item_outcome(o: Observation, positive_control: bool | None) -> Outcome:
    if o.signal is Signal.CROSSED:
        return Outcome.REACHABLE
    if o.signal is Signal.STOPPED:
        return Outcome.BLOCKED
    if o.signal is Signal.SILENT:
        # Silence proves nothing unless a control proved an answer would be seen.
        return Outcome.BLOCKED if positive_control is True else Outcome.INCONCLUSIVE
    return Outcome.INCONCLUSIVE


def _covers(w: Waiver, o: Observation, controls: tuple[str, ...], vantage: str) -> bool:
    if w.control is not None and w.control not in controls:
        return False
    if w.vantage is not None and w.vantage != vantage:
        return False
    if w.finding is not None:  # a secrets finding: its fingerprint, file and rule
        fps = [str(f) for f in o.evidence.get("fingerprints", ())]
        return (
            any(w.finding.fingerprint[:16] == f[:16] for f in fps)
            and fnmatch.fnmatchcase(str(o.evidence.get("path", "")), w.finding.path)
            and w.finding.rule in (None, o.evidence.get("rule"))
        )
    if o.host != w.target:
        return False
    if not w.services:
        return True
    return any(s.protocol == o.protocol and s.port == o.port for s in w.services)


def in_words(hits: list[Observation]) -> str:
    """What reached production, said for a reader who is not a network engineer: which
    host answered on which ports first, then how many other answers there were."""
    opened: dict[str, list[str]] = {}
    rest = 0
    for o in hits:
        if o.port is not None and o.state == "open":
            opened.setdefault(o.host or o.target, []).append(f"{o.protocol}/{o.port}")
        else:
            rest += o.count
    parts = [
        f"{host} answered on {len(ports)} port{'s' if len(ports) != 1 else ''}: "
        + ", ".join(ports[:6])
        + (f" and {len(ports) - 6} more" if len(ports) > 6 else "")
        for host, ports in opened.items()
    ]
    if rest and not parts:
        first = next(o for o in hits if not (o.port is not None and o.state == "open"))
        more = rest - first.count
        parts.append(_describe(first) + (f", and {more:,} more like it" if more > 0 else ""))
    elif rest:
        parts.append(f"{rest:,} other probes were answered from production")
    return "; ".join(parts)


def _describe(o: Observation) -> str:
    if o.ports:
        where = f"{o.target} {o.protocol}/{o.ports}"
    elif o.port is not None:
        where = f"{o.target} {o.protocol}/{o.port}"
    else:
        where = o.target
    host = f" ({o.host})" if o.host else ""
    return f"{where}{host}: {o.detail}"
