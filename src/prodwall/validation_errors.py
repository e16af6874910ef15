"""Turn pydantic's validation errors into Problems that name file, line, field and fix."""

from __future__ import annotations

import difflib
import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from prodwall.errors import Problem
from prodwall.yaml_source import SourceDoc, dotted

__all__ = ["dotted", "problems_from"]


def problems_from(
    doc: SourceDoc, exc: ValidationError, root: type[BaseModel], missing_fixes: dict[str, str]
) -> list[Problem]:
    problems = []
    for err in exc.errors(include_url=False, include_input=False):
        loc = _data_loc(doc, tuple(err["loc"]), root)
        kind = err["type"]
        field = dotted(loc)
        if kind == "extra_forbidden":
            known = _known_keys(root, loc[:-1])
            guess = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.6)
            hint = (
                f"did you mean '{guess[0]}'?"
                if guess
                else (f"allowed keys here: {', '.join(sorted(known))}" if known else "remove it")
            )
            problems.append(
                Problem(doc.file, doc.line_of(loc), field, f"unknown key '{loc[-1]}'", hint)
            )
        elif kind == "missing":
            name = str(loc[-1])
            problems.append(
                Problem(
                    doc.file,
                    doc.line_of(loc),
                    field,
                    "required field is missing",
                    missing_fixes.get(name, f"add `{name}:`"),
                )
            )
        else:
            msg = err["msg"].removeprefix("Value error, ")
            problems.append(Problem(doc.file, doc.line_of(loc), field, msg, _fix_for(kind)))
    return problems


def _data_loc(doc: SourceDoc, loc: tuple[Any, ...], root: type[BaseModel]) -> tuple[Any, ...]:
    """Keep the parts of pydantic's loc that name data or fields; drop union-member tags."""
    out: list[Any] = []
    node: Any = doc.data
    for part in loc:
        if (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        ):
            node = node[part]
            out.append(part)
        elif isinstance(node, dict) and part in _known_keys(root, tuple(out)):
            out.append(part)  # a field the data lacks: a missing key
            node = None
    return tuple(out)


def _fix_for(kind: str) -> str:
    if kind == "value_error":
        return ""  # prodwall's own validators say the fix in the message
    if kind.endswith("_type") or kind.startswith("literal"):
        return "use a value of the type or one of the values named"
    if kind == "string_too_short":
        return "give a non-empty value"
    if kind in ("too_short", "greater_than_equal"):
        return "give at least the minimum"
    if kind.startswith("date"):
        return "write the date as YYYY-MM-DD"
    return "correct the value"


def _known_keys(root: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Field names of the model found at `loc`, walking the root model's annotations."""
    current: Any = root
    for part in loc:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = next(
                (f for n, f in current.model_fields.items() if (f.alias or n) == part), None
            )
            if field is None:
                return []
            current = field.annotation
        elif typing.get_origin(current) in (dict, list):
            current = typing.get_args(current)[-1]
        else:
            return []
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [f.alias or n for n, f in current.model_fields.items()]
    return []


def _unwrap(tp: Any) -> Any:
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            models = [
                a for a in typing.get_args(tp) if isinstance(a, type) and issubclass(a, BaseModel)
            ]
            if not models:
                return tp
            tp = models[0]
        else:
            return tp
