"""An OSCAL 1.1.2 assessment-results document, for GRC tools.

- Each verdict is an observation (what was probed and seen, with its vantage as the
  subject and its evidence files as hashed links).
- Each verdict is also one finding per framework requirement its controls map. NIST
  SP 800-53 findings target the control's statement (`sc-7.5_smt`); the other
  frameworks' requirements are named by a prop of their own.
- Each reachable cause is a risk, with the catalogue's remediation.
- The back-matter holds the assessment plan the results import (the inventory, by its
  sha256) and the results files.
- The document's uuid is derived from the content: different content gets a different
  uuid, and the same content gets the same one.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from prodwall import __version__
from prodwall.report.citations import capture_refs
from prodwall.report.combined import Combined
from prodwall.report.findings import by_cause
from prodwall.report.findings_section import report_id, results_hash
from prodwall.verdicts import Outcome

_NS = uuid.UUID("6f1d2a4e-8c1b-4e0a-9a57-70726f6477a1")  # prodwall's namespace for uuid5
NS = "https://prodwall.dev/ns/oscal"
FRAMEWORK_PROP = {
    "pci-dss-4.0.1": "pci-dss-4.0.1-requirement",
    "iso27001-2022": "iso-27001-2022-control",
    "soc2": "soc2-2017-criterion",
}


def _uid(*parts: str) -> str:
    return str(uuid.uuid5(_NS, "|".join(parts)))


def _nist(ref: str) -> str:
    """SC-7(5) -> sc-7.5, as OSCAL's NIST catalogue spells control ids."""
    return ref.lower().replace("(", ".").replace(")", "")


def _prop(name: str, value: str) -> dict[str, str]:
    return {"name": name, "ns": NS, "value": value}


