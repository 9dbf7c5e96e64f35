"""A real OTLP/HTTP receiver on 127.0.0.1: it decodes each `ExportTraceServiceRequest` with opentelemetry-proto.

`answers` scripts its replies (a status per request, then 200 for the rest), so tests can make it fail,
throttle or reject; every request's headers, content type and decoded spans are kept.
"""

from __future__ import annotations

import gzip
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (ExportTraceServiceRequest,
                                                                      ExportTraceServiceResponse)

from tests.support.openai_server import STOP_POLL


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    request: ExportTraceServiceRequest


@dataclass
class Receiver:
    url: str
    answers: list[Any] = field(default_factory=list)  # int status, or ("reject", n, message), per request
    received: list[Received] = field(default_factory=list)
    attempts: int = 0

    def spans(self) -> list[Any]:
        return [span for got in self.received for rs in got.request.resource_spans for ss in rs.scope_spans
                for span in ss.spans]

    def resources(self) -> list[dict[str, Any]]:
        return [attributes(rs.resource.attributes) for got in self.received for rs in got.request.resource_spans]


def attributes(pairs) -> dict[str, Any]:
    """KeyValue list → plain dict (arrays as lists)."""
    found = {}
    for pair in pairs:
        which = pair.value.WhichOneof("value")
        value = getattr(pair.value, which)
        if which == "array_value":
            value = [getattr(v, v.WhichOneof("value")) for v in value.values]
        found[pair.key] = value
    return found


@contextmanager
def otlp_receiver(*answers: Any) -> Iterator[Receiver]:
    receiver = Receiver("", list(answers))

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            receiver.attempts += 1
            answer = receiver.answers.pop(0) if receiver.answers else 200
            if isinstance(answer, int) and answer != 200:
                self.send_response(answer)
                if answer in (429, 503):
                    self.send_header("Retry-After", "0")
                said = b"try \x1b[31mlater"  # an escape sequence the message must not pass on
                self.send_header("Content-Length", str(len(said)))
                self.end_headers()
                self.wfile.write(said)
                return
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            request = ExportTraceServiceRequest()
            request.ParseFromString(body)
            receiver.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, request))
            reply = ExportTraceServiceResponse()
            if isinstance(answer, tuple):  # ("reject", n, message): a partial success
                reply.partial_success.rejected_spans = answer[1]
                reply.partial_success.error_message = answer[2]
            payload = reply.SerializeToString()
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/v1/traces"
    thread = threading.Thread(target=server.serve_forever, args=(STOP_POLL,), daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
