"""An OSCAL 1.1.2 assessment-results document, for GRC tools.

Each verdict becomes an observation (what was probed and seen) and a finding
whose target is the NIST SP 800-53 control it supports, satisfied only when
blocked (or waived, with the waiver named).
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from .. import __version__
from ..verdicts import Outcome
from .combined import Combined

_NS = uuid.UUID("6f1d2a4e-8c1b-4e0a-9a57-70726f6477a1")  # prodwall's namespace for uuid5


def _uid(*parts: str) -> str:
    return str(uuid.uuid5(_NS, "|".join(parts)))


def _nist(ref: str) -> str:
    """SC-7(5) -> sc-7.5, as OSCAL's NIST catalogue spells control ids."""
    return ref.lower().replace("(", ".").replace(")", "")


def render(c: Combined) -> str:
    now = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    observations: list[dict[str, Any]] = []
    findings: list[dict[str, Any]] = []
    reviewed: set[str] = set()
    for run in c.runs:
        for v in run.verdicts:
            obs_id = _uid(run.meta.started_utc, v.vantage, v.check)
            observations.append(
                {
                    "uuid": obs_id,
                    "title": f"{v.check} from {v.vantage}",
                    "description": v.reason,
                    "methods": ["TEST"],
                    "collected": run.meta.finished_utc,
                    "props": [
                        {
                            "name": "prodwall-outcome",
                            "ns": "https://prodwall.dev/ns",
                            "value": v.outcome.value,
                        },
                        {
                            "name": "prodwall-target",
                            "ns": "https://prodwall.dev/ns",
                            "value": v.group,
                        },
                    ],
                    "relevant-evidence": [{"description": f} for f in v.findings[:20]]
                    or [
                        {
                            "description": "; ".join(f"{n} {k}" for k, n in v.counts.items())
                            or v.reason
                        }
                    ],
                }
            )
            refs = [
                r
                for cid in v.controls
                for r in c.catalogue.get(cid, {}).get("references", {}).get("nist-800-53r5", [])
            ]
            for ref in refs or ["sc-7"]:
                reviewed.add(_nist(ref))
                satisfied = v.outcome in (Outcome.BLOCKED, Outcome.WAIVED)
                findings.append(
                    {
                        "uuid": _uid(obs_id, ref),
                        "title": f"{', '.join(v.controls)}: {v.group}",
                        "description": v.reason,
                        "target": {
                            "type": "objective-id",
                            "target-id": _nist(ref),
                            "status": {
                                "state": "satisfied" if satisfied else "not-satisfied",
                                "reason": v.outcome.value,
                            },
                        },
                        "related-observations": [{"observation-uuid": obs_id}],
                        "props": [
                            {
                                "name": "prodwall-control",
                                "ns": "https://prodwall.dev/ns",
                                "value": cid,
                            }
                            for cid in v.controls
                        ],
                    }
                )
    first, last = c.runs[0].meta, c.runs[-1].meta
    doc = {
        "assessment-results": {
            "uuid": _uid("ar", *(r.meta.started_utc for r in c.runs)),
            "metadata": {
                "title": f"prodwall environment isolation: {first.inventory_name}",
                "last-modified": now,
                "version": __version__,
                "oscal-version": "1.1.2",
            },
            "import-ap": {"href": f"#prodwall-plan-{first.inventory_sha256[:12]}"},
            "results": [
                {
                    "uuid": _uid("result", first.started_utc, last.finished_utc),
                    "title": "prodwall isolation checks",
                    "description": f"{len(c.verdicts)} checks from "
                    f"{len({v.vantage for v in c.verdicts})} vantages",
                    "start": first.started_utc,
                    "end": last.finished_utc,
                    "reviewed-controls": {
                        "control-selections": [
                            {"include-controls": [{"control-id": cid} for cid in sorted(reviewed)]}
                        ]
                    },
                    "observations": observations,
                    "findings": findings,
                }
            ],
        }
    }
    return json.dumps(doc, indent=1)