def render(
    c: Combined, files: dict[str, str] | None = None, prefixes: dict[str, str] | None = None
) -> str:
    """`files`: the bundle's data files (name -> sha256), linked from the back-matter."""
    digest = results_hash(c)
    doc_uuid = _uid("assessment-results", digest)
    plan_uuid = _uid("plan", *(r.meta.inventory_sha256 for r in c.runs))
    first, last = c.runs[0].meta, c.runs[-1].meta
    subjects = {v.vantage: _uid("vantage", v.vantage) for v in c.verdicts}
    observations, findings, reviewed = [], [], set()
    risks = _risks(c)
    risk_of = {id(v): r["uuid"] for r, vs in risks for v in vs}
    evidence: list[dict[str, Any]] = []
    for run in c.runs:
        for v in run.verdicts:
            obs_id = _uid(digest, run.meta.started_utc, v.vantage, v.check, v.group)
            links = []
            for path, sha in capture_refs(v.evidence, (prefixes or {}).get(v.vantage, "")):
                res = _uid("evidence", sha, path)
                evidence.append(_resource(res, path, path, sha, "evidence"))
                links.append({"href": f"#{res}", "description": f"capture {path}"})
            observations.append(
                {
                    "uuid": obs_id,
                    "title": f"{v.check} from {v.vantage}",
                    "description": v.reason,
                    "props": [_prop("outcome", v.outcome.value), _prop("target", v.group)],
                    "methods": ["TEST"],
                    "types": ["finding" if v.findings else "control-objective"],
                    "subjects": [{"subject-uuid": subjects[v.vantage], "type": "component"}],
                    "relevant-evidence": [
                        *({"description": f} for f in v.findings[:20]),
                        *links,
                    ]
                    or [
                        {
                            "description": "; ".join(f"{n} {k}" for k, n in v.counts.items())
                            or v.reason
                        }
                    ],
                    "collected": run.meta.finished_utc,
                }
            )
            satisfied = v.outcome in (Outcome.BLOCKED, Outcome.WAIVED)
            for fw, ref, title in _requirements(c, v.controls):
                if fw == "nist-800-53r5":
                    reviewed.add(_nist(ref))
                finding: dict[str, Any] = {
                    "uuid": _uid(obs_id, fw, ref),
                    "title": f"{fw} {ref}: {title or ', '.join(v.controls)}",
                    "description": f"{', '.join(v.controls)} from {v.vantage} for {v.group}: "
                    f"{v.reason}",
                    "props": [
                        *(_prop("prodwall-control", cid) for cid in v.controls),
                        *([_prop(FRAMEWORK_PROP[fw], ref)] if fw in FRAMEWORK_PROP else []),
                    ],
                    "target": {
                        "type": "statement-id",
                        "target-id": f"{_nist(ref)}_smt"
                        if fw == "nist-800-53r5"
                        else f"{fw}-{ref}".lower().replace(".", "-") + "_smt",
                        "status": {
                            "state": "satisfied" if satisfied else "not-satisfied",
                            "reason": "pass" if satisfied else "fail",
                        },
                    },
                    "related-observations": [{"observation-uuid": obs_id}],
                }
                if id(v) in risk_of:
                    finding["related-risks"] = [{"risk-uuid": risk_of[id(v)]}]
                findings.append(finding)
    doc = {
        "assessment-results": {
            "uuid": doc_uuid,
            "metadata": {
                "title": f"prodwall environment isolation: {first.inventory_name}",
                "last-modified": datetime.now(UTC).isoformat(timespec="seconds"),
                "version": report_id(c),
                "oscal-version": "1.1.2",
                "props": [_prop("prodwall-version", __version__)],
            },
            "import-ap": {"href": f"#{plan_uuid}"},
            "local-definitions": {
                "activities": [
                    {
                        "uuid": _uid("activity", digest),
                        "title": "prodwall isolation probes",
                        "description": "Crafted probes from non-production vantages toward the "
                        "inventory's production addresses, names and services, and reads of "
                        "the hosts given; judged fail closed against positive controls.",
                        "props": [_prop("method", "TEST")],
                    }
                ]
            },
            "results": [
                {
                    "uuid": _uid("result", digest),
                    "title": "prodwall isolation checks",
                    "description": f"{len(c.verdicts)} checks from {len(subjects)} vantages",
                    "start": first.started_utc,
                    "end": last.finished_utc,
                    "reviewed-controls": {
                        "control-selections": [
                            {"include-controls": [{"control-id": x} for x in sorted(reviewed)]}
                        ]
                    },
                    "observations": observations,
                    "risks": [r for r, _ in risks],
                    "findings": findings,
                }
            ],
            "back-matter": {
                "resources": [
                    {
                        "uuid": plan_uuid,
                        "title": "prodwall assessment plan: the inventory the runs probed",
                        "description": "The inventory file (by its sha256) and the plan "
                        "prodwall built from it for each vantage.",
                        "props": [
                            _prop("inventory-sha256", sha)
                            for sha in dict.fromkeys(r.meta.inventory_sha256 for r in c.runs)
                        ],
                    },
                    *(
                        _resource(_uid("file", name, sha), name, name, sha, "results")
                        for name, sha in sorted((files or {}).items())
                        if name.endswith(".json")
                    ),
                    *{r["uuid"]: r for r in evidence}.values(),
                ]
            },
        }
    }
    return json.dumps(doc, indent=1)


def _requirements(c: Combined, controls: tuple[str, ...]) -> list[tuple[str, str, str]]:
    out = []
    for cid in controls:
        entry = c.catalogue.get(cid, {})
        for fw, refs in entry.get("references", {}).items():
            for ref in refs:
                out.append((fw, ref, entry.get("titles", {}).get(f"{fw} {ref}", "")))
    return list(dict.fromkeys(out)) or [("nist-800-53r5", "SC-7", "Boundary protection")]


def _risks(c: Combined) -> list[tuple[dict[str, Any], list[Any]]]:
    out = []
    for f in by_cause(c.verdicts, c.catalogue):
        risk = {
            "uuid": _uid("risk", f.key),
            "title": f.title,
            "description": f"{f.where}: {f.why}",
            "statement": "; ".join(x for v in f.verdicts for x in v.findings[:3])[:2000] or f.title,
            "props": [_prop("severity", f.severity)],
            "status": "deviation-approved" if f.waived_only else "open",
            "remediations": [
                {
                    "uuid": _uid("remediation", f.key),
                    "lifecycle": "recommendation",
                    "title": f"Remediate: {f.title}",
                    "description": f.remediation or "See the control's remediation.",
                }
            ],
        }
        out.append((risk, list(f.verdicts)))
    return out


def _resource(uid: str, title: str, href: str, sha256: str, kind: str) -> dict[str, Any]:
    return {
        "uuid": uid,
        "title": title,
        "props": [_prop("type", kind)],
        "rlinks": [{"href": href, "hashes": [{"algorithm": "SHA-256", "value": sha256}]}],
    }
