"""The example scenarios that ship with wsbench, found by name (``wsbench run closed-loop``).

They live in the repository's ``scenarios/`` folder (one copy, what the README shows);
building the wheel copies them into the package as ``wsbench/scenarios/`` (``setup.py``).
An installed wsbench finds them there, a checkout or an editable install in ``scenarios/``
beside the package.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["scenario_dirs", "bundled_scenarios", "find_bundled"]

_PACKAGE = Path(__file__).resolve().parent


def scenario_dirs() -> list[Path]:
    """Where bundled scenarios may be: inside the installed package, then the checkout."""
    return [path for path in (_PACKAGE / "scenarios", _PACKAGE.parent / "scenarios") if path.is_dir()]


def bundled_scenarios() -> dict[str, Path]:
    """Name (file name without ``.yaml``) -> file, for every bundled scenario."""
    found: dict[str, Path] = {}
    for folder in scenario_dirs():
        for path in sorted(folder.glob("*.yaml")):
            found.setdefault(path.stem, path)
    return found


def find_bundled(name: str) -> Path | None:
    """The bundled scenario called ``name`` (``closed-loop`` or ``closed-loop.yaml``), if any."""
    if "/" in name or "\\" in name:
        return None
    return bundled_scenarios().get(name.removesuffix(".yaml"))
