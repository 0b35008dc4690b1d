"""Tracing: one order is one trace, from the tenant's traceparent into the webhook it receives.

Each gateway here gets its own SDK TracerProvider with an in-memory exporter (no global
provider is set, and nothing leaves the machine)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import pytest
import structlog
from aiohttp import web
from aiohttp.test_utils import TestServer
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ParentBased
from opentelemetry.trace import SpanKind
from structlog.testing import capture_logs

from gateway.api.edge import TRACER
from gateway.config import ConfigError, TelemetryConfig, parse
from gateway.provider.transport import ProviderHttp
from gateway.state import DISPATCHER
from gateway.testing import gateway_config
from gateway.tracing import NO_TRACER, add_trace_ids, build_provider, shutdown
from tests.conftest import EndpointFactory, Gateway, GatewayFactory

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TENANT_SPAN = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{TENANT_SPAN}-01"


@pytest.fixture
def exported() -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


@pytest.fixture
def provider_headers(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, str]]:
    """The headers of every request the gateway's transport sends to the provider."""
    sent: list[dict[str, str]] = []

    async def record(_: Any, __: Any, params: aiohttp.TraceRequestStartParams) -> None:
        sent.append(dict(params.headers))

    def open_traced(self: ProviderHttp) -> aiohttp.ClientSession:
        if self._session is None:
            config = aiohttp.TraceConfig()
            config.on_request_start.append(record)
            self._session = aiohttp.ClientSession(timeout=self._timeout, trace_configs=[config])
        return self._session

    monkeypatch.setattr(ProviderHttp, "_open", open_traced)
    return sent


def _hex(value: int, width: int) -> str:
    return format(value, f"0{width}x")


def _parts(traceparent: str) -> tuple[str, str]:
    version, trace_id, parent_id, _flags = traceparent.split("-")
    assert version == "00"
    return trace_id, parent_id


def _in_trace(spans: tuple[ReadableSpan, ...], trace_id: str) -> list[ReadableSpan]:
    return [s for s in spans if s.context is not None and _hex(s.context.trace_id, 32) == trace_id]


def _headers(hook: Any) -> dict[str, str]:
    return {k.lower(): v for k, v in hook.headers.items()}


async def test_a_tenants_trace_runs_through_the_order_and_into_its_webhook(
    make_gateway: GatewayFactory,
    endpoint_factory: EndpointFactory,
    exported: tuple[TracerProvider, InMemorySpanExporter],
    provider_headers: list[dict[str, str]],
) -> None:
    provider, exporter = exported
    gateway = await make_gateway(tracer_provider=provider)
    endpoint = await endpoint_factory([200])
    body = {"url": endpoint.url, "event_types": ["order.accepted"]}
    assert (await gateway.call("POST", "/v1/subscriptions", json=body)).status == 201
    exporter.clear()
    provider_headers.clear()
    with capture_logs(
        processors=[structlog.contextvars.merge_contextvars, add_trace_ids]
    ) as request_logs:
        placed = await gateway.call(
            "POST",
            "/v1/orders",
            json={"item_id": 1001},
            headers={"traceparent": TRACEPARENT, "X-Request-Id": "req-traced"},
        )
    assert placed.status == 201, placed.body
    spans = _in_trace(exporter.get_finished_spans(), TRACE_ID)
    by_id = {s.context.span_id: s for s in spans if s.context is not None}

    # the request: a server span, the child of the tenant's span
    (server,) = [s for s in spans if s.kind == SpanKind.SERVER]
    assert server.name == "POST /v1/orders"
    assert server.parent is not None and _hex(server.parent.span_id, 16) == TENANT_SPAN
    assert server.parent.is_remote
    assert server.attributes is not None
    assert server.attributes["gateway.request_id"] == "req-traced"
    assert server.attributes["gateway.tenant"] == "shop"
    assert server.attributes["http.response.status_code"] == 201

    def under_server(span: ReadableSpan) -> bool:
        while span.parent is not None and span.parent.span_id in by_id:
            span = by_id[span.parent.span_id]
        return span is server

    # each plugin's call of each hook, with its name and outcome
    plugins = {
        (s.attributes["gateway.plugin.name"], s.name, s.attributes["gateway.plugin.outcome"])
        for s in spans
        if s.name.startswith("plugin ") and s.attributes is not None
    }
    assert ("validation", "plugin gateway_validate_order", "allowed") in plugins
    assert ("limits", "plugin gateway_reserve", "reserved") in plugins
    assert all(under_server(s) for s in spans if s.name.startswith("plugin "))

    # the provider call, whose context the provider received as traceparent
    (place,) = [s for s in spans if s.name == "provider place_order"]
    assert place.kind == SpanKind.CLIENT and under_server(place)
    assert place.attributes is not None
    assert place.attributes["gateway.account"] == "main"
    assert place.attributes["http.response.status_code"] == 201
    assert place.context is not None
    to_provider = [h["traceparent"] for h in provider_headers if "traceparent" in h]
    assert (TRACE_ID, _hex(place.context.span_id, 16)) in [_parts(t) for t in to_provider]
    assert all(_parts(t)[0] == TRACE_ID for t in to_provider)

    # storage transactions, in the request's trace
    transactions = [s for s in spans if s.name == "storage transaction"]
    assert transactions and all(under_server(s) for s in transactions)
    assert transactions[0].attributes is not None
    assert transactions[0].attributes["db.system.name"] in ("sqlite", "postgresql")

    # every log line of the request names the request and the trace (the sandbox provider
    # runs in this process: its lines are its own)
    request_logs = [line for line in request_logs if not line["event"].startswith("sandbox_")]
    assert [line for line in request_logs if line["event"] == "request"]
    for line in request_logs:
        assert line.get("request_id") == "req-traced", line
        assert line["trace_id"] == TRACE_ID, line

    # the delivery: a span in the tenant's trace, whose context the webhook carries
    exporter.clear()
    with capture_logs(
        processors=[structlog.contextvars.merge_contextvars, add_trace_ids]
    ) as delivery_logs:
        assert await gateway.app[DISPATCHER].run_due() == 1
    (hook,) = endpoint.hooks
    trace_id, parent_id = _parts(_headers(hook)["traceparent"])
    assert trace_id == TRACE_ID
    (delivery,) = [s for s in exporter.get_finished_spans() if s.name == "webhook delivery"]
    assert delivery.context is not None and _hex(delivery.context.trace_id, 32) == TRACE_ID
    assert _hex(delivery.context.span_id, 16) == parent_id
    # its parent: the transaction that wrote the message, within the tenant's request
    assert delivery.parent is not None and delivery.parent.span_id in {
        t.context.span_id for t in transactions if t.context is not None
    }
    assert delivery.attributes is not None
    assert delivery.attributes["gateway.delivery.outcome"] == "delivered"
    assert delivery.attributes["http.response.status_code"] == 200
    assert delivery.attributes["gateway.delivery.attempt"] == 1
    assert [line for line in delivery_logs if line["event"] == "webhook_delivery"]
    for line in delivery_logs:
        assert line["request_id"] == "req-traced", line
        assert line["trace_id"] == TRACE_ID, line


