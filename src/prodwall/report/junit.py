"""JUnit XML from the results: one case per verdict, carrying control ids, vantage and target."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import defaultdict

from ..verdicts import Outcome, Verdict
from .combined import Combined


def render(c: Combined) -> str:
    suites = ET.Element("testsuites", name="prodwall")
    by_vantage: dict[str, list[Verdict]] = defaultdict(list)
    for v in c.verdicts:
        by_vantage[v.vantage].append(v)
    for vantage, verdicts in sorted(by_vantage.items()):
        failures = sum(v.outcome is Outcome.REACHABLE for v in verdicts)
        errors = sum(v.outcome is Outcome.INCONCLUSIVE for v in verdicts)
        skipped = sum(v.outcome in (Outcome.WAIVED, Outcome.NOT_REVIEWED) for v in verdicts)
        suite = ET.SubElement(
            suites,
            "testsuite",
            name=f"prodwall.{vantage}",
            tests=str(len(verdicts)),
            failures=str(failures),
            errors=str(errors),
            skipped=str(skipped),
        )
        for v in verdicts:
            case = ET.SubElement(
                suite, "testcase", classname=",".join(v.controls), name=f"{v.check} [{vantage}]"
            )
            props = ET.SubElement(case, "properties")
            for cid in v.controls:
                ET.SubElement(props, "property", name="control", value=cid)
            for name, value in (
                ("vantage", vantage),
                ("target", v.group),
                ("outcome", v.outcome.value),
            ):
                ET.SubElement(props, "property", name=name, value=value)
            text = "\n".join([*v.findings[:200], *v.inconclusive_items[:200]])
            if v.outcome is Outcome.REACHABLE:
                ET.SubElement(case, "failure", message=v.reason, type="reachable").text = text
            elif v.outcome is Outcome.INCONCLUSIVE:
                # not a pass, and not a proven leak either: CI shows it as an error
                ET.SubElement(case, "error", message=v.reason, type="inconclusive").text = text
            elif v.outcome is Outcome.WAIVED:
                ET.SubElement(case, "skipped", message=f"waived (reachable): {v.reason}")
            elif v.outcome is Outcome.NOT_REVIEWED:
                ET.SubElement(case, "skipped", message=f"not reviewed: {v.reason}")
    ET.indent(suites)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suites, encoding="unicode")
