"""Manifests as data, written as YAML with comments (pure: no I/O).

A manifest is plain dicts, lists and scalars; a value wrapped in :class:`Note` carries a
comment, written on the line(s) above its key. Scalars are quoted by PyYAML's own rules
(``"3600"`` stays a string), multi-line strings become literal blocks. What
:func:`dump_documents` writes loads back (``yaml.safe_load_all``) as :func:`strip_notes`
of the input: a test checks it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import yaml

__all__ = ["Note", "Document", "strip_notes", "dump_documents"]


@dataclass(frozen=True)
class Note:
    """A value with a comment (e.g. the controller default that this setting changes)."""

    value: Any
    comment: str


@dataclass(frozen=True)
class Document:
    """One manifest and the comment above it."""

    data: dict[str, Any]
    comment: str = ""


def strip_notes(value: Any) -> Any:
    """``value`` with every :class:`Note` replaced by its value (what Kubernetes sees)."""
    if isinstance(value, Note):
        return strip_notes(value.value)
    if isinstance(value, dict):
        return {key: strip_notes(item) for key, item in value.items()}
    if isinstance(value, list):
        return [strip_notes(item) for item in value]
    return value


def dump_documents(documents: Iterable[Document]) -> str:
    """A YAML stream: each document after ``---``, its comment above it."""
    parts = []
    for document in documents:
        lines = ["---", *_comment(document.comment, 0)]
        lines += _mapping(document.data, 0)
        parts.append("\n".join(lines))
    return "\n".join(parts) + "\n"


def _comment(text: str, indent: int) -> list[str]:
    pad = " " * indent
    return [f"{pad}# {line}".rstrip() for line in text.splitlines()] if text else []


def _scalar(value: Any) -> str:
    text = yaml.safe_dump(value, default_flow_style=True, width=1 << 30, allow_unicode=True)
    return text.removesuffix("\n").removesuffix("\n...").strip()


def _is_block(value: Any) -> bool:
    return isinstance(value, dict | list) and bool(value)


def _literal(text: str, indent: int) -> list[str] | None:
    """A multi-line string as a literal block, or None when a block cannot hold it."""
    if "\n" not in text or text[:1] in (" ", "\t") or "\r" in text or text != text.rstrip("\n") + "\n" * (
        text.endswith("\n")
    ):
        return None
    header = "|" if text.endswith("\n") else "|-"
    pad = " " * indent
    return [header, *[f"{pad}{line}" if line else "" for line in text.removesuffix("\n").split("\n")]]


def _mapping(data: dict[str, Any], indent: int) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    for key, raw in data.items():
        comment = raw.comment if isinstance(raw, Note) else ""
        value = raw.value if isinstance(raw, Note) else raw
        lines += _comment(comment, indent)
        head = f"{pad}{_scalar(key)}:"
        if _is_block(value):
            lines.append(head)
            lines += _block(value, indent + 2)
        else:
            lines += _inline(head, value, indent + 2)
    return lines


def _inline(head: str, value: Any, child_indent: int) -> list[str]:
    value = strip_notes(value)
    if isinstance(value, str):
        block = _literal(value, child_indent)
        if block is not None:
            return [f"{head} {block[0]}", *block[1:]]
    return [f"{head} {_scalar(value)}"]


def _block(value: Any, indent: int) -> list[str]:
    if isinstance(value, dict):
        return _mapping(value, indent)
    pad = " " * indent
    lines: list[str] = []
    for raw in value:
        comment = raw.comment if isinstance(raw, Note) else ""
        item = raw.value if isinstance(raw, Note) else raw
        lines += _comment(comment, indent)
        if isinstance(item, dict) and item:
            inner = _mapping(item, indent + 2)
            first = next(i for i, line in enumerate(inner) if not line.lstrip().startswith("#"))
            # comments of the first key stay above the dash
            lines += [f"{pad}{line.lstrip()}" for line in inner[:first]]
            lines.append(f"{pad}- {inner[first][indent + 2:]}")
            lines += inner[first + 1:]
        elif isinstance(item, list) and item:
            lines.append(f"{pad}-")
            lines += _block(item, indent + 2)
        else:
            lines += _inline(f"{pad}-", item, indent + 2)
    return lines
