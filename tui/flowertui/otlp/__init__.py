"""OpenTelemetry export: a session's runs as spans, sent over OTLP/HTTP protobuf to Phoenix, Langfuse, Jaeger…

`spans` turns events into span records (standard library only), `encode` writes them as the
`ExportTraceServiceRequest` protobuf (the optional `otlp` extra: opentelemetry-proto), `endpoint`
reads the OTLP settings (flags, then the OTEL_EXPORTER_OTLP_* variables), `send` posts with retries and
`live` sends a traced program's runs as they end. Nothing here is imported unless an export is asked for.
"""
