"""A small reverse proxy for WebSockets with knobs that misbehave the way ingresses do.

It reads the client's upgrade request head, rewrites its headers as told, sends it to
the upstream and then copies bytes both ways. Without knobs it behaves like a
well-configured ingress: it adds X-Forwarded-For and keeps Host. Prints
'LISTENING <port>' once bound.

Usage: python bad_proxy.py UPSTREAM_HOST:PORT [--idle S] [--lifetime S] [--strip-deflate]
       [--drop-origin] [--rewrite-host] [--no-xff] [--tls-cert CRT --tls-key KEY]

--idle S         close the TCP connections (FIN, no close frame) after S seconds without
                 bytes in either direction, as nginx's proxy_read_timeout does
--lifetime S     cut every session S seconds after the upgrade, traffic or not
                 (client pings then cannot keep a session open)
--strip-deflate  remove Sec-WebSocket-Extensions from the request (the pod never sees it)
--drop-origin    remove Origin
--rewrite-host   send the upstream's address as Host
--no-xff         do not add X-Forwarded-For
--tls-cert/-key  terminate TLS (wss://) with this certificate and key
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ssl
import time


def rewrite(head: bytes, args: argparse.Namespace, client_ip: str) -> bytes:
    lines = head.decode("latin-1").split("\r\n")
    out = [lines[0]]
    for line in lines[1:]:
        name = line.split(":", 1)[0].strip().lower()
        if (name == "sec-websocket-extensions" and args.strip_deflate) or (
                name == "origin" and args.drop_origin):
            continue
        if name == "host" and args.rewrite_host:
            line = f"Host: {args.upstream}"
        out.append(line)
    if not args.no_xff:
        out.append(f"X-Forwarded-For: {client_ip}")
    return ("\r\n".join(out) + "\r\n\r\n").encode("latin-1")


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
               activity: list[float]) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while data := await reader.read(65536):
            activity[0] = time.monotonic()
            writer.write(data)
            await writer.drain()


async def handle(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter,
                 args: argparse.Namespace) -> None:
    upstream_w = None
    try:
        head = await client_r.readuntil(b"\r\n\r\n")
        host, port = args.upstream.rsplit(":", 1)
        upstream_r, upstream_w = await asyncio.open_connection(host, int(port))
        upstream_w.write(rewrite(head[:-4], args, client_w.get_extra_info("peername")[0]))
        activity = [time.monotonic()]
        started = activity[0]
        tasks = [asyncio.ensure_future(pipe(client_r, upstream_w, activity)),
                 asyncio.ensure_future(pipe(upstream_r, client_w, activity))]
        while not all(t.done() for t in tasks):
            await asyncio.wait(tasks, timeout=0.05, return_when=asyncio.FIRST_COMPLETED)
            if any(t.done() for t in tasks):
                break  # one side closed: close the other (half-close is not needed here)
            now = time.monotonic()
            if (args.idle and now - activity[0] > args.idle) or (
                    args.lifetime and now - started > args.lifetime):
                break
        for task in tasks:
            task.cancel()
    except (ConnectionError, OSError, asyncio.IncompleteReadError):
        pass
    finally:
        for writer in (client_w, upstream_w):
            if writer is not None:
                writer.close()


async def main(args: argparse.Namespace) -> None:
    context = None
    if args.tls_cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.tls_cert, args.tls_key)
    server = await asyncio.start_server(lambda r, w: handle(r, w, args), "127.0.0.1", 0,
                                        ssl=context)
    print(f"LISTENING {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("upstream")
    parser.add_argument("--idle", type=float, default=0.0)
    parser.add_argument("--lifetime", type=float, default=0.0)
    for flag in ("--strip-deflate", "--drop-origin", "--rewrite-host", "--no-xff"):
        parser.add_argument(flag, action="store_true")
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    asyncio.run(main(parser.parse_args()))
