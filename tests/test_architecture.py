"""Import rules (STYLE.md): pure layers do no I/O; only wsbench/locust/ imports locust."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import wsbench

PACKAGE = Path(wsbench.__file__).resolve().parent
PURE = [
    "protocol",
    "metrics",
    "shapes.py",
    "scenario.py",
    "gate",
    "conform/model.py",
    "conform/cases",
    "conform/judge.py",
]
IO_MODULES = {"asyncio", "socket", "subprocess", "selectors", "ssl", "multiprocessing", "uvloop", "picows"}
LOCUST_MODULES = {"locust", "gevent"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def _files(entry: str) -> list[Path]:
    path = PACKAGE / entry
    if path.is_dir():
        return sorted(path.rglob("*.py"))
    return [path] if path.exists() else []


@pytest.mark.parametrize("entry", PURE)
def test_pure_layers_do_no_io(entry):
    for path in _files(entry):
        bad = _imports(path) & IO_MODULES
        assert not bad, f"{path.relative_to(PACKAGE)} imports {sorted(bad)}"


def test_only_the_locust_package_imports_locust():
    for path in PACKAGE.rglob("*.py"):
        if "locust" in path.relative_to(PACKAGE).parts[:1]:
            continue
        bad = _imports(path) & LOCUST_MODULES
        assert not bad, f"{path.relative_to(PACKAGE)} imports {sorted(bad)}"


def test_every_module_declares_all():
    missing = []
    for path in PACKAGE.rglob("*.py"):
        if path.name in ("__main__.py",) or (path.name == "__init__.py" and not path.read_text().strip()):
            continue
        tree = ast.parse(path.read_text())
        declared = any(
            isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in node.targets)
            for node in tree.body
        )
        if not declared and path.name != "__init__.py":
            missing.append(str(path.relative_to(PACKAGE)))
    assert not missing, f"modules without __all__: {missing}"
