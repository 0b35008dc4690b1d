"""Every error a tenant can meet: one shape, a machine code, a message that says what to fix."""

from __future__ import annotations

import json

import pytest
from structlog.testing import capture_logs

from gateway.sandbox import Faults
from gateway.testing import TOKENS
from tests.conftest import Gateway, GatewayFactory


def error(answer: object) -> dict[str, object]:
    body = answer.body  # type: ignore[attr-defined]
    assert set(body) == {"error"}, body
    err = body["error"]
    assert err["request_id"] == answer.headers["X-Request-Id"]  # type: ignore[attr-defined]
    assert err["message"]
    return err  # type: ignore[no-any-return]


async def test_provider_validation_error_is_422_with_the_providers_detail(
    gateway: Gateway,
) -> None:
    await gateway.call("GET", "/v1/catalog/items")  # the gateway's snapshot: 1001 available
    gateway.provider.sandbox.update_item(1001, available=False)  # the provider knows better
    answer = await gateway.place(item_id=1001)
    assert answer.status == 422
    err = error(answer)
    assert err["code"] == "provider_validation_error"
    assert "item_id: item 1001 is not available" in err["message"]
    assert err["details"]["provider"] == "item_id: item 1001 is not available"  # type: ignore[index]
    assert (await gateway.call("GET", "/v1/orders")).body["data"] == []  # nothing kept


async def test_insufficient_balance_has_its_own_code(gateway: Gateway) -> None:
    gateway.provider.sandbox.account("main").balance = (
        gateway.provider.sandbox.account("main").balance / 1000
    )
    answer = await gateway.place(item_id=1001)
    assert answer.status == 402 and error(answer)["code"] == "insufficient_balance"


async def test_refused_api_key_is_502_account_unavailable_and_others_still_work(
    gateway: Gateway,
) -> None:
    key = gateway.provider.key("main")
    gateway.provider.sandbox.revoke_key(key)
    with capture_logs() as logs:
        answer = await gateway.place(item_id=1001)
    assert answer.status == 502
    err = error(answer)
    assert err["code"] == "account_unavailable" and "main" in err["message"]
    assert key not in json.dumps(answer.body) and key not in json.dumps(logs, default=str)
    other = await gateway.place(item_id=1001, account="partner")
    assert other.status == 201
    accounts = await gateway.call("GET", "/v1/accounts")
    states = {a["name"]: a["state"] for a in accounts.body["data"]}
    assert states == {"main": "unavailable", "partner": "available"}


async def test_disabled_api_access_is_account_unavailable(gateway: Gateway) -> None:
    gateway.provider.sandbox.account("main").api_enabled = False
    answer = await gateway.call("GET", "/v1/accounts/main/balance")
    assert answer.status == 502 and error(answer)["code"] == "account_unavailable"


async def test_provider_429_is_503_with_retry_after(gateway: Gateway) -> None:
    await gateway.call("GET", "/v1/accounts/main/balance")
    gateway.provider.sandbox.set_faults("main", Faults(rate_limit_rate=1.0, retry_after=9))
    answer = await gateway.call("GET", "/v1/accounts/main/balance")
    assert answer.status == 503 and answer.headers["Retry-After"] == "9"
    assert error(answer)["code"] == "provider_rate_limited"


async def test_provider_5xx_on_a_read_is_502(gateway: Gateway) -> None:
    await gateway.call("GET", "/v1/accounts/main/balance")
    gateway.provider.sandbox.set_faults("main", Faults(error_rate=1.0))
    answer = await gateway.call("GET", "/v1/accounts/main/balance")
    assert answer.status == 502 and error(answer)["code"] == "provider_unavailable"


