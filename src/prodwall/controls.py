"""The control catalogue (checks/controls.yaml): control id -> title, severity, framework refs."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, RootModel, ValidationError

from prodwall.errors import ControlsError, Problem
from prodwall.validation_errors import problems_from
from prodwall.yaml_source import YamlLoadError, load_yaml

# Reference formats per framework, exact enough to catch typos such as A.8.35
# (ISO 27001:2022 Annex A stops at 8.34) or "SC7" for NIST's "SC-7".
REFERENCE_FORMATS: dict[str, tuple[re.Pattern[str], str]] = {
    "pci-dss-4.0.1": (re.compile(r"^(?:[1-9]|1[0-2]|A[1-3])(?:\.\d{1,2}){1,3}$"), "11.4.5"),
    "iso27001-2022": (
        re.compile(
            r"^A\.(?:5\.(?:[1-9]|[12]\d|3[0-7])|6\.[1-8]|7\.(?:[1-9]|1[0-4])"
            r"|8\.(?:[1-9]|[12]\d|3[0-4]))$"
        ),
        "A.8.22",
    ),
    "nist-800-53r5": (
        re.compile(
            r"^(?:AC|AT|AU|CA|CM|CP|IA|IR|MA|MP|PE|PL|PM|PS|PT|RA|SA|SC|SI|SR)-\d{1,2}"
            r"(?:\(\d{1,2}\))?$"
        ),
        "SC-7(5)",
    ),
    "soc2": (re.compile(r"^(?:CC[1-9]\.\d{1,2}|A1\.\d|C1\.\d|PI1\.\d|P[1-8]\.\d)$"), "CC6.6"),
}
CONTROL_ID = re.compile(r"^[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)+$")
Framework = Literal["pci-dss-4.0.1", "iso27001-2022", "nist-800-53r5", "soc2"]


def _refs(value: Any) -> dict[str, list[str]]:
    if not isinstance(value, dict):
        raise ValueError("references must map a framework to a list of requirement ids")
    for framework, ids in value.items():
        fmt = REFERENCE_FORMATS.get(str(framework))
        if fmt is None:
            continue  # the Literal key type reports unknown frameworks
        if not isinstance(ids, list) or not ids:
            raise ValueError(f"{framework}: give a non-empty list of requirement ids")
        for ref in ids:
            if not isinstance(ref, str) or not fmt[0].match(ref):
                raise ValueError(
                    f"{framework}: '{ref}' is not a requirement id of that framework "
                    f"(e.g. {fmt[1]})"
                )
    return value


class Control(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str = Field(min_length=1)
    why: str = Field(min_length=1, description="why it matters, in plain words")
    remediation: str = Field(min_length=1, description="what fixes a finding of it")
    severity: Literal["critical", "high", "medium", "low"]
    family: str = Field(min_length=1, description="the probe family whose evidence it judges")
    column: str = Field(
        default="",
        description="its column in the report's reachability matrix (default: the family)",
    )
    cause: Literal["path", "secret", "check"] = Field(
        default="check",
        description="what one finding of it is, for grouping: a path (vantage -> production "
        "group, every protocol through it), a secret (its fingerprint, wherever it was "
        "found), or the check itself (per vantage and group)",
    )
    references: Annotated[dict[Framework, list[str]], BeforeValidator(_refs)] = Field(min_length=1)
    titles: dict[str, str] = Field(
        default_factory=dict,
        description="'framework requirement' -> its title, from requirements.yaml (filled in)",
    )


class Catalogue(RootModel[dict[str, Control]]):
    pass


def load_controls(path: Path) -> dict[str, Control]:
    try:
        doc = load_yaml(path)
    except YamlLoadError as exc:
        raise ControlsError(exc.problems) from None
    if not isinstance(doc.data, dict):
        raise ControlsError(
            [Problem(doc.file, 1, "", "not a mapping", "map control ids to controls")]
        )
    problems = [
        Problem(
            doc.file,
            doc.line_of((cid,)),
            str(cid),
            f"'{cid}' is not a control id",
            "use upper-case words joined by '-', e.g. NET-TCP-01",
        )
        for cid in doc.data
        if not CONTROL_ID.match(str(cid))
    ]
    try:
        catalogue = Catalogue.model_validate(doc.data).root
    except ValidationError as exc:
        problems += problems_from(doc, exc, Catalogue, {})
        catalogue = {}
    if problems:
        raise ControlsError(problems)
    return catalogue


def family_check_folders() -> list[Path]:
    """The check folders third-party families ship (prodwall's own live in checks/)."""
    from prodwall.families.registry import registry

    return [Path(f.checks) for f in registry().values() if f.checks is not None]


def load_catalogue(main: Path) -> dict[str, Control]:
    """The main catalogue plus each family's own controls.yaml; an id defined twice is an error."""
    catalogue = dict(load_controls(main))
    for folder in family_check_folders():
        extra = folder / "controls.yaml"
        if not extra.is_file():
            continue
        for cid, control in load_controls(extra).items():
            if cid in catalogue:
                raise ControlsError(
                    [
                        Problem(
                            str(extra),
                            None,
                            cid,
                            f"control {cid} is already defined by {main} or another family",
                            "give the family's controls their own ids",
                        )
                    ]
                )
            catalogue[cid] = control
    titles = requirement_titles(main.with_name(REQUIREMENTS))
    return {
        cid: c.model_copy(
            update={"titles": {f"{fw} {ref}": titles.get((fw, ref), "")
                               for fw, refs in c.references.items() for ref in refs}}
        )
        for cid, c in catalogue.items()
    }  # fmt: skip


REQUIREMENTS = "requirements.yaml"


def requirement_titles(path: Path) -> dict[tuple[str, str], str]:
    """(framework, requirement) -> title, from requirements.yaml beside the catalogue."""
    if not path.is_file():
        return {}
    data = load_yaml(path).data or {}
    return {
        (str(fw), str(ref)): str(title)
        for fw, refs in (data.get("titles") or {}).items()
        for ref, title in (refs or {}).items()
    }


def not_automated(path: Path) -> list[dict[str, str]]:
    """Requirements the tool is for that no check covers yet (requirements.yaml)."""
    if not path.is_file():
        return []
    return [
        {k: str(v) for k, v in item.items()}
        for item in (load_yaml(path).data or {}).get("not_automated") or []
    ]
