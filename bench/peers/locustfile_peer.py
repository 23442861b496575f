"""Locust + websocket-client as a peer of ``bench/peers/run_peers.py`` (not wsbench's Locust).

One user per session, as a Locust user writes it: ``websocket.create_connection`` (gevent
makes it cooperative), each round trip reported to Locust's stats as a request.
PEER_TEST=rtt: PEER_MESSAGES round trips closed loop; idle: one echo, hold PEER_HOLD s.
"""

from __future__ import annotations

import os
import time

import gevent
import websocket
from locust import User, constant, task
from locust.exception import StopUser

__all__ = ["EchoUser"]

URL = os.environ.get("PEER_URL", "")
TEST = os.environ.get("PEER_TEST", "rtt")
MESSAGES = int(os.environ.get("PEER_MESSAGES", "1"))
HOLD = float(os.environ.get("PEER_HOLD", "0"))
MESSAGE = "0123456789abcdef0123456789abcdef"


class EchoUser(User):
    wait_time = constant(0)

    def _round_trip(self, ws: websocket.WebSocket) -> None:
        start = time.perf_counter()
        ws.send(MESSAGE)
        ws.recv()
        self.environment.events.request.fire(
            request_type="WS", name="echo", response_time=(time.perf_counter() - start) * 1000,
            response_length=len(MESSAGE), exception=None, context={})

    @task
    def session(self) -> None:
        ws = websocket.create_connection(URL, timeout=30)
        try:
            if TEST == "idle":
                self._round_trip(ws)
                gevent.sleep(HOLD)
            else:
                for _ in range(MESSAGES):
                    self._round_trip(ws)
        finally:
            ws.close()
        raise StopUser()
