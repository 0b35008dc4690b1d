"""What operators rely on: health, readiness, metrics, the canonical log line, the API document."""

from __future__ import annotations

import os
import re

import structlog
from structlog.testing import capture_logs

from gateway.api.edge import METRICS
from gateway.sandbox import Faults
from gateway.state import DISPATCHER
from tests.conftest import EndpointFactory, Gateway


async def test_healthz_and_readyz(gateway: Gateway) -> None:
    health = (await gateway.call("GET", "/healthz", tenant=None)).body
    assert health == {"status": "ok", "process": os.getpid()}  # in process here
    await gateway.call("GET", "/v1/catalog/items")  # loads main's catalog
    await gateway.call("GET", "/v1/accounts/main/balance")  # and its token
    ready = await gateway.call("GET", "/readyz", tenant=None)
    assert ready.status == 200 and ready.body["ready"] is True
    assert ready.body["storage"] == {"ok": True}
    main = ready.body["accounts"]["main"]
    assert main["token"]["state"] == "valid" and main["token"]["expires_at"]
    assert main["catalog"]["loaded"] is True and main["catalog"]["items"] == 7


async def test_readyz_is_503_when_no_account_can_take_orders(gateway: Gateway) -> None:
    for name in ("main", "partner"):
        gateway.provider.sandbox.account(name).api_enabled = False
        await gateway.call("GET", f"/v1/accounts/{name}/balance")
    ready = await gateway.call("GET", "/readyz", tenant=None)
    assert ready.status == 503 and ready.body["ready"] is False


async def test_metrics_count_requests_orders_provider_calls_and_renewals(gateway: Gateway) -> None:
    await gateway.place(item_id=1001)
    await gateway.place(item_id=999999)
    text = (await gateway.call("GET", "/metrics", tenant=None)).body
    assert 'gateway_http_requests_total{method="POST",route="/v1/orders",status="201"} 1.0' in text
    assert 'gateway_orders_total{account="main",outcome="placed",tenant="shop"} 1.0' in text
    assert 'gateway_orders_total{account="main",outcome="rejected",tenant="shop"} 1.0' in text
    assert (
        "gateway_provider_request_seconds_count"
        '{account="main",operation="place_order",outcome="201"} 1.0' in text
    )
    assert 'gateway_provider_token_exchanges_total{account="main",reason="first_use"} 1.0' in text
    assert "_created" not in text  # a timestamp series per counter that no dashboard reads
    for collected in ("process_resident_memory_bytes", "python_info", "python_gc_collections"):
        assert collected in text, collected


async def test_metrics_show_the_backlog_its_age_delivery_times_and_provider_errors(
    gateway: Gateway, endpoint_factory: EndpointFactory
) -> None:
    endpoint = await endpoint_factory([500, 200])
    body = {"url": endpoint.url, "event_types": ["order.accepted"]}
    assert (await gateway.call("POST", "/v1/subscriptions", json=body)).status == 201
    await gateway.place(item_id=1001)
    gateway.provider.clock.advance(30)
    text = (await gateway.call("GET", "/metrics", tenant=None)).body
    assert 'gateway_outbox_messages{state="pending"} 1.0' in text
    assert 'gateway_outbox_messages{state="failed"} 0.0' in text
    assert "gateway_outbox_oldest_pending_seconds 30.0" in text
    await gateway.app[DISPATCHER].run_due()  # the endpoint answers 500: a retry
    gateway.provider.sandbox.set_faults("main", Faults(error_rate=1.0))
    assert (await gateway.call("GET", "/v1/accounts/main/balance")).status >= 500
    gateway.provider.sandbox.set_faults("main", Faults())
    gateway.app[METRICS].outbox_read_at = float("-inf")  # past the 5 s between reads
    text = (await gateway.call("GET", "/metrics", tenant=None)).body
    assert 'gateway_webhook_delivery_seconds_count{outcome="retry"} 1.0' in text
    assert 'gateway_outbox_messages{state="pending"} 1.0' in text  # waiting for its retry
    assert re.search(r'gateway_provider_errors_total\{account="main",code="5\d\d"\} 1\.0', text)


async def test_the_request_id_reaches_the_tenants_endpoint(
    gateway: Gateway, endpoint_factory: EndpointFactory
) -> None:
    endpoint = await endpoint_factory([200])
    body = {"url": endpoint.url, "event_types": ["order.accepted"]}
    assert (await gateway.call("POST", "/v1/subscriptions", json=body)).status == 201
    placed = await gateway.call(
        "POST", "/v1/orders", json={"item_id": 1001}, headers={"X-Request-Id": "req-from-shop"}
    )
    assert placed.status == 201
    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
        await gateway.app[DISPATCHER].run_due()
    (hook,) = endpoint.hooks
    assert {k.lower(): v for k, v in hook.headers.items()}["x-request-id"] == "req-from-shop"
    (line,) = [e for e in logs if e["event"] == "webhook_delivery"]
    assert line["request_id"] == "req-from-shop"


async def test_an_order_and_its_provider_webhook_are_one_info_line_each(gateway: Gateway) -> None:
    await gateway.place(item_id=1001)  # the provider token and the catalog, first
    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
        placed = await gateway.place(item_id=1001)
    # (the sandbox runs in this process too: its own lines are not the gateway's)
    loud = [e for e in logs if e["log_level"] != "debug" and not e["event"].startswith("sandbox")]
    assert [e["event"] for e in loud] == ["request"], loud
    (line,) = loud
    assert line["event"] == "request" and line["order_id"] == placed.body["id"]
    assert line["provider_order_id"] == placed.body["provider_order_id"]
    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
        await gateway.provider.sandbox.advance(10)  # it fulfils and sends its webhook
    loud = [e for e in logs if e["log_level"] != "debug" and not e["event"].startswith("sandbox")]
    assert {e["event"] for e in loud} == {"request"}, loud  # one per webhook (both orders')
    (hook,) = [e for e in loud if e["order_id"] == placed.body["id"]]
    assert hook["route"] == "/provider-webhooks/{account}" and hook["duplicate"] is False
    assert hook["order_id"] == placed.body["id"] and hook["provider_order_status"]


async def test_every_response_has_a_request_id_and_one_canonical_log_line(gateway: Gateway) -> None:
    with capture_logs() as logs:
        answer = await gateway.call("POST", "/v1/orders", json={"item_id": 1001},
                                    headers={"X-Request-Id": "trace-123"})  # fmt: skip
    assert answer.headers["X-Request-Id"] == "trace-123"
    (line,) = [entry for entry in logs if entry["event"] == "request"]
    assert line["request_id"] == "trace-123" and line["tenant"] == "shop"
    assert line["route"] == "/v1/orders" and line["status"] == 201
    assert line["provider_status"] == 201 and line["duration_ms"] >= 0
    assert line["method"] == "POST" and line["account"] == "main"


async def test_the_openapi_document_describes_every_route(gateway: Gateway) -> None:
    document = (await gateway.call("GET", "/openapi.json", tenant=None)).body
    documented = {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
        if method in ("get", "post", "put", "patch", "delete")
    }
    served = {
        (r.method, r.resource.canonical)
        for r in gateway.app.router.routes()
        if r.method != "HEAD"
        and r.resource is not None
        # the console's pages are HTML for people (docs/console.md), not the API
        and not r.resource.canonical.startswith("/console")
    }
    assert documented == served
