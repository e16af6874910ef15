"""One prodwall run inside pytest: inventory, plan, controls, observations, verdicts.

Each probe family runs at most once per session; checks only read its
observations and hand them to `conclude`, which judges, records and turns the
verdict into a pytest outcome.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter

from prodwall.assembly import assemble
from prodwall.controls import Control
from prodwall.families.registry import RunContext, registry
from prodwall.inventory import LoadedInventory
from prodwall.plan import Plan
from prodwall.results import Results, write_results
from prodwall.runmeta import utc_now
from prodwall.vantages.testinfra_hosts import FleetHost, place
from prodwall.verdicts import Observation, Outcome, Verdict, judge


@dataclass
class ProdwallRun:
    loaded: LoadedInventory
    plan: Plan
    controls: dict[str, Control]
    today: date
    evidence_dir: Path | None = None
    started: str = field(default_factory=utc_now)
    verdicts: list[Verdict] = field(default_factory=list)
    hosts_spec: str = ""  # testinfra's --hosts: host checks across these instead of a vantage
    sudo: bool = False  # testinfra's --sudo, for those hosts
    not_automated: tuple[dict[str, str], ...] = ()  # requirements no check covers yet
    _observed: dict[str, tuple[Observation, ...]] = field(default_factory=dict)
    _hosts: dict[tuple[str, str], HostView] = field(default_factory=dict)
    _placed: dict[str, FleetHost] = field(default_factory=dict)

    @property
    def vantage_name(self) -> str:
        return self.plan.vantage_name

    def observe_host(self, family: str, host: Any) -> HostView:
        """The family's observations of one host. Without --hosts the host is the run's
        vantage (testinfra's default local `host` stands for it); with --hosts, each
        testinfra host is a vantage of its own in the environment the inventory gives it."""
        if not self.hosts_spec:
            planned = tuple(p.target for p in self.plan.of_kind(*registry()[family].kinds))
            return HostView(self.vantage_name, "", planned, self.observe(family))
        key = (family, host.backend.get_pytest_id())
        if key not in self._hosts:
            self._hosts[key] = self._probe_host(family, host)
        return self._hosts[key]

    def _probe_host(self, family: str, host: Any) -> HostView:
        hid = host.backend.get_pytest_id()
        if hid not in self._placed:  # placed once (ansible-inventory is slow), for every family
            self._placed[hid] = place(host, self.loaded.inventory, self.sudo)
        placed = self._placed[hid]
        if placed.vantage is None:
            return HostView(placed.id, placed.why, (), ())
        fam = registry()[family]
        probes = tuple(fam.plan(self.loaded.inventory, placed.vantage, self.today))
        plan = replace(self.plan, vantage_name=placed.id, vantage=placed.vantage, probes=probes)
        context = RunContext(plan, self.evidence_dir, self.loaded.inventory)
        return HostView(
            placed.id,
            "",
            tuple(p.target for p in probes),
            fam.run(probes, context),
            placed.vantage.environment,
        )

    def observe(self, family: str) -> tuple[Observation, ...]:
        """Observations of one probe family, probing on first use only."""
        if family not in self._observed:
            fam = registry()[family]
            context = RunContext(self.plan, self.evidence_dir, self.loaded.inventory)
            self._observed[family] = fam.run(self.plan.of_kind(*fam.kinds), context)
        return self._observed[family]

    def conclude(
        self,
        item: pytest.Item,
        observations: tuple[Observation, ...] | list[Observation],
        group: str,
        *,
        positive_control: bool | None,
        control_failure: str = "",
        controls_seen: tuple[Observation, ...] | list[Observation] = (),
        notes: Mapping[str, Any] | None = None,
        vantage: str = "",
    ) -> Verdict:
        verdict = judge(
            observations,
            check=item.nodeid,
            controls=control_ids(item),
            vantage=vantage or self.vantage_name,
            group=group,
            positive_control=positive_control,
            waivers=self.loaded.inventory.policy.waivers,
            today=self.today,
            control_failure=control_failure,
        )
        if positive_control is not None:
            # the report shows which controls made silence count (or not)
            verdict = replace(
                verdict,
                evidence={
                    **verdict.evidence,
                    "positive_controls": {
                        "passed": positive_control,
                        "why_not": control_failure,
                        "controls": [o.detail for o in controls_seen],
                    },
                },
            )
        kept = {k: v for k, v in (notes or {}).items() if v}
        if kept:  # limitations and allowed flows: stated beside the evidence, never judged
            verdict = replace(verdict, evidence={**verdict.evidence, **kept})
        self.record(verdict)
        item.user_properties.append((VERDICT_PROPERTY, verdict_json(verdict)))
        # carried into pytest's junit.xml <properties> and the pytest-html rows
        item.user_properties += [
            *(("control", c) for c in verdict.controls),
            ("vantage", verdict.vantage),
            ("target", verdict.group),
            ("outcome", verdict.outcome.value),
        ]
        _to_pytest(verdict)
        return verdict

    def record(self, verdict: Verdict, update: bool = False) -> None:
        """Once per check, target group and vantage: a verdict a worker of pytest-xdist
        reached also arrives with its report, on the process that writes the results.
        `update`: the same verdict, completed (its run time), replaces the one recorded."""
        same = (verdict.check, verdict.group, verdict.vantage)
        known = [i for i, v in enumerate(self.verdicts) if (v.check, v.group, v.vantage) == same]
        if not known:
            self.verdicts.append(verdict)
        elif update:
            self.verdicts[known[0]] = verdict

    def has_verdict(self, nodeid: str) -> bool:
        return any(v.check == nodeid for v in self.verdicts)

    def results(self) -> Results:
        return assemble(
            self.loaded,
            self.plan,
            self.controls,
            tuple(self.verdicts),
            started=self.started,
            today=self.today,
            not_automated=self.not_automated,
        )

    def write(self, path: Path) -> None:
        write_results(self.results(), path)


@dataclass(frozen=True)
class HostView:
    vantage: str  # the run's vantage, or testinfra's host id
    unplaced: str  # why the inventory does not place the host ("": placed)
    planned: tuple[str, ...]  # the family's planned targets there
    observations: tuple[Observation, ...]
    environment: str = ""


VERDICT_PROPERTY = "prodwall-verdict"
_VERDICT = TypeAdapter(Verdict)


def verdict_json(verdict: Verdict) -> str:
    return json.dumps(asdict(verdict), default=str)


def verdict_from_json(text: str) -> Verdict:
    return _VERDICT.validate_python(json.loads(text))


def control_ids(item: pytest.Item) -> tuple[str, ...]:
    ids: list[str] = []
    for mark in item.iter_markers("control"):
        ids.extend(str(a) for a in mark.args)
    return tuple(dict.fromkeys(ids))


def _to_pytest(verdict: Verdict) -> None:
    if verdict.outcome is Outcome.BLOCKED:
        return None
    if verdict.outcome is Outcome.WAIVED:
        pytest.xfail(f"waived (reachable): {verdict.reason}")
    if verdict.outcome is Outcome.NOT_REVIEWED:
        pytest.skip(f"not reviewed: {verdict.reason}")
    lines = [f"{verdict.outcome.value}: {verdict.reason}"]
    lines += [f"  reachable: {f}" for f in verdict.findings[:50]]
    lines += [f"  inconclusive: {f}" for f in verdict.inconclusive_items[:20]]
    pytest.fail("\n".join(lines), pytrace=False)
