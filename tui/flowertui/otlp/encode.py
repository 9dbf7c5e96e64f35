"""Spans as the OTLP `ExportTraceServiceRequest` protobuf, with opentelemetry-proto's generated classes (no SDK).

The optional `otlp` extra provides them; importing this module without it raises `MissingExtra`, whose
message says how to install it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from flowertui import __version__

INSTALL = "pip install 'flowertui[otlp]'"


class MissingExtra(ImportError):
    """opentelemetry-proto is not installed."""


try:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (ExportTraceServiceRequest,
                                                                          ExportTraceServiceResponse)
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, InstrumentationScope, KeyValue
    from opentelemetry.proto.resource.v1.resource_pb2 import Resource
    from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status
except ImportError as exc:  # the extra is not installed
    raise MissingExtra(f"OTLP export needs the otlp extra ({exc.name or exc}): {INSTALL}") from None
except Exception as exc:  # noqa: BLE001  installed, but its protobuf runtime does not fit (a TypeError, usually)
    said = " ".join(str(exc).split())[:200]  # one line
    raise MissingExtra(f"OTLP export cannot load opentelemetry-proto ({type(exc).__name__}: {said}): "
                       f"reinstall the otlp extra: {INSTALL}") from None

from flowertui.otlp.spans import Span as SpanRecord  # noqa: E402
from flowertui.otlp.spans import Value  # noqa: E402

CONTENT_TYPE = "application/x-protobuf"


def request(spans: Iterable[SpanRecord], resource: Mapping[str, Value]) -> bytes:
    """One request body: the spans under one resource (the service) and one scope (flowertui)."""
    scope = ScopeSpans(scope=InstrumentationScope(name="flowertui", version=__version__),
                       spans=[_span(span) for span in spans])
    body = ExportTraceServiceRequest(resource_spans=[
        ResourceSpans(resource=Resource(attributes=_attributes(resource)), scope_spans=[scope])])
    return body.SerializeToString()


def rejected(body: bytes) -> tuple[int, str] | None:
    """A 2xx answer's partial success: how many spans the endpoint rejected and why (None if it took all)."""
    if not body:
        return None
    answer = ExportTraceServiceResponse()
    try:
        answer.ParseFromString(body)
    except Exception:  # noqa: BLE001  not a protobuf answer (a proxy's page): nothing said about rejects
        return None
    partial = answer.partial_success
    if partial.rejected_spans or partial.error_message:
        return int(partial.rejected_spans), partial.error_message
    return None


def _span(span: SpanRecord) -> Span:
    found = Span(trace_id=span.trace_id, span_id=span.span_id, parent_span_id=span.parent_span_id or b"",
                 name=span.name, kind=Span.SPAN_KIND_CLIENT if span.client else Span.SPAN_KIND_INTERNAL,
                 start_time_unix_nano=span.start_ns, end_time_unix_nano=span.end_ns,
                 attributes=_attributes(span.attributes),
                 events=[Span.Event(name=name, time_unix_nano=at, attributes=_attributes(attributes))
                         for name, at, attributes in span.events])
    if span.error is not None:
        found.status.CopyFrom(Status(code=Status.STATUS_CODE_ERROR, message=span.error))
    return found


def _attributes(values: Mapping[str, Value]) -> list[KeyValue]:
    return [KeyValue(key=key, value=_any(value)) for key, value in values.items()]


def _any(value: Value) -> AnyValue:
    if isinstance(value, bool):  # before int: a bool is an int
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, list):
        return AnyValue(array_value=ArrayValue(values=[_any(v) for v in value]))
    return AnyValue(string_value=str(value))
