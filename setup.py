"""Builds the optional C extension ``wsbench.engine._fastpath`` (everything else: pyproject.toml).

The extension compiles the closed-loop hot path against picows' Cython declarations; if
it cannot be built (no compiler), wsbench installs and runs on the pure-Python listener.

It also copies the example scenarios (``scenarios/*.yaml``, the one copy) into the wheel
as ``wsbench/scenarios/``, so ``wsbench run closed-loop`` works in an installed wsbench.
"""

import shutil
from pathlib import Path

from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_py import build_py


class BuildPyWithScenarios(build_py):
    """build_py, plus the example scenarios as package data."""

    def run(self):
        super().run()
        target = Path(self.build_lib) / "wsbench" / "scenarios"
        target.mkdir(parents=True, exist_ok=True)
        for path in sorted(Path(__file__).resolve().parent.glob("scenarios/*.yaml")):
            shutil.copyfile(path, target / path.name)


setup(
    cmdclass={"build_py": BuildPyWithScenarios},
    ext_modules=cythonize(
        [Extension("wsbench.engine._fastpath", ["wsbench/engine/_fastpath.pyx"], optional=True)],
        compiler_directives={"language_level": "3"},
        quiet=True,
    ),
)
