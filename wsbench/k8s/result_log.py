"""A Result as one log line, and the Results found in logs (``kubectl logs`` of a Job).

A Job's pods end and take their files with them; what stays is their log. ``wsbench run
--result-to-stdout`` prints the Result as one line::

    wsbench-result@1 {"schema":"wsbench/result@1",...}

and ``wsbench merge`` accepts a file of logs (``kubectl logs -l job-name=... --prefix
--tail=-1 > load.log``) holding any number of such lines among the other output: each is
one input. The marker may follow a prefix (``[pod/wsbench-load-0-x7k2p/wsbench] ...``,
a timestamp): everything before it on the line is ignored (and names the input).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from wsbench.errors import InputFileError
from wsbench.files import read_text
from wsbench.report.load import check_result

__all__ = ["RESULT_LINE_MARKER", "result_line", "results_in_log", "load_results"]

RESULT_LINE_MARKER = "wsbench-result@1 "


def result_line(result: dict[str, Any]) -> str:
    """``result`` as one line (compact JSON after the marker; no newline inside)."""
    return RESULT_LINE_MARKER + json.dumps(result, separators=(",", ":"))


def results_in_log(text: str, *, source: str = "log") -> list[tuple[str, dict[str, Any]]]:
    """Every Result line in ``text`` as ``(label, Result)``; label: the line's prefix or number."""
    found: list[tuple[str, dict[str, Any]]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        at = line.find(RESULT_LINE_MARKER)
        if at < 0:
            continue
        prefix = line[:at].strip()
        label = f"{source} {prefix}" if prefix else f"{source} line {number}"
        try:
            data = json.loads(line[at + len(RESULT_LINE_MARKER):])
        except json.JSONDecodeError as exc:
            raise InputFileError(f"{label}: the Result line is cut short or broken "
                                 f"(column {exc.colno}: {exc.msg})") from exc
        except RecursionError:
            raise InputFileError(f"{label}: the Result line is nested too deeply to read") from None
        found.append((label, check_result(data, source=label)))
    return found


def load_results(path: str | Path) -> list[tuple[str, dict[str, Any]]]:
    """The Results in one file: a ``result.json``, or logs holding Result lines."""
    path = Path(path)
    text = read_text(path)
    if RESULT_LINE_MARKER not in text:
        try:
            data = json.loads(text)
        except RecursionError:
            raise InputFileError(f"{path}: JSON nested too deeply to read") from None
        except json.JSONDecodeError as exc:
            raise InputFileError(
                f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}) "
                f"and no '{RESULT_LINE_MARKER.strip()}' lines (logs of `wsbench run --result-to-stdout`)"
            ) from exc
        return [(str(path), check_result(data, source=str(path)))]
    return results_in_log(text, source=str(path))
