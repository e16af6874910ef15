"""Load an inventory file: YAML -> Inventory, or one clear Problem per mistake."""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from pydantic import ValidationError

from ..errors import InventoryError, Problem
from ..validation_errors import dotted, problems_from
from ..yaml_source import YamlLoadError, load_yaml, parse_yaml
from . import consistency
from .model import Inventory

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
