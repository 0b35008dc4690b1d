"""Tracing: one order is one trace, from the tenant's `traceparent` to the tenant's webhook.

The gateway speaks only the OpenTelemetry API. Each app has its own tracer
(`create_app` makes it from `[telemetry]`, or a test passes a TracerProvider
in `Settings`), handed down to the parts that open spans: the edge (the
request), the plugin host (each hook call), the provider door (each call),
the storage engines (each transaction), the intake and the dispatcher (each
delivery attempt). No global provider is installed, so two apps in one
process never mix their spans.

Context travels as W3C trace context: accepted from the tenant, sent to the
provider, stored with each outbox message (`origin()`) and sent on every
webhook, the delivery span being a child of the stored context, so the trace
a tenant started continues into the webhook it receives.

Off (no `otlp_endpoint`, no provider given): no SDK is built and the tracer is
the API's no-op one. Its spans record nothing, but they keep a tenant's incoming
context current, so its `traceparent` still reaches the provider and the
webhooks unchanged, and its trace id is still on the log lines.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import TYPE_CHECKING, Any

import structlog
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import INVALID_SPAN, Span, SpanKind, Tracer, TracerProvider
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

if TYPE_CHECKING:
    from gateway.config import TelemetryConfig

INSTRUMENTATION = "order-gateway"
NO_TRACER: Tracer = trace.NoOpTracer()
# W3C trace context only, whatever the process's global propagator is set to.
W3C = TraceContextTextMapPropagator()


_OFF: AbstractContextManager[Span] = nullcontext(INVALID_SPAN)


def span(
    tracer: Tracer,
    name: str,
    *,
    kind: SpanKind = SpanKind.INTERNAL,
    context: Context | None = None,
    attributes: Mapping[str, str | int] | None = None,
) -> AbstractContextManager[Span]:
    """A span current for the `with` block, continuing `context` if given (else the current
    span). With tracing off, the API's no-op span is made without its context switches
    (measured: 3.6 µs a span, nine per order and delivery); a given context that names a
    trace is still made current, so that it passes through to the provider and the outbox."""
    if tracer is not NO_TRACER:
        return tracer.start_as_current_span(name, context, kind, attributes)
    if context is None:
        return _OFF
    incoming = trace.get_current_span(context)
    if not incoming.get_span_context().is_valid:
        return _OFF
    return trace.use_span(incoming, end_on_exit=False)


def tracer_of(provider: TracerProvider | None) -> Tracer:
    return NO_TRACER if provider is None else provider.get_tracer(INSTRUMENTATION)


def build_provider(config: TelemetryConfig) -> TracerProvider | None:
    """The SDK provider exporting over OTLP/HTTP, or None when no endpoint is configured.
    The SDK is imported here only: when tracing is off it is not even loaded."""
    if config.otlp_endpoint is None:
        return None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

    provider = SdkTracerProvider(
        resource=Resource.create({"service.name": config.service_name}),
        # a tenant that sends a sampled traceparent gets its trace; others are sampled
        sampler=ParentBased(TraceIdRatioBased(config.sample_ratio)),
    )
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=config.otlp_endpoint)))
    return provider


def shutdown(provider: TracerProvider | None) -> None:
    """Flush and stop a provider the app built (the API's type has no `shutdown`)."""
    stop = getattr(provider, "shutdown", None)
    if stop is not None:
        stop()


def extract(headers: Mapping[str, str]) -> Context:
    """The context a `traceparent` (and `tracestate`) names; an empty one without it."""
    return W3C.extract(headers)


def inject(headers: dict[str, str]) -> None:
    """Add the current span's `traceparent` (nothing when there is no valid context)."""
    W3C.inject(headers)


def traceparent() -> str | None:
    carrier: dict[str, str] = {}
    W3C.inject(carrier)
    return carrier.get("traceparent")


def origin() -> tuple[str | None, str | None]:
    """What a queued message keeps of the work that wrote it: the request id and the
    traceparent. Read from context variables, which SQLite's worker thread gets a copy of."""
    return structlog.contextvars.get_contextvars().get("request_id"), traceparent()


def stored_context(value: str | None) -> Context | None:
    """The context a stored traceparent names, for a span that continues it."""
    return extract({"traceparent": value}) if value else None


@contextmanager
def provider_span(tracer: Tracer, account: str, operation: str) -> Iterator[Span]:
    """One call to the provider; the transport sends this span's context as `traceparent`."""
    attributes = {"gateway.account": account, "gateway.provider.operation": operation}
    with span(tracer, f"provider {operation}", kind=SpanKind.CLIENT, attributes=attributes) as made:
        yield made


def plugin_span(
    tracer: Tracer, plugin: str, hook: str, outcome: str, mode: str, took: float
) -> None:
    """One plugin's call of one hook, as a span that ended now and lasted `took` seconds;
    `outcome` is the plugin host's word for it (allowed, rejected, failed, notified, ...)."""
    if tracer is NO_TRACER:  # nothing would record it: skip even the no-op calls
        return
    attributes = {
        "gateway.plugin.name": plugin,
        "gateway.plugin.hook": hook,
        "gateway.plugin.outcome": outcome,
        "gateway.plugin.mode": mode,
    }
    end = time.time_ns()
    span = tracer.start_span(
        f"plugin {hook}", start_time=end - int(took * 1e9), attributes=attributes
    )
    span.end(end_time=end)


def add_trace_ids(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: `trace_id` and `span_id` of the current span, when there is one
    (recording, or a tenant's context passed through with tracing off)."""
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event.setdefault("trace_id", format(context.trace_id, "032x"))
        event.setdefault("span_id", format(context.span_id, "016x"))
    return event
