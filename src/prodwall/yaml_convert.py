"""A composed YAML node tree as plain values, remembering each value's line: bounded in
values, aliases and number length, refusing tags and duplicate keys, one Problem each."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

import yaml

from prodwall.errors import Problem

PathKey = tuple[str | int, ...]
MAX_DEPTH = 64  # an inventory nests about 6 deep
MAX_VALUES = 2_000_000  # values in all (a 4 MiB file holds fewer)
MAX_ALIASED = 50_000  # values repeated through aliases: a billion-laughs stops here
MAX_SCALAR = 4096  # characters in one number or date (int() refuses past 4300 digits)

_CORE = "tag:yaml.org,2002:"
_ALLOWED_TAGS = {
    _CORE + t for t in ("str", "int", "float", "bool", "null", "timestamp", "seq", "map")
}
_MERGE_TAG = _CORE + "merge"


class _TooMuch(Exception):
    def __init__(self, message: str, fix: str, line: int | None) -> None:
        super().__init__(message)
        self.fix = fix
        self.line = line


def dotted(path: tuple[Any, ...]) -> str:
    """A location as written in messages: environments.prod.hosts.db.addresses[0]."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _short_tag(tag: str) -> str:
    return "!!" + tag.removeprefix(_CORE) if tag.startswith(_CORE) else tag


@dataclass
class _Converter:
    """Node tree -> plain data, recording lines and problems, within the budgets."""

    loader: yaml.SafeLoader
    name: str
    lines: dict[PathKey, int]
    problems: list[Problem] = field(default_factory=list)
    values: int = 0
    aliased: int = 0  # values converted again because an alias pointed at them
    inside_repeat: int = 0
    seen: set[int] = field(default_factory=set)

    def problem(self, line: int, path: PathKey, message: str, fix: str) -> None:
        self.problems.append(Problem(self.name, line, dotted(path), message, fix))

    def convert(self, node: yaml.Node, path: PathKey, depth: int) -> Any:
        repeated = id(node) in self.seen  # converted before: reached again through an alias
        self.seen.add(id(node))
        self.inside_repeat += repeated
        try:
            return self._node(node, path, depth)
        finally:
            self.inside_repeat -= repeated

    def _node(self, node: yaml.Node, path: PathKey, depth: int) -> Any:
        line = node.start_mark.line + 1
        self.values += 1
        self.aliased += bool(self.inside_repeat)
        if self.aliased > MAX_ALIASED:
            raise _TooMuch(
                f"YAML aliases expand to more than {MAX_ALIASED:,} values (aliases repeated "
                "inside each other: an alias bomb?)",
                "write the values out, or use fewer nested aliases",
                line,
            )
        if self.values > MAX_VALUES:
            raise _TooMuch(f"holds more than {MAX_VALUES:,} values", "make it smaller", line)
        if depth > MAX_DEPTH:  # an alias that refers to the node it sits in
            raise _TooMuch(
                f"nested more than {MAX_DEPTH} levels deep (a YAML alias inside itself?)",
                "remove the self-referring alias",
                line,
            )
        if node.tag not in _ALLOWED_TAGS:
            self.problem(
                line,
                path,
                f"YAML tag '{_short_tag(node.tag)}' is not allowed: an inventory has no tags",
                "remove the tag and write the plain value",
            )
            return None
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path, depth)
        if isinstance(node, yaml.SequenceNode):
            items = []
            for index, item in enumerate(node.value):
                sub = (*path, index)
                self.lines[sub] = item.start_mark.line + 1
                items.append(self.convert(item, sub, depth + 1))
            return items
        return self._scalar(node, path)

    def _scalar(self, node: yaml.Node, path: PathKey) -> Any:
        line = node.start_mark.line + 1
        kind = node.tag.removeprefix(_CORE)
        if kind in ("int", "float", "timestamp") and len(str(node.value)) > MAX_SCALAR:
            self.problem(
                line, path, f"a {len(node.value):,}-character number", "give a sensible number"
            )
            return None
        if kind in ("int", "float") and ":" in str(node.value):
            # YAML 1.1 reads 20:23 as sexagesimal 1223; nobody means that in an inventory
            self.problem(
                line,
                path,
                f"'{node.value}' is read by YAML 1.1 as a base-60 number "
                f"({self.loader.construct_object(node, deep=True)}), not as what it looks like",
                "for a port range write 20-23; for text, quote it",
            )
            return None
        try:
            return self.loader.construct_object(node, deep=True)
        except (ValueError, OverflowError) as exc:
            if kind == "timestamp":
                self.problem(
                    line,
                    path,
                    f"'{node.value}' is not a real date ({exc})",
                    "write a date that exists, as YYYY-MM-DD",
                )
            else:
                self.problem(
                    line,
                    path,
                    f"'{str(node.value)[:40]}' cannot be read as {kind} ({exc})",
                    "quote it if it is text, or give a sensible number",
                )
            return None

    def _mapping(self, node: yaml.MappingNode, path: PathKey, depth: int) -> dict[Any, Any]:
        """A mapping; YAML merge keys (`<<`) bring in keys the mapping does not give itself."""
        own: list[tuple[yaml.Node, yaml.Node]] = []
        merged: list[tuple[yaml.Node, yaml.Node]] = []
        for key_node, value_node in node.value:
            if key_node.tag != _MERGE_TAG:
                own.append((key_node, value_node))
                continue
            many = isinstance(value_node, yaml.SequenceNode)
            for source in value_node.value if many else [value_node]:
                if isinstance(source, yaml.MappingNode):
                    merged.extend(source.value)
                else:
                    self.problem(
                        key_node.start_mark.line + 1,
                        path,
                        "a merge key `<<` must point at a mapping",
                        "merge an anchored mapping: `<<: *name`",
                    )
        out: dict[Any, Any] = {}
        for key_node, value_node in own:
            self._put(key_node, value_node, path, depth, out, own=True)
        for key_node, value_node in merged:  # an explicit key wins; the first merged source wins
            self._put(key_node, value_node, path, depth, out, own=False)
        return out

    def _put(
        self,
        key_node: yaml.Node,
        value_node: yaml.Node,
        path: PathKey,
        depth: int,
        out: dict[Any, Any],
        own: bool,
    ) -> None:
        line = key_node.start_mark.line + 1
        if not isinstance(key_node, yaml.ScalarNode):
            self.problem(line, path, "a mapping key must be a plain value", "use a string key")
            return
        if key_node.tag not in _ALLOWED_TAGS:
            self.problem(
                line,
                path,
                f"YAML tag '{_short_tag(key_node.tag)}' is not allowed: an inventory has no tags",
                "remove the tag",
            )
            return
        key = self._scalar(key_node, path)
        if not isinstance(key, Hashable):
            return
        key = key if isinstance(key, str) else str(key)
        sub = (*path, key)
        if key in out:
            if own:
                self.problem(
                    line,
                    sub,
                    f"duplicate key (first given on line {self.lines[sub]})",
                    "merge the two entries into one",
                )
            return
        self.lines[sub] = line
        out[key] = self.convert(value_node, sub, depth + 1)
