"""Sending a session's spans: a recorded one at once (`flowertui export --format otlp`), or a traced program's
runs as they end (`flowertui trace --otlp`), in batches from a bounded queue drained by a background thread.

The live exporter is a sink on the session's bus: it only builds span records (cheap) and queues them, so
neither the traced program nor the app's event loop ever waits on the network. When the endpoint is slow or
down, the queue's overflow is dropped and counted; what was not delivered is said in one line.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from flowertui import __version__
from flowertui.engine.events import Event
from flowertui.otlp import encode
from flowertui.otlp.endpoint import Endpoint
from flowertui.otlp.send import DeliveryError, one_line, post
from flowertui.otlp.spans import Span, SpanBuilder, Value

BATCH = 512  # spans per request (the OpenTelemetry SDK's default batch)
QUEUE = 2048  # spans waiting to be sent before new ones are dropped (the SDK's default)
INTERVAL = 1.0  # seconds a live batch waits for more spans
CLOSE_WAIT = 5.0  # seconds `close` gives the last batches


@dataclass
class Report:
    """What became of a session's spans."""

    endpoint: str
    spans: int = 0
    sent: int = 0
    rejected: int = 0  # taken by the endpoint's answer as rejected (partial success)
    dropped: int = 0  # the live queue was full
    problem: str | None = None  # the first failure, one line

    @property
    def ok(self) -> bool:
        return self.sent == self.spans and not self.rejected

    def line(self) -> str:
        if self.ok:
            return f"OTLP: sent {self.sent} spans to {self.endpoint}"
        missing = self.spans - self.sent + self.rejected
        said = [f"OTLP: {missing} of {self.spans} spans not delivered"]
        if self.dropped:
            said.append(f"{self.dropped} dropped while the queue was full")
        if self.problem:
            said.append(self.problem)
        return "; ".join(said)


def resource(builder: SpanBuilder, env=None) -> dict[str, Value]:
    """The service the spans come from (OTEL_SERVICE_NAME, else flowertui; Phoenix files them under the same
    project name) and the session's kind."""
    env = os.environ if env is None else env
    service = env.get("OTEL_SERVICE_NAME", "").strip() or "flowertui"
    return {"service.name": service, "service.version": __version__, "openinference.project.name": service,
            **builder.resource()}


def send_events(events: Iterable[Event], endpoint: Endpoint) -> Report:
    """Send a recorded session's spans, batch by batch; a batch that cannot be delivered stops the rest."""
    spans: list[Span] = []
    builder = SpanBuilder(spans.append)
    for event in events:
        builder(event)
    builder.finish()
    report = Report(endpoint.shown, spans=len(spans))
    deadline = time.monotonic() + max(30.0, endpoint.timeout * 3)
    for first in range(0, len(spans), BATCH):
        batch = spans[first:first + BATCH]
        try:
            _send(endpoint, batch, resource(builder), report, deadline)
        except DeliveryError as exc:
            report.problem = str(exc)
            break
    return report


def _send(endpoint: Endpoint, batch: list[Span], attributes: dict[str, Value], report: Report,
          deadline: float | None) -> None:
    answer = post(endpoint, encode.request(batch, attributes), deadline=deadline)
    report.sent += len(batch)
    if (refused := encode.rejected(answer)) is not None:
        count, message = refused
        report.rejected += count
        report.problem = report.problem or f"the endpoint rejected {count} spans: {one_line(message)[:200]}"


class LiveExporter:
    """A sink that sends each run's span when the run ends; `close` flushes (bounded) and reports."""

    def __init__(self, endpoint: Endpoint, *, say: Callable[[str], None] | None = None,
                 batch: int = BATCH, size: int = QUEUE, interval: float = INTERVAL) -> None:
        """`say` is told the first failure at once (a headless run's stderr); the app reads `close`'s report."""
        self.endpoint = endpoint
        self.builder = SpanBuilder(self._queue_span)
        self.report = Report(endpoint.shown)
        self._say = say
        self._batch, self._interval = batch, interval
        self._queue: queue.Queue[Span | None] = queue.Queue(maxsize=size)
        self._closing = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._drain, name="flowertui-otlp", daemon=True)
        self._thread.start()

    def __call__(self, event: Event) -> None:
        with self._lock:  # events come from the bus's threads one at a time; the builder keeps state
            self.builder(event)

    def close(self, wait: float = CLOSE_WAIT) -> Report:
        """Close runs that never ended, send what is queued (within `wait` seconds) and say what became of it."""
        with self._lock:
            self.builder.finish()
        self._closing.set()
        try:
            self._queue.put_nowait(None)  # wakes the thread now rather than at its next interval
        except queue.Full:
            pass  # it has spans to send: it is awake
        self._thread.join(wait)
        with self._lock:
            self.report.spans = self.builder.spans
        if self._thread.is_alive() and not self.report.problem:
            self.report.problem = f"{self.endpoint.shown} did not take them within {wait:g} s"
        return self.report

    def _queue_span(self, span: Span) -> None:
        try:
            self._queue.put_nowait(span)
        except queue.Full:
            self.report.dropped += 1

    def _drain(self) -> None:
        while True:
            batch = self._take()
            if batch:
                try:
                    _send(self.endpoint, batch, resource(self.builder), self.report, None)
                except DeliveryError as exc:
                    self._failed(str(exc))
            elif self._closing.is_set():
                return

    def _take(self) -> list[Span]:
        """Up to a batch: what is queued, waiting at most the interval for the first span."""
        batch: list[Span] = []
        until = time.monotonic() + self._interval
        while len(batch) < self._batch:
            left = 0.0 if self._closing.is_set() else until - time.monotonic()
            try:
                span = self._queue.get(timeout=left) if left > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            if span is not None:
                batch.append(span)
        return batch

    def _failed(self, problem: str) -> None:
        if self.report.problem is None and self._say is not None:
            self._say(f"OTLP: {problem} (later spans are still sent once it answers)")
        self.report.problem = self.report.problem or problem
