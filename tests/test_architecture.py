"""Import rules (DESIGN.md, STYLE.md), checked on the source: the layers, the pure core, Locust.

The layer table below is the one place the rules are written as data; the README's
"Layout" section says the same in words. Every import counts: module-level, inside a
function, under ``if TYPE_CHECKING:``, relative (``from ..report import fmt``),
``from wsbench import engine`` and ``importlib.import_module("wsbench.engine")``.
The checker is tested too: it must find a wrong import in a small package built in
``tmp_path``.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import wsbench

PACKAGE = Path(wsbench.__file__).resolve().parent

#: The layers, lowest first: each top-level module or folder of ``wsbench/`` and its layer.
#: A module may import its own layer and the layers below it, never one above.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    # what every layer uses: the exception tree, the atomic JSON write and checked read
    ("base", ("errors.py", "files.py")),
    # pure: data and rules, no sockets, processes or event loop (files only as JSON in/out)
    ("pure", ("protocol", "metrics", "result", "shapes.py", "scenario.py", "bundled.py")),
    # I/O: sockets, processes, the event loop, the lab, Locust
    ("io", ("engine", "lab", "conform", "disrupt", "server", "locust", "cost", "live")),
    # readers of Result files: gate verdicts, reports; k8s manifests and Result lines in Job logs
    ("readers", ("gate", "report", "k8s")),
    # searches that run the engine and judge each run with the gate: capacity
    ("drivers", ("capacity",)),
    # what a user calls: the command line and the public API
    ("entry", ("cli", "__main__.py", "__init__.py")),
)
#: Layers that may import only these lower layers (the readers never see live objects).
READS_ONLY: dict[str, frozenset[str]] = {"readers": frozenset({"base", "pure"})}
#: Members of one layer that never import each other.
APART: tuple[tuple[str, str], ...] = (("gate", "report"),)
#: Names any module may import from the package root (the root defines them before any import).
ROOT_NAMES = frozenset({"__version__"})

PURE = [
    "protocol",
    "metrics",
    "result",
    "shapes.py",
    "scenario.py",
    "gate",
    "conform/model.py",
    "conform/cases",
    "conform/judge.py",
    "capacity/search.py",
    "capacity/steps.py",
    "capacity/result.py",
    "cost/figures.py",
]
IO_MODULES = {"asyncio", "socket", "subprocess", "selectors", "ssl", "multiprocessing", "uvloop", "picows"}
LOCUST_MODULES = {"locust", "gevent"}


# --- the checker ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Import:
    """One import of a module of the package: who, where, what (dotted), and its unit."""

    path: Path
    line: int
    module: str
    unit: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line} imports {self.module}"


def _unit_of(root: Path, parts: list[str]) -> str:
    """The top-level module or folder of the package at ``root`` that holds the dotted name
    ``parts`` (without the package's own name); a name defined in the root is ``__init__.py``."""
    if parts and (root / parts[0]).is_dir():
        return parts[0]
    if parts and (root / f"{parts[0]}.py").is_file():
        return f"{parts[0]}.py"
    return "__init__.py"


def _targets(node: ast.AST, package: list[str]) -> Iterator[list[str]]:
    """Dotted names (as parts) that ``node`` imports; ``package`` holds the importing module."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            yield alias.name.split(".")
    elif isinstance(node, ast.ImportFrom):
        base = package[: len(package) - node.level + 1] if node.level else []
        module = base + (node.module.split(".") if node.module else [])
        if len(module) == 1:  # from the package root: each name may be a submodule
            yield from (module + [alias.name] for alias in node.names if alias.name not in ROOT_NAMES)
        else:
            yield module
    elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
          and node.func.attr == "import_module" and node.args
          and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
        yield node.args[0].value.split(".")


def package_imports(root: Path) -> dict[str, list[Import]]:
    """For each top-level module or folder of the package at ``root``, its imports of the others."""
    found: dict[str, list[Import]] = {}
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        unit = relative.parts[0]
        package = [root.name, *relative.parts[:-1]]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            for parts in _targets(node, package):
                target = _unit_of(root, parts[1:])
                if parts[0] == root.name and target != unit:
                    imp = Import(Path(root.name, relative), node.lineno, ".".join(parts), target)
                    found.setdefault(unit, []).append(imp)
    return found


def layer_of(unit: str) -> str:
    for layer, members in LAYERS:
        if unit in members:
            return layer
    raise KeyError(f"{unit} has no layer: place it in LAYERS (tests/test_architecture.py) and the README")


def rank(layer: str) -> int:
    return [name for name, _ in LAYERS].index(layer)


def upward_imports(root: Path) -> list[str]:
    """Imports of a higher layer by a lower one."""
    return [f"{imp} ({layer_of(unit)} < {layer_of(imp.unit)})"
            for unit, imports in package_imports(root).items() for imp in imports
            if rank(layer_of(unit)) < rank(layer_of(imp.unit))]


def read_only_breaches(root: Path) -> list[str]:
    """Imports by a READS_ONLY layer of a lower layer it may not read."""
    return [f"{imp} ({layer_of(unit)} import only {sorted(READS_ONLY[layer_of(unit)])})"
            for unit, imports in package_imports(root).items() for imp in imports
            if layer_of(unit) in READS_ONLY and rank(layer_of(imp.unit)) < rank(layer_of(unit))
            and layer_of(imp.unit) not in READS_ONLY[layer_of(unit)]]


def imports_between(root: Path, pairs: tuple[tuple[str, str], ...]) -> list[str]:
    """Imports in either direction between the units of each pair."""
    imports = package_imports(root)
    return [f"{imp} ({a} and {b} stay apart)" for a, b in pairs
            for unit, other in ((a, b), (b, a)) for imp in imports.get(unit, []) if imp.unit == other]


def unplaced(root: Path) -> list[str]:
    """Top-level modules and folders of the package with no layer."""
    entries = [p.name for p in root.iterdir()
               if (p.suffix == ".py" or (p.is_dir() and any(p.rglob("*.py"))))]
    placed = {member for _, members in LAYERS for member in members}
    return sorted(set(entries) - placed)


# --- the rules, on wsbench -----------------------------------------------------------------


def test_every_module_has_a_layer():
    assert unplaced(PACKAGE) == []


def test_a_lower_layer_never_imports_a_higher_one():
    assert upward_imports(PACKAGE) == []


def test_gate_and_report_read_only_result_types():
    assert read_only_breaches(PACKAGE) == []


def test_gate_and_report_never_import_each_other():
    assert imports_between(PACKAGE, APART) == []


# --- the checker finds what it should ------------------------------------------------------


def _tree(root: Path, files: dict[str, str]) -> Path:
    """A package ``wsbench`` under ``root`` with ``files`` (relative path -> source)."""
    package = root / "wsbench"
    for name, source in {"__init__.py": "", **files}.items():
        path = package / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.name != "__init__.py" and not (path.parent / "__init__.py").exists():
            (path.parent / "__init__.py").write_text("")
        path.write_text(source)
    return package


GOOD = {
    "errors.py": "",
    "protocol/frames.py": "from wsbench.errors import WsbenchError\n",
    "engine/runner.py": "from wsbench import __version__\nfrom wsbench.protocol import frames\n",
    "report/render.py": "from ..protocol.frames import encode\n",
    "gate/evaluate.py": "import wsbench.errors\n",
    "cli/run.py": "from wsbench import engine, gate, report\n",
}


@pytest.mark.parametrize(("source", "module"), [
    ("from wsbench.engine.runner import run\n", "wsbench.engine.runner"),
    ("import wsbench.engine.runner\n", "wsbench.engine.runner"),
    ("from wsbench import engine\n", "wsbench.engine"),
    ("from .. import engine\n", "wsbench.engine"),
    ("from ..engine import runner\n", "wsbench.engine"),
    ("def later():\n    from wsbench.engine import runner\n", "wsbench.engine"),
    ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from wsbench.engine.runner import Runner\n",
     "wsbench.engine.runner"),
    ("import importlib\nrunner = importlib.import_module('wsbench.engine.runner')\n", "wsbench.engine.runner"),
], ids=["from", "import", "from-root", "relative-root", "relative", "in-function", "type-checking",
        "import_module"])
def test_the_checker_finds_a_lower_layer_importing_a_higher_one(tmp_path, source, module):
    package = _tree(tmp_path, {**GOOD, "protocol/stamp.py": source})
    line = source.count("\n")  # the wrong import is the last line
    assert upward_imports(package) == [f"wsbench/protocol/stamp.py:{line} imports {module} (pure < io)"]
    assert upward_imports(_tree(tmp_path / "good", GOOD)) == []


def test_the_checker_finds_gate_and_report_importing_each_other(tmp_path):
    package = _tree(tmp_path, {**GOOD, "report/model.py": "from wsbench.gate.verdict import Verdict\n",
                               "gate/thresholds.py": "from ..report import fmt\n"})
    assert imports_between(package, APART) == [
        "wsbench/gate/thresholds.py:1 imports wsbench.report (gate and report stay apart)",
        "wsbench/report/model.py:1 imports wsbench.gate.verdict (gate and report stay apart)",
    ]
    assert upward_imports(package) == []  # same layer: only the APART rule sees it
    assert imports_between(_tree(tmp_path / "good", GOOD), APART) == []


def test_the_checker_finds_a_reader_importing_live_objects(tmp_path):
    package = _tree(tmp_path, {**GOOD, "report/load.py": "from wsbench.engine.runner import Runner\n"})
    assert read_only_breaches(package) == [
        "wsbench/report/load.py:1 imports wsbench.engine.runner (readers import only ['base', 'pure'])"
    ]
    assert upward_imports(package) == []
    assert read_only_breaches(_tree(tmp_path / "good", GOOD)) == []


def test_the_checker_finds_a_module_with_no_layer(tmp_path):
    package = _tree(tmp_path, {**GOOD, "helpers.py": "", "widgets/thing.py": ""})
    assert unplaced(package) == ["helpers.py", "widgets"]
    with pytest.raises(KeyError, match="helpers.py has no layer"):
        upward_imports(_tree(tmp_path / "more", {**GOOD, "helpers.py": "from wsbench import cli\n"}))


# --- the pure core and Locust --------------------------------------------------------------


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


def test_importing_the_pure_layers_loads_no_io_module():
    """At run time too: the package root (the public API) pulls no I/O into the pure layers.
    (conform's pure modules sit in an I/O package whose ``__init__`` imports its runner.)"""
    modules = [".".join(("wsbench", *path.relative_to(PACKAGE).with_suffix("").parts)).removesuffix(".__init__")
               for entry in PURE if not entry.startswith("conform/") for path in _files(entry)]
    code = ("import importlib, sys\n"
            f"for name in {modules!r}: importlib.import_module(name)\n"
            f"print(sorted(m for m in sys.modules if m.split('.')[0] in {sorted(IO_MODULES | LOCUST_MODULES)!r}))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          cwd=PACKAGE.parent)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


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
