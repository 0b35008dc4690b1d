"""Per-order cost of the tracing calls with tracing off (the app's tracer is NO_TRACER), for
what a warm place-order and its one delivery run, counted with an SDK provider on: 1 server
span, 4 plugin calls, 1 provider span, 1 storage transaction and 1 enqueue, 4 log lines;
the delivery: 1 span, 5 storage transactions, 1 log line. Run: python bench/tracing_cost.py"""

import timeit

from multidict import CIMultiDict
from opentelemetry.trace import SpanKind

from gateway.tracing import (
    NO_TRACER,
    add_trace_ids,
    extract,
    inject,
    origin,
    plugin_span,
    provider_span,
    span,
    stored_context,
)

PLAIN = CIMultiDict({"Authorization": "Bearer x", "Content-Type": "application/json"})
TRACED = CIMultiDict(
    {**PLAIN, "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}
)
ATTR = {"db.system.name": "sqlite"}


def order(headers: CIMultiDict[str]) -> None:
    with span(
        NO_TRACER,
        "POST /v1/orders",
        context=extract(headers),
        kind=SpanKind.SERVER,
        attributes={
            "http.request.method": "POST",
            "http.route": "/v1/orders",
            "gateway.request_id": "req_1",
        },
    ) as server:
        for _ in range(4):
            plugin_span(
                NO_TRACER, "validation", "gateway_validate_order", "allowed", "enforce", 0.0
            )
        with provider_span(NO_TRACER, "main", "place_order") as call:
            inject({})
            call.set_attribute("http.response.status_code", 201)
        with span(NO_TRACER, "storage transaction", kind=SpanKind.CLIENT, attributes=ATTR):
            stored = origin()[1]
        for _ in range(4):
            add_trace_ids(None, "info", {"event": "x"})
        server.is_recording()
    with span(
        NO_TRACER,
        "webhook delivery",
        context=stored_context(stored),
        kind=SpanKind.CLIENT,
        attributes={
            "gateway.message_id": "m",
            "gateway.subscription_id": "s",
            "gateway.event_type": "e",
            "gateway.delivery.attempt": 1,
        },
    ) as delivery:
        inject({})
        for _ in range(5):
            with span(NO_TRACER, "storage transaction", kind=SpanKind.CLIENT, attributes=ATTR):
                pass
        add_trace_ids(None, "info", {"event": "x"})
        delivery.is_recording()


def main() -> None:
    n = 20000
    for label, headers in (("no traceparent", PLAIN), ("tenant's traceparent", TRACED)):
        best = min(timeit.repeat(lambda h=headers: order(h), number=n, repeat=7)) / n
        print(f"tracing off, {label}: {best * 1e6:.1f} us per order (+ its delivery)")


if __name__ == "__main__":
    main()
