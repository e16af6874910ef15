"""Load an inventory file: YAML -> Inventory, or one clear Problem per mistake."""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from prodwall.errors import InventoryError, Problem
from prodwall.inventory import consistency
from prodwall.inventory.model import Inventory
from prodwall.textsafe import CONTROL, CONTROL_BUT_TAB_NL, shown
from prodwall.validation_errors import dotted, problems_from
from prodwall.yaml_source import SourceDoc, YamlLoadError, load_yaml, parse_yaml

# What to do when a required field is missing, by field name.
_MISSING_FIXES = {
    "ticket": "add `ticket:` with the change or risk ticket that approved it",
    "approver": "add `approver:` with the person who approved it",
    "justification": "add `justification:` saying why it is needed",
    "expires": "add `expires: YYYY-MM-DD`; every exception needs an end date",
    "version": "add `version: 1` at the top of the file",
    "tier": "add `tier:` (production, staging, test, dev or shared)",
    "addresses": "add `addresses:` with the host's IPv4/IPv6 addresses",
    "location": "add `location:` (local, netns:NAME, ssh://user@host or ansible://group)",
}


@dataclass(frozen=True)
class LoadedInventory:
    inventory: Inventory
    path: Path
    sha256: str
    notices: tuple[str, ...]  # e.g. expired waivers: not errors, but the report says so
    raw: bytes = field(default=b"", repr=False)  # the bytes parsed, to hand on without rereading


def load_inventory(
    path: str | Path,
    today: date | None = None,
    known_controls: Collection[str] | None = None,
    label: str | None = None,
    raw: bytes | None = None,
) -> LoadedInventory:
    """Read once (a file, a pipe, or `-` for stdin), parse, validate, cross-check.

    `known_controls`: the catalogue's control ids, to check waivers against.
    `label`: the name to record for an inventory handed over through a pipe.
    """
    try:
        # raw: the bytes already read once elsewhere (a pytest-xdist worker gets them so)
        doc = load_yaml(path) if raw is None else parse_yaml(raw, label or str(path))
    except YamlLoadError as exc:
        raise InventoryError(exc.problems) from None
    if not isinstance(doc.data, dict):
        raise InventoryError(
            [
                Problem(
                    doc.file,
                    doc.line_of(()),
                    "",
                    "the file is not a mapping",
                    "start with `version: 1`, `name:` and `environments:`",
                )
            ]
        )
    controls = list(_control_characters(doc))
    if controls:
        raise InventoryError(controls)
    try:
        inventory = Inventory.model_validate(doc.data)
    except ValidationError as exc:
        raise InventoryError(problems_from(doc, exc, Inventory, _MISSING_FIXES)) from None
    findings = consistency.check(inventory, known_controls)
    if findings:
        raise InventoryError(
            [
                Problem(doc.file, doc.line_of(loc), dotted(loc), msg, fix)
                for loc, msg, fix in findings
            ]
        )
    today = today or datetime.now(UTC).date()
    digest = hashlib.sha256(doc.raw).hexdigest()  # what was parsed, read once
    return LoadedInventory(
        inventory,
        Path(label or doc.file),
        digest,
        tuple(consistency.expired_notices(inventory, today)),
        doc.raw,
    )


# Free text may span lines; everything else is a name, address or id that reaches
# terminals, CI logs, XML and HTML, where a control character can forge a line.
_FREE_TEXT = frozenset({"justification", "description", "note", "notes", "comment", "reason"})


def _control_characters(doc: SourceDoc) -> Iterator[Problem]:
    """Every key or value holding a control character, with its file, line and field."""
    pending: list[tuple[tuple[Any, ...], Any]] = [((), doc.data)]
    while pending:
        loc, node = pending.pop()
        items: Any = (
            node.items() if isinstance(node, dict) else enumerate(node)
            if isinstance(node, list) else ()
        )  # fmt: skip
        for key, value in items:
            here = (*loc, key)
            if isinstance(key, str) and CONTROL.search(key):
                yield _control_problem(doc, here, key)
            if isinstance(value, str):
                pattern = CONTROL_BUT_TAB_NL if key in _FREE_TEXT else CONTROL
                if pattern.search(value):
                    yield _control_problem(doc, here, value)
            elif isinstance(value, dict | list):
                pending.append((here, value))


def _control_problem(doc: SourceDoc, loc: tuple[Any, ...], text: str) -> Problem:
    found = sorted({shown(ch) for ch in CONTROL.findall(text)})
    return Problem(
        doc.file,
        doc.line_of(loc),
        dotted(loc),
        f"holds the control character{'s' if len(found) > 1 else ''} {', '.join(found)}",
        "remove it: names and values reach terminals, CI logs and XML, where a control "
        "character can forge a line or break the file",
    )
