"""One prodwall run inside pytest: inventory, plan, controls, observations, verdicts.

Each probe family runs at most once per session; checks only read its
observations and hand them to `conclude`, which judges, records and turns the
verdict into a pytest outcome.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from .assembly import assemble
from .controls import Control
from .families import RunContext, registry
from .inventory import LoadedInventory
from .plan import Plan
from .results import Results, write_results
from .runmeta import utc_now
from .verdicts import Observation, Outcome, Verdict, judge


@dataclass
class ProdwallRun:
    loaded: LoadedInventory
    plan: Plan
    controls: dict[str, Control]
    today: date
    evidence_dir: Path | None = None
    started: str = field(default_factory=utc_now)
    verdicts: list[Verdict] = field(default_factory=list)
    _observed: dict[str, tuple[Observation, ...]] = field(default_factory=dict)

    @property
    def vantage_name(self) -> str:
        return self.plan.vantage_name

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
    ) -> Verdict:
        verdict = judge(
            observations,
            check=item.nodeid,
            controls=control_ids(item),
            vantage=self.vantage_name,
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
        # carried into pytest's junit.xml <properties> and the pytest-html rows
        item.user_properties += [
            *(("control", c) for c in verdict.controls),
            ("vantage", verdict.vantage),
            ("target", verdict.group),
            ("outcome", verdict.outcome.value),
        ]
        _to_pytest(verdict)
        return verdict

    def record(self, verdict: Verdict) -> None:
        self.verdicts.append(verdict)

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
        )

    def write(self, path: Path) -> None:
        write_results(self.results(), path)


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
