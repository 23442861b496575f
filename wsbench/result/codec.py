"""Checked reading of JSON values into the Result types, and writing them back. Pure.

Every reader takes ``(value, where)``; ``where`` is the dotted path of the value in the
file (``"result.json: targets.nginx.rtt.p99"``), so a malformed Result is refused in one
line that names the key (:class:`~wsbench.errors.InputFileError`), never a KeyError.

A *section* is an object with known keys (typed fields) and unknown ones (kept in its
``extra`` as they were, so what other code adds survives a round trip). A known key whose
value is ``null`` is kept in ``extra`` too: the typed field stays None (absent) and the
``null`` is written back.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from wsbench.errors import InputFileError

__all__ = [
    "Field",
    "Section",
    "read_section",
    "write_section",
    "read_object",
    "read_number",
    "read_int",
    "read_bool",
    "read_str",
    "read_list",
    "read_mapping",
    "plain",
]

Reader = Callable[[Any, str], Any]


def plain(value: Any) -> Any:
    """A JSON value as itself (deep-copied, so no two Results share a list or an object)."""
    return copy.deepcopy(value)


@dataclass(frozen=True)
class Field:
    """A known key of a section: how to read its value and how to write it back."""

    name: str
    read: Reader
    write: Callable[[Any], Any] = plain


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def read_object(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InputFileError(f"{where}: expected an object, got {_kind(value)}")
    return value


def read_number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputFileError(f"{where}: expected a number, got {_kind(value)} {value!r}"[:200])
    return value


def read_int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputFileError(f"{where}: expected an integer, got {_kind(value)} {value!r}"[:200])
    return value


def read_bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise InputFileError(f"{where}: expected true or false, got {_kind(value)} {value!r}"[:200])
    return value


def read_str(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise InputFileError(f"{where}: expected a string, got {_kind(value)}")
    return value


def read_list(item: Reader) -> Reader:
    """A reader of a JSON list whose items ``item`` reads; gives a tuple."""

    def read(value: Any, where: str) -> tuple[Any, ...]:
        if not isinstance(value, list | tuple):
            raise InputFileError(f"{where}: expected a list, got {_kind(value)}")
        return tuple(item(entry, f"{where}[{index}]") for index, entry in enumerate(value))

    return read


def read_mapping(value: Any, where: str) -> dict[str, Any]:
    """A free-form object, copied."""
    return dict(plain(read_object(value, where)))


def read_section(data: Any, where: str, fields: Sequence[Field]) -> dict[str, Any]:
    """Keyword arguments for a section's dataclass: its known fields and ``extra``."""
    known = {spec.name: spec for spec in fields}
    kwargs: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in read_object(data, where).items():
        spec = known.get(key)
        if spec is None or value is None:
            extra[key] = plain(value)
        else:
            kwargs[key] = spec.read(value, f"{where} {key}" if where.endswith(":") else f"{where}.{key}")
    kwargs["extra"] = extra
    return kwargs


def write_section(section: Any, fields: Sequence[Field]) -> dict[str, Any]:
    """The JSON object of a section: known fields that are set, in order, then ``extra``."""
    out: dict[str, Any] = {}
    for spec in fields:
        value = getattr(section, spec.name)
        if value is not None:
            out[spec.name] = spec.write(value)
    for key, value in section.extra.items():
        out[key] = plain(value)
    return out


class Section:
    """``from_json``/``to_json`` of a frozen dataclass section whose known keys are ``FIELDS``
    (the dataclass also has ``extra``)."""

    FIELDS: ClassVar[tuple[Field, ...]] = ()

    @classmethod
    def from_json(cls, data: Any, where: str = "section") -> Self:
        return cls(**read_section(data, where, cls.FIELDS))

    def to_json(self) -> dict[str, Any]:
        return write_section(self, self.FIELDS)
