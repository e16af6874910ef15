"""JUnit XML from the results: one case per verdict, carrying control ids, vantage and target."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from datetime import datetime

from prodwall.report.citations import capture_refs
from prodwall.report.combined import Combined
from prodwall.verdicts import Outcome, Verdict


def render(c: Combined, prefixes: dict[str, str] | None = None) -> str:
    suites = ET.Element("testsuites", name="prodwall")
    by_vantage: dict[str, list[Verdict]] = defaultdict(list)
    for v in c.verdicts:
        by_vantage[v.vantage].append(v)
    span = {r.meta.vantage.name: (r.meta.started_utc, r.meta.finished_utc) for r in c.runs}
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
        for key, value in _times(span.get(vantage)).items():
            suite.set(key, value)
        for v in verdicts:
            case = ET.SubElement(
                suite, "testcase", classname=",".join(v.controls), name=f"{v.check} [{vantage}]"
            )
            if isinstance(v.evidence.get("seconds"), int | float):
                case.set("time", f"{float(v.evidence['seconds']):.3f}")
            props = ET.SubElement(case, "properties")
            for cid in v.controls:
                ET.SubElement(props, "property", name="control", value=cid)
                for fw, refs in c.catalogue.get(cid, {}).get("references", {}).items():
                    for ref in refs:
                        ET.SubElement(props, "property", name="requirement", value=f"{fw} {ref}")
            for name, value in (
                ("vantage", vantage),
                ("target", v.group),
                ("outcome", v.outcome.value),
            ):
                ET.SubElement(props, "property", name=name, value=value)
            for path, _sha in capture_refs(v.evidence, (prefixes or {}).get(vantage, "")):
                ET.SubElement(props, "property", name="capture", value=path)
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
    _coverage(suites, c)
    ET.indent(suites)
    text = ET.tostring(suites, encoding="unicode")
    # XML 1.0 has no way to carry most C0 controls (ElementTree writes them raw, which no
    # parser accepts): a name or finding holding one is shown as \xNN instead
    return '<?xml version="1.0" encoding="utf-8"?>\n' + _NOT_XML.sub(_shown, text)


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def _shown(m: re.Match[str]) -> str:
    return f"\\x{ord(m.group()):02x}"


def _coverage(suites: ET.Element, c: Combined) -> None:
    """What did not run, as skipped cases, and partial coverage as an error: CI does not
    show green for what the headline calls partial."""
    cov = c.coverage()
    cases: list[tuple[str, str, str]] = [
        (f"planned probes: {kind}", "skipped", "planned, but no probe family is installed")
        for kind in cov.not_run
    ]
    cases += [
        (f"control {cid}", "skipped", "no reviewed check of this control in this run")
        for cid in cov.unreviewed_controls
    ]
    if cov.partial:
        cases.append(("coverage", "error", f"partial: {cov.missing()}"))
    if not cases:
        return
    suite = ET.SubElement(
        suites,
        "testsuite",
        name="prodwall.coverage",
        tests=str(len(cases)),
        failures="0",
        errors=str(sum(kind == "error" for _, kind, _ in cases)),
        skipped=str(sum(kind == "skipped" for _, kind, _ in cases)),
    )
    for name, kind, message in cases:
        case = ET.SubElement(suite, "testcase", classname="prodwall.coverage", name=name)
        if kind == "error":
            ET.SubElement(case, "error", message=message, type="partial")
        else:
            ET.SubElement(case, "skipped", message=message)


def _times(span: tuple[str, str] | None) -> dict[str, str]:
    """The run's start and duration (JUnit's timestamp and time, in seconds)."""
    if span is None:
        return {}
    try:
        start, end = (datetime.fromisoformat(t.replace("Z", "+00:00")) for t in span)
    except ValueError:
        return {}
    return {"timestamp": span[0], "time": f"{max((end - start).total_seconds(), 0):.3f}"}
