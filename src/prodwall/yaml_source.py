"""YAML loading that remembers where every value came from.

PyYAML's plain loaders drop line numbers and silently keep the last of two
duplicate keys; an inventory error must name the line, and a duplicate key is
almost always a mistake, so we compose the node tree ourselves.

An inventory may come from anyone who can open a merge request, and prodwall
runs as root: reading it is bounded in every dimension (file type, size,
encoding, nesting depth, alias expansion, tags, number length), and every
refusal is one Problem naming the file, line or byte offset, and the fix.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import yaml

from prodwall.source_bytes import YamlLoadError, decode, read_source, refuse
from prodwall.yaml_convert import MAX_DEPTH, PathKey, _Converter, _TooMuch, dotted

__all__ = ["SourceDoc", "YamlLoadError", "dotted", "load_yaml", "parse_yaml", "read_source"]



@dataclass(frozen=True)
class SourceDoc:
    """A parsed YAML document plus the line (1-based) of every mapping key and list item."""

    file: str
    data: Any
    lines: dict[PathKey, int] = field(default_factory=dict)
    raw: bytes = b""  # exactly the bytes parsed: what the run's inventory sha256 covers

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


def load_yaml(path: str | Path) -> SourceDoc:
    name, raw = read_source(path)
    return parse_yaml(raw, name)


class _DepthBound(yaml.composer.Composer):
    """A composer that refuses deep nesting before recursing into it."""

    _depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = cast(Any, self).peek_event().start_mark  # the parser's, beside us
                raise yaml.MarkedYAMLError(
                    problem=f"nested more than {MAX_DEPTH} levels deep", problem_mark=mark
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


class _PyLoader(_DepthBound, yaml.SafeLoader):
    """PyYAML's safe loader in pure Python, bounded."""


try:  # libyaml scans and parses about ten times faster than PyYAML's Python
    from yaml.cyaml import CParser  # type: ignore[attr-defined]

    class _CLoader(
        _DepthBound,  # first: the Python composer, where nesting is bounded
        CParser,
        yaml.constructor.SafeConstructor,
        yaml.resolver.Resolver,
    ):
        """Events from libyaml (a 4 MiB inventory is read in about a second instead of
        ten); the tree composed in Python, so that the depth bound holds before each
        recursion, and tags resolved by PyYAML's own resolver."""

        def __init__(self, stream: str) -> None:
            yaml.reader.Reader(stream)  # refuses control characters as the Python reader
            CParser.__init__(self, stream)
            _DepthBound.__init__(self)
            yaml.constructor.SafeConstructor.__init__(self)
            yaml.resolver.Resolver.__init__(self)

    _BoundedLoader: Callable[[str], Any] = _CLoader
except ImportError:  # pragma: no cover - a PyYAML built without libyaml
    _BoundedLoader = _PyLoader


def parse_yaml(raw: bytes | str, name: str) -> SourceDoc:
    if isinstance(raw, str):
        raw = raw.encode("utf-8")
    text = decode(raw, name)
    try:
        return _parse(raw, name, text, _BoundedLoader)
    except YamlLoadError as exc:
        if not exc.syntax or _BoundedLoader is _PyLoader:
            raise
    # a syntax error: PyYAML's own reading names it better ("expected ',' or ']', but got
    # ':'" where libyaml says "did not find expected ',' or ']'"); only on this path
    return _parse(raw, name, text, _PyLoader)


def _parse(raw: bytes, name: str, text: str, loader_type: Callable[[str], Any]) -> SourceDoc:
    try:
        loader = loader_type(text)
    except yaml.YAMLError as exc:  # the reader checks characters on construction
        raise _yaml_problem(exc, name, text) from None
    try:
        node = loader.get_single_node()
        if node is None:
            return SourceDoc(name, None, {}, raw)
        converter = _Converter(loader, name, {(): node.start_mark.line + 1})
        data = converter.convert(node, (), 0)
        lines, problems = converter.lines, converter.problems
    except _TooMuch as exc:
        raise refuse(name, str(exc), exc.fix, exc.line) from None
    except yaml.YAMLError as exc:
        problem = _yaml_problem(exc, name, text)
        problem.syntax = True
        raise problem from None
    finally:
        loader.dispose()
    if problems:
        raise YamlLoadError(problems)
    return SourceDoc(name, data, lines, raw)


def _yaml_problem(exc: yaml.YAMLError, name: str, text: str) -> YamlLoadError:
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        col = f", column {mark.column + 1}" if mark is not None else ""
        what = exc.problem or "invalid YAML"
        fix = (
            "flatten it; an inventory needs about 6 levels"
            if "nested more than" in what
            else "fix the indentation or quoting near this line"
        )
        return refuse(name, f"YAML syntax error{col}: {what}", fix, line)
    if isinstance(exc, yaml.reader.ReaderError):
        char = exc.character if isinstance(exc.character, int) else ord(exc.character)
        offset = len(text[: exc.position].encode("utf-8"))
        return refuse(
            name,
            f"control character U+{char:04X} at byte offset {offset} is not allowed in YAML",
            "remove it; YAML is printable text",
            text.count("\n", 0, exc.position) + 1,
        )
    return refuse(name, f"YAML error: {exc}", "fix the file")
