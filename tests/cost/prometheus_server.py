"""A Prometheus HTTP API on 127.0.0.1 serving known series (for ``--cost-from-prometheus``).

A real HTTP server (``http.server`` in a thread), not a mock: it answers ``/api/v1/query``
and ``/api/v1/query_range`` in Prometheus' JSON format for exactly the queries it is given,
each a function of the Unix time; any other query matches no series (an empty result, as
Prometheus answers a selector that matches nothing).
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["serving_prometheus"]

Series = Callable[[float], float]


def _handler(series: dict[str, Series], asked: list[str]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _send(self, status: int, body: dict[str, object]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            url = urllib.parse.urlsplit(self.path)
            params = dict(urllib.parse.parse_qsl(url.query))
            query = params.get("query", "")
            asked.append(f"{url.path} {query}")
            value = series.get(query)
            if url.path == "/api/v1/query":
                now = time.time()
                self._send(200, {"status": "success", "data": {"resultType": "vector", "result": [
                    {"metric": {}, "value": [now, repr(value(now))]}] if value else []}})
            elif url.path == "/api/v1/query_range" and value is None:
                self._send(200, {"status": "success", "data": {"resultType": "matrix", "result": []}})
            elif url.path == "/api/v1/query_range":
                start, end, step = float(params["start"]), float(params["end"]), float(params["step"])
                points, t = [], start
                while t <= end + 1e-9:
                    points.append([t, repr(value(t))])
                    t += step
                self._send(200, {"status": "success", "data": {"resultType": "matrix", "result": [
                    {"metric": {}, "values": points}]}})
            else:
                self._send(404, {"status": "error", "errorType": "not_found", "error": url.path})

    return Handler


@contextlib.contextmanager
def serving_prometheus(series: dict[str, Series]) -> Iterator[tuple[str, list[str]]]:
    """(its base URL, every ``path query`` asked) while it serves ``series`` (query -> f(unix t))."""
    asked: list[str] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(series, asked))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", asked
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