async def test_provider_timeout_on_a_read_is_504(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway(timeout_seconds=0.2)
    await gateway.call("GET", "/v1/accounts/main/balance")
    gateway.provider.sandbox.set_faults("main", Faults(latency_ms=600))
    answer = await gateway.call("GET", "/v1/accounts/main/balance")
    assert answer.status == 504 and error(answer)["code"] == "provider_timeout"


async def test_unreachable_provider_is_502_and_nothing_is_kept(
    make_gateway: GatewayFactory,
) -> None:
    gateway = await make_gateway()
    await gateway.call("GET", "/v1/catalog/items")  # the catalog is loaded; then the provider goes
    await gateway.provider.server.close()
    answer = await gateway.place(item_id=1001)
    assert answer.status == 502 and error(answer)["code"] == "provider_unavailable"
    assert (await gateway.call("GET", "/v1/orders")).body["data"] == []


@pytest.mark.parametrize(
    ("raw", "code", "field"),
    [
        (b"{not json", "invalid_json", None),
        (b"", "invalid_json", None),
        (b"[1, 2]", "bad_request", None),
        (b'{"quantity": 1}', "invalid_field", "item_id"),
        (b'{"item_id": "1001"}', "invalid_field", "item_id"),
        (b'{"item_id": true}', "invalid_field", "item_id"),
        (b'{"item_id": 1001, "quantity": "lots"}', "invalid_field", "quantity"),
        (b'{"item_id": 1001, "quantity": -1}', "invalid_field", "quantity"),
        (b'{"item_id": 1001, "quantity": NaN}', "invalid_json", None),
        (b'{"item_id": 1001, "fields": []}', "invalid_field", "fields"),
        (b'{"item_id": 1001, "fields": {"a": [1]}}', "invalid_field", "fields.a"),
        (b'{"item_id": 1001, "merchant_order_id": 5}', "invalid_field", "merchant_order_id"),
        (b'{"item_id": 1001, "colour": "red"}', "invalid_field", "colour"),
        (b'{"item_id": 1001, "account": 3}', "invalid_field", "account"),
        (b'{"item_id": 1001, "fields": null}', "invalid_field", "fields"),
    ],
)
async def test_malformed_orders_are_400_naming_what_to_fix(
    gateway: Gateway, raw: bytes, code: str, field: str | None
) -> None:
    answer = await gateway.call(
        "POST", "/v1/orders", data=raw, headers={"Content-Type": "application/json"}
    )
    assert answer.status == 400, answer.body
    err = error(answer)
    assert err["code"] == code
    if field is not None:
        assert err["details"] == {"field": field}  # type: ignore[comparison-overlap]
    assert gateway.provider.sandbox.orders == {}


async def test_oversize_body_is_413(gateway: Gateway) -> None:
    raw = json.dumps({"item_id": 1001, "fields": {"x": "y" * 70_000}}).encode()
    answer = await gateway.call(
        "POST", "/v1/orders", data=raw, headers={"Content-Type": "application/json"}
    )
    assert answer.status == 413 and error(answer)["code"] == "payload_too_large"


@pytest.mark.parametrize(
    "authorization", [None, "Bearer", "Basic abc", "Bearer gwt_not_a_real_token"]
)
async def test_missing_or_wrong_token_is_401(gateway: Gateway, authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    answer = await gateway.call("GET", "/v1/orders", tenant=None, headers=headers)
    assert answer.status == 401 and error(answer)["code"] == "unauthenticated"
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")


async def test_unknown_route_and_method_are_json_errors(gateway: Gateway) -> None:
    missing = await gateway.call("GET", "/v1/nothing")
    assert missing.status == 404 and error(missing)["code"] == "not_found"
    wrong = await gateway.call("DELETE", "/v1/orders")
    assert wrong.status == 405 and error(wrong)["code"] == "method_not_allowed"
    assert "POST" in wrong.headers["Allow"]


async def test_no_error_names_a_token_or_key(gateway: Gateway) -> None:
    answers = [
        await gateway.call(
            "GET",
            "/v1/orders",
            tenant=None,
            headers={"Authorization": "Bearer " + TOKENS["shop"] + "x"},
        ),
        await gateway.place(item_id=999999),
    ]
    secrets = [*TOKENS.values(), gateway.provider.key("main"), gateway.provider.key("partner")]
    for answer in answers:
        text = json.dumps(answer.body)
        assert not any(secret in text for secret in secrets)


async def test_an_unencoded_plus_in_a_time_gets_a_hint(gateway: Gateway) -> None:
    answer = await gateway.call("GET", "/v1/orders?created_after=2026-01-01T00:00:00+01:00")
    assert answer.status == 400 and answer.body["error"]["details"]["field"] == "created_after"
    assert "%2B" in answer.body["error"]["message"]
    encoded = await gateway.call("GET", "/v1/orders?created_after=2026-01-01T00:00:00%2B01:00")
    assert encoded.status == 200
