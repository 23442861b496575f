"""Reading and writing wsbench's JSON files: the one atomic write, the one checked read.

Atomic: the text goes to a temporary file beside the target, then ``os.replace`` puts it in
place, so a reader (or a crash) never sees half a file. The temporary name carries the
process id, so processes writing the same file never share one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from wsbench.errors import InputFileError

__all__ = [
    "read_text", "write_atomic", "write_json_atomic", "read_json", "loads_json"]


def write_atomic(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (temporary file, then rename)."""
    path = Path(path)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_json_atomic(path: str | Path, data: Any, *, indent: int | None = 1, compact: bool = False) -> None:
    """Write ``data`` as JSON atomically: indented with a final newline, or ``compact``."""
    if compact:
        write_atomic(path, json.dumps(data, separators=(",", ":")))
    else:
        write_atomic(path, json.dumps(data, indent=indent) + "\n")


def read_text(path: str | Path) -> str:
    """The UTF-8 text of ``path``; InputFileError (one line naming the file) when it cannot be read."""
    path = Path(path)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise InputFileError(f"{path}: no such file") from exc
    except IsADirectoryError as exc:
        raise InputFileError(f"{path}: is a directory, not a JSON file") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFileError(f"{path}: cannot read: {exc}") from exc


def read_json(path: str | Path) -> Any:
    """The parsed JSON of ``path``; InputFileError (one line naming the file) when it cannot be."""
    return loads_json(read_text(path), str(path))


def loads_json(text: str, label: str) -> Any:
    """``json.loads`` with one-line InputFileErrors naming ``label`` (also for JSON nested
    deeper than Python's recursion limit, which ``json`` cannot parse)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputFileError(f"{label}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from exc
    except RecursionError:
        raise InputFileError(f"{label}: JSON nested too deeply to read") from None
