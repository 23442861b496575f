"""Builds the optional C extension ``wsbench.engine._fastpath`` (everything else: pyproject.toml).

The extension compiles the closed-loop hot path against picows' Cython declarations; if
it cannot be built (no compiler), wsbench installs and runs on the pure-Python listener.
"""

from Cython.Build import cythonize
from setuptools import Extension, setup

setup(
    ext_modules=cythonize(
        [Extension("wsbench.engine._fastpath", ["wsbench/engine/_fastpath.pyx"], optional=True)],
        compiler_directives={"language_level": "3"},
        quiet=True,
    )
)
