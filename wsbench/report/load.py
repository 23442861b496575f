"""Read Result and conformance files from disk: the only I/O of reading a report's inputs.

Everything downstream takes the parsed ``dict`` (the Result contract of DESIGN.md), so a
report, a comparison or a gate verdict can be rebuilt from the files at any time.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from wsbench.errors import InputFileError

__all__ = [
    "RESULT_SCHEMA",
    "CONFORM_SCHEMA",
    "load_result",
    "load_conformance",
    "check_result",
    "check_conformance",
]

RESULT_SCHEMA = "wsbench/result@1"
CONFORM_SCHEMA = "wsbench/conform@1"


def _read_json(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise InputFileError(f"{path}: no such file") from exc
    except IsADirectoryError as exc:
        raise InputFileError(f"{path}: is a directory, not a JSON file") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFileError(f"{path}: cannot read: {exc}") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputFileError(
            f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from exc


def _schema_family(schema: str) -> str:
    return schema.split("@", 1)[0]


def check_result(data: Any, *, source: str = "result") -> dict[str, Any]:
    """Validate the shape a report needs; return ``data``. Raise InputFileError naming ``source``."""
    if not isinstance(data, dict):
        raise InputFileError(f"{source}: not a wsbench Result (a JSON object is expected)")
    schema = data.get("schema")
    if schema != RESULT_SCHEMA:
        if isinstance(schema, str) and _schema_family(schema) == _schema_family(RESULT_SCHEMA):
            raise InputFileError(
                f"{source}: Result schema {schema!r} is not supported (this wsbench reads "
                f"{RESULT_SCHEMA!r})"
            )
        raise InputFileError(
            f"{source}: not a wsbench Result (schema {schema!r}, expected {RESULT_SCHEMA!r})"
        )
    targets = data.get("targets")
    if not isinstance(targets, dict):
        raise InputFileError(f"{source}: Result has no 'targets' object")
    for name, target in targets.items():
        if not isinstance(target, dict):
            raise InputFileError(f"{source}: target {name!r} is not an object")
    return data


def check_conformance(data: Any, *, source: str = "conformance") -> dict[str, Any]:
    """Validate a conformance file (``wsbench/conform@1``); return ``data``."""
    if not isinstance(data, dict) or data.get("schema") != CONFORM_SCHEMA:
        schema = data.get("schema") if isinstance(data, dict) else None
        raise InputFileError(
            f"{source}: not a wsbench conformance file (schema {schema!r}, expected "
            f"{CONFORM_SCHEMA!r})"
        )
    cases = data.get("cases")
    if not isinstance(cases, dict) or not all(isinstance(c, dict) for c in cases.values()):
        raise InputFileError(f"{source}: 'cases' must map case ids to objects")
    return data


def load_result(path: str | Path) -> dict[str, Any]:
    """Read and check one Result file."""
    path = Path(path)
    return check_result(_read_json(path), source=str(path))


def load_conformance(path: str | Path) -> dict[str, Any]:
    """Read and check one conformance file."""
    path = Path(path)
    return check_conformance(_read_json(path), source=str(path))
