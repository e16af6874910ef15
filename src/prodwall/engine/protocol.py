"""What crosses between the runner and a vantage: frozen, typed records, to JSON
and back, with shared status enums. Standard library only: this module travels
inside the agent file.

`decode` rebuilds a record from JSON by its type hints and refuses anything that
does not fit (a missing field, a wrong type, an unknown status): a vantage that
answers in another shape is an error the runner names, not data it guesses at.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import types
import typing
from typing import Any, TypeVar

T = TypeVar("T")


class ProtocolError(ValueError):
    """The other side sent something that is not the record it should be."""


class Record:
    """Base of every record: `to_json()` and `Cls.from_json(data)`."""

    def to_json(self) -> dict[str, Any]:
        """JSON-native: lists for tuples, plain strings for enums."""
        out: dict[str, Any] = _plain(dataclasses.asdict(self))  # type: ignore[call-overload]
        return out

    @classmethod
    def from_json(cls: type[T], data: Any) -> T:
        built: T = decode(cls, data)
        return built


def one_of(tp: Any, value: Any, where: str = "") -> Any:
    """`value` as the Literal type `tp` (a closed set of strings), checked where it is
    made (or decoded) rather than threaded through every function as a plain str: anything
    outside the set is refused by name."""
    allowed = typing.get_args(tp)
    if value not in allowed or type(value) is not type(allowed[0]):
        said = f"{value!r} is not one of {', '.join(map(repr, allowed))}"
        raise ProtocolError(f"{where}: {said}" if where else said)
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, enum.Enum):
        return value.value
    return value


@functools.cache
def _shape(tp: type) -> tuple[dict[str, Any], tuple[dataclasses.Field[Any], ...]]:
    """A record's resolved type hints and fields, worked out once per type (a sweep
    result holds thousands of groups)."""
    return typing.get_type_hints(tp), dataclasses.fields(tp)


def decode(tp: Any, value: Any, where: str = "") -> Any:
    where = where or getattr(tp, "__name__", str(tp))
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        if not isinstance(value, dict):
            raise ProtocolError(f"{where}: expected an object, got {type(value).__name__}")
        hints, fields = _shape(tp)
        kwargs = {}
        for f in fields:
            if f.name in value:
                kwargs[f.name] = decode(hints[f.name], value[f.name], f"{where}.{f.name}")
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ProtocolError(f"{where}: field '{f.name}' is missing")
        return tp(**kwargs)
    if origin is dict:
        key_type, value_type = typing.get_args(tp)
        if not isinstance(value, dict):
            raise ProtocolError(f"{where}: expected an object, got {type(value).__name__}")
        return {
            decode(key_type, k, f"{where} key"): decode(value_type, v, f"{where}[{k!r}]")
            for k, v in value.items()
        }
    if origin is tuple:
        args = typing.get_args(tp)
        if not isinstance(value, list | tuple):
            raise ProtocolError(f"{where}: expected a list, got {type(value).__name__}")
        return tuple(decode(args[0], v, f"{where}[{i}]") for i, v in enumerate(value))
    if origin is typing.Literal:  # a closed set of strings: anything else is refused
        return one_of(tp, value, where)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        if len(options) == 1:  # an optional record: its own error says what is wrong
            return decode(options[0], value, where)
        for arg in options:
            try:
                return decode(arg, value, where)
            except ProtocolError:
                continue
        raise ProtocolError(f"{where}: {value!r} fits none of {tp}")
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        try:
            return tp(value)
        except ValueError:
            raise ProtocolError(f"{where}: '{value}' is not a {tp.__name__}") from None
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if (isinstance(tp, type) and not isinstance(value, tp)) or (
        tp is int and isinstance(value, bool)
    ):
        raise ProtocolError(f"{where}: expected {tp.__name__}, got {type(value).__name__}")
    return value
