"""What operators rely on: health, readiness, metrics, the canonical log line, the API document."""

from __future__ import annotations

from structlog.testing import capture_logs

from tests.conftest import Gateway


async def test_healthz_and_readyz(gateway: Gateway) -> None:
    assert (await gateway.call("GET", "/healthz", tenant=None)).body == {"status": "ok"}
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
    assert 'gateway_orders_total{account="main",outcome="placed"} 1.0' in text
    assert 'gateway_orders_total{account="main",outcome="rejected"} 1.0' in text
    assert (
        "gateway_provider_request_seconds_count"
        '{account="main",operation="place_order",outcome="201"} 1.0' in text
    )
    assert 'gateway_provider_token_exchanges_total{account="main",reason="first_use"} 1.0' in text


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
        if r.method != "HEAD" and r.resource is not None
    }
    assert documented == served
