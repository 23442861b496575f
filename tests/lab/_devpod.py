"""Development stand-in for ``wsbench.server.process`` (used only while the real pod is missing)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class ServeOptions:
    hosts: tuple[str, ...] = ("127.0.0.1",)
    port: int = 0
    pod_name: str | None = None
    ping_interval: float | None = None
    netns: str | None = None


class ServerProcess:
    def __init__(self, proc, port, hosts, pod_name):
        self.proc = proc
        self.pid = proc.pid
        self.port = port
        self.urls = [f"ws://{h}:{port}/" for h in hosts]
        self.url = self.urls[0]
        self.pod_name = pod_name

    def terminate(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(10)

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.terminate()

    def stats(self) -> dict:
        return {}


def start_server(options: ServeOptions, *, timeout: float = 10.0, log_path: str | None = None):
    port = options.port
    if not port:
        with socket.socket() as s:
            s.bind((options.hosts[0], 0))
            port = s.getsockname()[1]
    out = open(log_path or os.devnull, "ab")
    proc = subprocess.Popen(
        [sys.executable, __file__, str(port), options.pod_name or f"pod-{port}", *options.hosts],
        stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection((options.hosts[0], port), 0.2).close()
            return ServerProcess(proc, port, options.hosts, options.pod_name)
        except OSError:
            time.sleep(0.02)
    proc.kill()
    raise RuntimeError("dev pod did not start")


async def _main(port: int, name: str, hosts: list[str]) -> None:
    from websockets.asyncio.server import serve

    async def handler(ws):
        async for msg in ws:
            if msg == "whoami":
                req = ws.request
                await ws.send(json.dumps({
                    "pod": name, "pid": os.getpid(), "session": id(ws),
                    "peer": list(ws.remote_address[:2]), "path": req.path,
                    "headers": {k.lower(): v for k, v in req.headers.raw_items()},
                }))
            else:
                await ws.send(msg)

    def process_response(conn, request, response):
        response.headers["X-Wsbench-Pod"] = name
        return response

    stop = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set_result, None)
    async with serve(handler, hosts, port, ping_interval=None, process_response=process_response) as srv:
        await stop
        for conn in list(srv.connections):
            await conn.close(1001)


if __name__ == "__main__":
    asyncio.run(_main(int(sys.argv[1]), sys.argv[2], sys.argv[3:]))
