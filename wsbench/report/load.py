"""Read Result and conformance files from disk: the only I/O of reading a report's inputs.

Results are read into the typed :class:`~wsbench.result.model.Result` (``read_result``;
``load_result`` gives the same as the dict of the file), so a report, a comparison or a
gate verdict can be rebuilt from the files at any time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from wsbench.errors import InputFileError
from wsbench.files import read_json
from wsbench.result.model import RESULT_SCHEMA, Result

__all__ = [
    "RESULT_SCHEMA",
    "CONFORM_SCHEMA",
    "load_result",
    "read_result",
    "load_conformance",
    "check_result",
    "check_conformance",
]

CONFORM_SCHEMA = "wsbench/conform@1"


def check_result(data: Any, *, source: str = "result") -> dict[str, Any]:
    """Check that ``data`` is a Result (raise InputFileError naming ``source``); return it."""
    Result.from_json(data, source=source)
    return data  # type: ignore[no-any-return]


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


def read_result(path: str | Path) -> Result:
    """Read one Result file as the typed :class:`~wsbench.result.model.Result`."""
    return Result.from_json(read_json(path), source=str(path))


def load_result(path: str | Path) -> dict[str, Any]:
    """Read and check one Result file; the dict ``result.json`` holds."""
    return read_result(path).to_json()


def load_conformance(path: str | Path) -> dict[str, Any]:
    """Read and check one conformance file."""
    path = Path(path)
    return check_conformance(read_json(path), source=str(path))
