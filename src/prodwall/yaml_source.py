"""YAML loading that remembers where every value came from.

PyYAML's plain loaders drop line numbers and silently keep the last of two
duplicate keys; an inventory error must name the line, and a duplicate key is
almost always a mistake, so we compose the node tree ourselves.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import Problem

PathKey = tuple[str | int, ...]


@dataclass(frozen=True)
class SourceDoc:
    """A parsed YAML document plus the line (1-based) of every mapping key and list item."""

    file: str
    data: Any
    lines: dict[PathKey, int] = field(default_factory=dict)

    def line_of(self, loc: tuple[Any, ...]) -> int | None:
        """Line of the deepest prefix of `loc` that exists in the document."""
        best: int | None = self.lines.get(())
        prefix: list[str | int] = []
        for part in loc:
            prefix.append(part)
            line = self.lines.get(tuple(prefix))
            if line is None:
                # pydantic adds union tags such as 'str' into loc; skip them.
                prefix.pop()
                continue
            best = line
        return best


class YamlLoadError(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def load_yaml(path: Path) -> SourceDoc:
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise YamlLoadError([Problem(name, None, "", "file not found", "check the path")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise YamlLoadError(
            [
                Problem(
                    name,
                    None,
                    "",
                    f"cannot read file ({exc.__class__.__name__})",
                    "make it a readable UTF-8 text file",
                )
            ]
        ) from None
    return parse_yaml(text, name)


def parse_yaml(text: str, name: str) -> SourceDoc:
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return SourceDoc(name, None, {})
        lines: dict[PathKey, int] = {(): node.start_mark.line + 1}
        problems: list[Problem] = []
        data = _convert(loader, node, (), lines, problems, name)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        col = f", column {mark.column + 1}" if mark is not None else ""
        what = exc.problem or "invalid YAML"
        raise YamlLoadError(
            [
                Problem(
                    name,
                    line,
                    "",
                    f"YAML syntax error{col}: {what}",
                    "fix the indentation or quoting near this line",
                )
            ]
        ) from None
    except yaml.YAMLError as exc:
        raise YamlLoadError(
            [Problem(name, None, "", f"YAML error: {exc}", "fix the file")]
        ) from None
    finally:
        loader.dispose()
    if problems:
        raise YamlLoadError(problems)
    return SourceDoc(name, data, lines)


def _dotted(path: PathKey) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _convert(
    loader: yaml.SafeLoader,
    node: yaml.Node,
    path: PathKey,
    lines: dict[PathKey, int],
    problems: list[Problem],
    name: str,
) -> Any:
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)  # resolves YAML merge keys (<<)
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, Hashable):
                problems.append(
                    Problem(
                        name,
                        key_node.start_mark.line + 1,
                        _dotted(path),
                        "a mapping key must be a plain value",
                        "use a string key",
                    )
                )
                continue
            key = str(key) if not isinstance(key, str) else key
            sub = (*path, key)
            if key in out:
                problems.append(
                    Problem(
                        name,
                        key_node.start_mark.line + 1,
                        _dotted(sub),
                        f"duplicate key (first given on line {lines[sub]})",
                        "merge the two entries into one",
                    )
                )
                continue
            lines[sub] = key_node.start_mark.line + 1
            out[key] = _convert(loader, value_node, sub, lines, problems, name)
        return out
    if isinstance(node, yaml.SequenceNode):
        items = []
        for index, item in enumerate(node.value):
            sub = (*path, index)
            lines[sub] = item.start_mark.line + 1
            items.append(_convert(loader, item, sub, lines, problems, name))
        return items
    return loader.construct_object(node, deep=True)
