"""Hostile input gets a clear 4xx and changes nothing: no 500, on both engines.

Each case here was once a 500 or a silent acceptance (the security audit's list).
"""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import pytest

from gateway.state import DATABASE
from gateway.testing import TOKENS
from tests.conftest import Gateway, GatewayFactory
from tests.test_webhooks_intake import a_real_payload, events, signed

JSON = {"Content-Type": "application/json"}


async def orders_stored(gateway: Gateway) -> int:
    rows = await gateway.app[DATABASE].fetch("SELECT id FROM orders")
    return len(rows)


@pytest.mark.parametrize(
    "headers", [{"Content-Type": "text/plain"}, {}, {"Content-Type": "application/x-www-form"}]
)
async def test_a_body_that_is_not_declared_json_is_415_and_places_nothing(
    gateway: Gateway, headers: dict[str, str]
) -> None:
    answer = await gateway.call("POST", "/v1/orders", data=b'{"item_id": 1001}', headers=headers)
    assert answer.status == 415, answer.body
    assert answer.body["error"]["code"] == "unsupported_media_type"
    assert "Content-Type: application/json" in answer.body["error"]["message"]
    assert await orders_stored(gateway) == 0


@pytest.mark.parametrize("path", ["/v1/orders", "/v1/subscriptions"])
async def test_deeply_nested_json_is_400(gateway: Gateway, path: str) -> None:
    for depth in (33, 100_000):
        body = b'{"fields": ' + b"[" * depth + b"]" * depth + b"}"
        answer = await gateway.call("POST", path, data=body, headers=JSON)
        assert answer.status in (400, 413), (depth, answer.body)
        if answer.status == 400:
            assert answer.body["error"]["code"] == "invalid_json"
            assert "nested" in answer.body["error"]["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b'{"item_id": 1001, "merchant_order_id": "a\\ud800b"}', "merchant_order_id"),
        (b'{"item_id": 1001, "merchant_order_id": "a\\u0000b"}', "merchant_order_id"),
        (b'{"item_id": 1001, "fields": {"player": "x\\u0000"}}', "fields.player"),
        (b'{"item_id": 1001, "fields": {"p\\udfff": "x"}}', "fields"),
    ],
)
async def test_nul_and_lone_surrogates_in_strings_are_400(
    gateway: Gateway, body: bytes, field: str
) -> None:
    answer = await gateway.call("POST", "/v1/orders", data=body, headers=JSON)
    assert answer.status == 400, answer.body
    assert answer.body["error"]["details"]["field"] == field
    assert await orders_stored(gateway) == 0
    url = b'{"url": "http://127.0.0.1:9/\\ud800"}'
    hooked = await gateway.call("POST", "/v1/subscriptions", data=url, headers=JSON)
    assert hooked.status == 400


@pytest.mark.parametrize(
    "query",
    [
        "merchant_order_id=%00",
        "account=%00x",
        "created_after=20261130T000000Z",
        "created_before=2026-11-30",
        "created_after=2026-11-30T10:00:00",
    ],
)
async def test_bad_query_text_and_times_are_400(gateway: Gateway, query: str) -> None:
    answer = await gateway.call("GET", f"/v1/orders?{query}")
    assert answer.status == 400, answer.body
    assert answer.body["error"]["code"] in ("bad_request", "invalid_field")


async def test_a_nul_in_a_path_is_400(gateway: Gateway) -> None:
    answer = await gateway.call("GET", "/v1/orders/abc%00def")
    assert answer.status == 400, answer.body


@pytest.mark.parametrize(
    "when", ["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00%2B01:00", "1024-12-23T20:47:08Z"]
)
async def test_times_at_the_ends_of_the_calendar_are_accepted_and_clamped(
    gateway: Gateway, when: str
) -> None:
    await gateway.place(item_id=1001)
    for name in ("created_after", "created_before"):
        answer = await gateway.call("GET", f"/v1/orders?{name}={when}")
        assert answer.status == 200, answer.body
        expected = 1 if (name == "created_after") == when.startswith(("0001", "1024")) else 0
        assert len(answer.body["data"]) == expected


async def test_replay_since_that_is_not_rfc_3339_is_400(gateway: Gateway) -> None:
    sid = (
        await gateway.call("POST", "/v1/subscriptions", json={"url": "http://127.0.0.1:9/h"})
    ).body["id"]
    for since in ("20261130T000000Z", "2026-11-30T10:00:00", "2026-11-30T10:00:00+1:00"):
        answer = await gateway.call(
            "POST", f"/v1/subscriptions/{sid}/replay", json={"since": since}
        )
        assert answer.status == 400 and answer.body["error"]["details"]["field"] == "since"


