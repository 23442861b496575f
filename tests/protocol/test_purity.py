"""Import rules: the protocol layer, the case data and the verdict rules are pure
(no asyncio, sockets, processes)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "wsbench"
FORBIDDEN = {"asyncio", "socket", "subprocess", "ssl", "selectors", "threading", "multiprocessing"}
PURE = sorted(
    [*(ROOT / "protocol").glob("*.py"), *(ROOT / "conform" / "cases").glob("*.py"),
     ROOT / "conform" / "model.py", ROOT / "conform" / "judge.py", ROOT / "conform" / "result.py",
     ROOT / "conform" / "ingress_rules.py", ROOT / "conform" / "matrix.py"]
)


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("path", PURE, ids=lambda p: str(p.relative_to(ROOT)))
def test_pure_modules_do_no_io(path: Path) -> None:
    assert imported_modules(path) & FORBIDDEN == set()


def test_pure_modules_import_only_pure_wsbench_modules() -> None:
    io_modules = {"wsbench.conform.connection", "wsbench.conform.runner", "wsbench.conform.ingress",
                  "wsbench.conform.lab", "wsbench.lab", "wsbench.cli"}
    for path in PURE:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not any(node.module == m or node.module.startswith(m + ".") for m in io_modules), (path, node.module)
