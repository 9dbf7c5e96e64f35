"""The audit proxy: forwards a program's HTTP calls to its real endpoint unchanged, and reports each call.

Run by process.py as `python -m flowertui.trace.audit.proxy --fd N --upstream URL` on a listening
socket flowertui bound; it serves until its stdin (the lifeline, held by flowertui and by each run's
relay) reaches EOF, so it outlives a killed flowertui as long as the program runs, as the offline
server does. Each response is forwarded piece by piece as it arrives (`aiter_raw`: no decoding, no
buffering); the pieces are read on the side after they are sent. Records go to stdout, one JSON line each
(`{"open": N}` when a call starts, `{"call": {…}}` when it ends), through a bounded queue and a writer
thread, so a slow or dead reader never holds up a response. Headers pass through but are never
recorded: the Authorization header reaches the upstream and nothing else.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import queue
import socket
import ssl
import sys
import threading
from typing import Any
from urllib.parse import urlsplit

import httpx
import uvicorn

from flowertui.trace.audit.wire import CallObserver

HOP_BY_HOP = {b"connection", b"keep-alive", b"proxy-authenticate", b"proxy-authorization", b"te", b"trailer",
              b"transfer-encoding", b"upgrade", b"host"}
RECORD_QUEUE = 10_000  # records waiting for flowertui to read them; more are counted, not kept


class Reports:
    """Records to stdout from a thread of its own; after flowertui is gone (EPIPE) they are dropped."""

    def __init__(self, fd: int = 1) -> None:
        self.fd = fd
        self.queue: queue.Queue[bytes | None] = queue.Queue(RECORD_QUEUE)
        self.dropped = 0
        self.gone = False
        threading.Thread(target=self._write, name="audit-reports", daemon=True).start()

    def put(self, record: dict[str, Any]) -> None:
        if self.gone:
            return
        try:
            self.queue.put_nowait((json.dumps(record, separators=(",", ":")) + "\n").encode())
        except queue.Full:
            self.dropped += 1

    def _write(self) -> None:
        while (line := self.queue.get()) is not None:
            try:
                while line:
                    line = line[os.write(self.fd, line):]
            except OSError:
                self.gone = True
                return


def upstream_origin(base_url: str) -> str:
    """`https://api.openai.com/v1` → `https://api.openai.com`: request paths are forwarded as they come."""
    parts = urlsplit(base_url)
    return f"{parts.scheme}://{parts.netloc}"


class Proxy:
    """The ASGI app: one upstream origin, one shared httpx client (system certificates for TLS)."""

    def __init__(self, upstream: str, reports: Reports) -> None:
        self.origin = upstream_origin(upstream)
        self.reports = reports
        self.numbers = itertools.count(1)
        self._client: httpx.AsyncClient | None = None

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:  # made in the server's event loop
            self._client = httpx.AsyncClient(verify=ssl.create_default_context(), timeout=None,
                                             limits=httpx.Limits(max_connections=None, max_keepalive_connections=64),
                                             follow_redirects=False)
        return self._client

    async def __call__(self, scope: dict, receive, send) -> None:
        if scope["type"] != "http":
            return
        path = scope["path"]
        observer = CallObserver(next(self.numbers), scope["method"], path)
        self.reports.put({"open": observer.call})
        try:
            await self._forward(scope, receive, send, observer)
        finally:
            self.reports.put({"call": observer.record()})

    async def _forward(self, scope: dict, receive, send, observer: CallObserver) -> None:
        raw_path = scope.get("raw_path") or scope["path"].encode()
        query = scope.get("query_string") or b""
        url = self.origin + raw_path.decode("latin-1") + (("?" + query.decode("latin-1")) if query else "")
        headers = [(name, value) for name, value in scope["headers"] if name.lower() not in HOP_BY_HOP]
        read = []  # holds True once the whole request body was read: then receive() only waits for a hang-up

        async def body():
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    observer.client_gone = True
                    return
                chunk = message.get("body", b"")
                if chunk:
                    yield chunk
                    observer.request(chunk)
                if not message.get("more_body"):
                    read.append(True)
                    return

        request = self.client.build_request(scope["method"], url, headers=headers, content=body())
        try:
            response = await self.client.send(request, stream=True)
        except httpx.HTTPError as exc:
            observer.error = f"upstream unreachable: {type(exc).__name__}"
            await _bad_gateway(send, self.origin, exc)
            observer.response_start(502, [])
            return
        watcher = asyncio.ensure_future(_hang_up(receive, observer)) if read else None
        try:
            out_headers = [(name, value) for name, value in response.headers.raw if name.lower() not in HOP_BY_HOP]
            await send({"type": "http.response.start", "status": response.status_code, "headers": out_headers})
            observer.response_start(response.status_code, out_headers)
            async for chunk in response.aiter_raw():
                if observer.client_gone:  # the program hung up: so does the proxy, as the program's own close would
                    break
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
                observer.response(chunk)
            else:
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        except (httpx.HTTPError, OSError) as exc:  # the upstream broke off mid-body: so does the client's
            observer.error = observer.error or f"upstream broke off: {type(exc).__name__}"
        finally:
            if watcher is not None:
                watcher.cancel()
            await response.aclose()


async def _hang_up(receive, observer: CallObserver) -> None:
    """Once the request is read, the next message is the client's disconnect (cancelled when the response ends)."""
    if not observer.client_gone and (await receive())["type"] == "http.disconnect":
        observer.client_gone = True


async def _bad_gateway(send, origin: str, exc: Exception) -> None:
    """The upstream could not be reached: a 502 in the API's error shape (the client retries it as it would)."""
    body = json.dumps({"error": {"message": f"flowertui audit proxy: {origin} unreachable ({type(exc).__name__})",
                                 "type": "proxy_error", "param": None, "code": "upstream_unreachable"}}).encode()
    await send({"type": "http.response.start", "status": 502,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body, "more_body": False})


def serve(sock: socket.socket, upstream: str, *, until_eof: bool) -> None:
    reports = Reports()
    config = uvicorn.Config(Proxy(upstream, reports), lifespan="off", log_config=None, access_log=False,
                            log_level="critical", server_header=False, date_header=False,
                            timeout_graceful_shutdown=2, timeout_keep_alive=30)
    server = uvicorn.Server(config)
    if until_eof:
        threading.Thread(target=lambda: (sys.stdin.buffer.read(), setattr(server, "should_exit", True)),
                         daemon=True).start()
    asyncio.run(server.serve(sockets=[sock]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="flowertui-audit-proxy")
    parser.add_argument("--fd", type=int, required=True, help="an inherited listening socket")
    parser.add_argument("--upstream", required=True, help="the program's real base URL")
    parser.add_argument("--until-eof", action="store_true", help="stop when stdin is closed")
    args = parser.parse_args(argv)
    serve(socket.socket(fileno=args.fd), args.upstream, until_eof=args.until_eof)
    return 0


if __name__ == "__main__":
    sys.exit(main())
