"""gate and report both read ``wsbench.result`` and never each other; result reads neither."""

from __future__ import annotations

import ast
from pathlib import Path

import wsbench

PACKAGE = Path(wsbench.__file__).resolve().parent


def _wsbench_imports(folder: str) -> set[tuple[str, str]]:
    found = set()
    for path in (PACKAGE / folder).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else (
                [node.module] if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 else [])
            found.update((str(path.relative_to(PACKAGE)), name) for name in names if name.startswith("wsbench."))
    return found


def _offenders(folder: str, forbidden: tuple[str, ...]) -> list[tuple[str, str]]:
    return sorted((path, name) for path, name in _wsbench_imports(folder)
                  if any(name == f"wsbench.{layer}" or name.startswith(f"wsbench.{layer}.") for layer in forbidden))


def test_gate_and_report_do_not_import_each_other():
    assert _offenders("gate", ("report",)) == []
    assert _offenders("report", ("gate",)) == []


def test_result_imports_only_lower_layers():
    assert _offenders("result", ("report", "gate", "engine", "cli", "lab", "locust", "conform", "disrupt", "server")) == []
    assert _offenders("result", ("files",)) == []  # pure: the I/O helper sits above it
