"""wsbench: load- and conformance-test WebSocket endpoints behind Kubernetes Ingress controllers.

The public API is re-exported here; ``tests/test_public_api.py`` guards it.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