async def test_an_orders_completion_is_delivered_in_the_orders_own_trace(
    make_gateway: GatewayFactory,
    endpoint_factory: EndpointFactory,
    exported: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    """The completion comes in with the provider's webhook (its own intake trace: the provider
    sends no trace context), and goes out to the tenant in the trace of its place-order."""
    provider, exporter = exported
    gateway = await make_gateway(tracer_provider=provider)
    endpoint = await endpoint_factory([200])
    body = {"url": endpoint.url, "event_types": ["order.completed"]}
    assert (await gateway.call("POST", "/v1/subscriptions", json=body)).status == 201
    placed = await gateway.call(
        "POST", "/v1/orders", json={"item_id": 1001}, headers={"traceparent": TRACEPARENT}
    )
    assert placed.status == 201
    exporter.clear()
    await gateway.provider.sandbox.advance(10)  # fulfilled: the provider's webhook comes in
    (intake,) = [s for s in exporter.get_finished_spans() if s.name == "provider webhook intake"]
    assert intake.attributes is not None and intake.attributes["gateway.account"] == "main"
    assert intake.attributes["gateway.provider_status"] == "completed"
    assert intake.context is not None
    await gateway.app[DISPATCHER].run_due()
    (hook,) = endpoint.hooks
    assert hook.json["type"] == "order.completed"
    trace_id, _ = _parts(_headers(hook)["traceparent"])
    assert trace_id == _parts(TRACEPARENT)[0]  # the tenant's trace, not the intake's
    assert trace_id != _hex(intake.context.trace_id, 32)
    (delivery,) = [s for s in exporter.get_finished_spans() if s.name == "webhook delivery"]
    assert delivery.context is not None and _hex(delivery.context.trace_id, 32) == trace_id


async def test_without_telemetry_nothing_is_traced_and_the_tenants_context_passes_through(
    gateway: Gateway, endpoint_factory: EndpointFactory, provider_headers: list[dict[str, str]]
) -> None:
    assert gateway.app[TRACER] is NO_TRACER  # the API's no-op tracer: no SDK provider built
    assert not isinstance(trace.get_tracer_provider(), TracerProvider)  # none installed globally
    endpoint = await endpoint_factory([200])
    body = {"url": endpoint.url, "event_types": ["order.accepted"]}
    assert (await gateway.call("POST", "/v1/subscriptions", json=body)).status == 201
    provider_headers.clear()
    with capture_logs(processors=[structlog.contextvars.merge_contextvars, add_trace_ids]) as logs:
        placed = await gateway.call(
            "POST", "/v1/orders", json={"item_id": 1001}, headers={"traceparent": TRACEPARENT}
        )
    assert placed.status == 201
    # no span of the gateway's own: the tenant's context reaches the provider and the
    # webhook as it came, and its trace id is on the log lines
    assert TRACEPARENT in [h.get("traceparent") for h in provider_headers]
    gateways = [line for line in logs if not line["event"].startswith("sandbox_")]
    assert gateways and all(line["trace_id"] == TRACE_ID for line in gateways)
    await gateway.app[DISPATCHER].run_due()
    (hook,) = endpoint.hooks
    assert _headers(hook)["traceparent"] == TRACEPARENT


async def test_without_a_traceparent_none_is_sent_when_tracing_is_off(
    gateway: Gateway, endpoint_factory: EndpointFactory, provider_headers: list[dict[str, str]]
) -> None:
    endpoint = await endpoint_factory([200])
    body = {"url": endpoint.url, "event_types": ["order.accepted"]}
    assert (await gateway.call("POST", "/v1/subscriptions", json=body)).status == 201
    assert (await gateway.place(item_id=1001)).status == 201
    await gateway.app[DISPATCHER].run_due()
    (hook,) = endpoint.hooks
    assert "traceparent" not in _headers(hook)
    assert provider_headers and all("traceparent" not in h for h in provider_headers)


async def test_the_transport_sends_the_current_spans_context() -> None:
    seen: list[str | None] = []

    async def anything(request: web.Request) -> web.Response:
        seen.append(request.headers.get("traceparent"))
        return web.json_response({})

    app = web.Application()
    app.router.add_get("/x", anything)
    server = TestServer(app)
    await server.start_server()
    provider = TracerProvider()
    sender = ProviderHttp(str(server.make_url("")).rstrip("/"), timeout_seconds=5)
    try:
        with provider.get_tracer("test").start_as_current_span("call") as span:
            await sender(method="get", url="/x")
        await sender(method="get", url="/x")  # outside any span: nothing to continue
    finally:
        await sender.close()
        await server.close()
        provider.shutdown()
    context = span.get_span_context()
    assert seen[1] is None
    assert seen[0] is not None
    assert _parts(seen[0]) == (_hex(context.trace_id, 32), _hex(context.span_id, 16))


def _config(telemetry: dict[str, Any]) -> TelemetryConfig:
    config = gateway_config("http://127.0.0.1:9", "sqlite:///x.sqlite3")
    raw: dict[str, Any] = {
        "accounts": {
            name: {
                "base_url": a.base_url,
                "client_id": a.client_id,
                "currency": a.currency,
                "api_key": {"env": "UNUSED"},
                "webhook_secret": {"env": "UNUSED"},
            }
            for name, a in config.accounts.items()
        },
        "telemetry": telemetry,
    }
    return parse(raw, base=Path("/tmp")).telemetry


def test_telemetry_is_off_unless_an_endpoint_is_configured() -> None:
    default = _config({})
    assert default == TelemetryConfig(None, "order-gateway", 1.0)
    assert build_provider(default) is None


@pytest.mark.parametrize(
    ("telemetry", "key"),
    [
        ({"endpoint": "http://127.0.0.1:4318"}, "telemetry.endpoint"),
        ({"otlp_endpoint": "127.0.0.1:4318"}, "telemetry.otlp_endpoint"),
        ({"sample_ratio": 1.5}, "telemetry.sample_ratio"),
        ({"sample_ratio": "all"}, "telemetry.sample_ratio"),
        ({"service_name": ""}, "telemetry.service_name"),
    ],
)
def test_telemetry_keys_are_checked_by_name(telemetry: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as refused:
        _config(telemetry)
    assert refused.value.key == key


def test_an_otlp_endpoint_builds_an_sdk_provider_that_exports_over_http() -> None:
    configured = _config(
        {
            "otlp_endpoint": "http://127.0.0.1:4318/v1/traces",
            "service_name": "gateway-eu",
            "sample_ratio": 0.25,
        }
    )
    built = build_provider(configured)
    assert isinstance(built, TracerProvider)
    try:
        assert built.resource.attributes["service.name"] == "gateway-eu"
        assert isinstance(built.sampler, ParentBased)
        assert "0.25" in built.sampler.get_description()
        (processor,) = built._active_span_processor._span_processors
        exporter = processor._batch_processor._exporter  # type: ignore[attr-defined]
        assert type(exporter).__module__.startswith("opentelemetry.exporter.otlp.proto.http")
        assert exporter._endpoint == "http://127.0.0.1:4318/v1/traces"
    finally:
        shutdown(built)  # no span was made: nothing is sent