async def test_two_authorization_headers_are_refused(gateway: Gateway) -> None:
    async with gateway.http.get(
        gateway.url + "/v1/orders",
        headers=[
            ("Authorization", f"Bearer {TOKENS['shop']}"),
            ("Authorization", f"Bearer {TOKENS['games']}"),
        ],
    ) as response:
        assert response.status == 400
        body = await response.json()
    assert "one Authorization header" in body["error"]["message"]


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("client-7f3a:retry.2", True),
        ("a" * 128, True),
        ("a" * 129, False),
        ('x"; drop', False),
        ("x y", False),
        ("\u00e9t\u00e9", False),
    ],
)
async def test_a_clients_request_id_is_kept_only_when_it_is_a_plain_token(
    gateway: Gateway, sent: str, kept: bool
) -> None:
    answer = await gateway.call("GET", "/v1/orders", headers={"X-Request-Id": sent})
    assert answer.status == 200
    assert (answer.headers["X-Request-Id"] == sent) is kept
    if not kept:
        assert answer.headers["X-Request-Id"].startswith("req_")


async def test_the_intake_answers_an_unknown_account_as_it_answers_a_bad_signature(
    gateway: Gateway,
) -> None:
    _, payload = await a_real_payload(gateway)
    secret = gateway.provider.sandbox.account("main").webhook_secret
    body, headers = signed(secret, payload)
    unknown = await gateway.call(
        "POST", "/provider-webhooks/nosuch", None, data=body, headers=headers
    )
    forged = await gateway.call(
        "POST",
        "/provider-webhooks/main",
        None,
        data=body,
        headers={**headers, **{"X-Webhook-Signature": "sha256=" + "0" * 64}},
    )
    assert unknown.status == forged.status == 401
    assert unknown.body["error"]["message"] == forged.body["error"]["message"]


@pytest.mark.parametrize(
    "change",
    [
        {"codes": "AAAA-BBBB"},
        {"completed_at": "not a time"},
        {"completed_at": "9999-12-31T23:59:59-01:00"},
        {"created_at": "20261130T000000Z"},
        {"quantity": "1"},
        {"fields": {"player": 7}},
        {"status": "shipped"},
        {"order_id": None},
    ],
)
async def test_a_signed_payload_that_breaks_the_contract_is_400_and_stores_nothing(
    gateway: Gateway, change: dict[str, Any]
) -> None:
    _, payload = await a_real_payload(gateway)
    secret = gateway.provider.sandbox.account("main").webhook_secret
    body, headers = signed(secret, {**payload, **change})
    answer = await gateway.call("POST", "/provider-webhooks/main", None, data=body, headers=headers)
    assert answer.status == 400, answer.body
    assert "documented payload" in answer.body["error"]["message"]
    assert await events(gateway) == []
    assert "AAAA-BBBB" not in json.dumps(answer.body)  # a rule is named, never a value


def _cursor(payload: str) -> str:
    return base64.urlsafe_b64encode(payload.encode("utf-8", "surrogatepass")).decode().rstrip("=")


@pytest.mark.parametrize(
    "payload",
    [
        "[" * 2000 + "]" * 2000,  # deeper than the JSON decoder recurses
        json.dumps(["2026-03-11T09:30:00.000000Z", "\ud800"]),
        json.dumps(["2026-03-11T09:30:00.000000Z", "a\u0000b"]),
        json.dumps(["not a time", "x"]),
    ],
)
async def test_a_forged_cursor_is_400_naming_the_cursor(gateway: Gateway, payload: str) -> None:
    answer = await gateway.call("GET", f"/v1/orders?cursor={_cursor(payload)}")
    assert answer.status == 400, answer.body
    assert answer.body["error"]["details"]["field"] == "cursor"


@pytest.mark.parametrize("path", ["/v1/orders", "/provider-webhooks/main"])
async def test_a_body_that_cannot_be_decoded_is_400(gateway: Gateway, path: str) -> None:
    answer = await gateway.call(
        "POST",
        path,
        data=b"this is not gzip",
        headers={**JSON, "Content-Encoding": "gzip", "X-Webhook-Signature": "sha256=00"},
    )
    assert answer.status in (400, 401), answer.body
    assert answer.status == 400 or path.startswith("/provider")


async def test_a_body_that_trickles_in_is_cut_off_at_the_head_timeout(
    make_gateway: GatewayFactory,
) -> None:
    gateway = await make_gateway(server={"header_timeout_seconds": 0.2})
    host, port = gateway.server.host, gateway.server.port
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(
        b"POST /v1/orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Authorization: Bearer " + TOKENS["shop"].encode() + b"\r\nContent-Length: 100\r\n\r\n{"
    )
    await writer.drain()
    async with asyncio.timeout(3):
        head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408")
    writer.close()
    assert await orders_stored(gateway) == 0
