"""Locust users for WebSocket sessions, measured and recorded the wsbench way.

The only package of wsbench that imports ``locust`` (and so gevent's monkey-patching):
the asyncio engine never imports it. See ``scenarios/locustfile.py``.
"""

from __future__ import annotations

from wsbench.locust.results import ResultWriter, attach_result_writer
from wsbench.locust.user import WebSocketUser

__all__ = ["WebSocketUser", "ResultWriter", "attach_result_writer"]
