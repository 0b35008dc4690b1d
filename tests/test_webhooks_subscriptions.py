"""Managing subscriptions: validation, isolation between tenants, secrets shown only when made."""

from __future__ import annotations

import pytest

from tests.conftest import Gateway


async def test_create_list_get_update_delete(gateway: Gateway) -> None:
    created = await gateway.call(
        "POST", "/v1/subscriptions", json={"url": "https://shop.example/hook", "event_types": []}
    )
    assert created.status == 201 and created.body["secret"].startswith("whsec_")
    assert created.body["scope"] == "own" and created.body["state"] == "active"
    sid = created.body["id"]
    assert created.headers["Location"] == f"/v1/subscriptions/{sid}"
    listed = (await gateway.call("GET", "/v1/subscriptions")).body["data"]
    assert [s["id"] for s in listed] == [sid] and "secret" not in listed[0]
    changed = await gateway.call(
        "PATCH", f"/v1/subscriptions/{sid}", json={"event_types": ["order.failed"]}
    )
    assert changed.body["event_types"] == ["order.failed"]
    assert (await gateway.call("DELETE", f"/v1/subscriptions/{sid}")).status == 204
    assert (await gateway.call("GET", f"/v1/subscriptions/{sid}")).status == 404
    assert (await gateway.call("GET", "/v1/subscriptions")).body["data"] == []


async def test_another_tenants_subscription_does_not_exist_for_you(gateway: Gateway) -> None:
    sid = (
        await gateway.call("POST", "/v1/subscriptions", json={"url": "http://127.0.0.1:9/h"})
    ).body["id"]
    for method, path in [
        ("GET", f"/v1/subscriptions/{sid}"),
        ("PATCH", f"/v1/subscriptions/{sid}"),
        ("DELETE", f"/v1/subscriptions/{sid}"),
        ("POST", f"/v1/subscriptions/{sid}/rotate-secret"),
        ("POST", f"/v1/subscriptions/{sid}/test"),
        ("GET", f"/v1/subscriptions/{sid}/deliveries"),
    ]:
        answer = await gateway.call(method, path, "games", json={} if method == "PATCH" else None)
        assert answer.status == 404, (method, path)
    assert (await gateway.call("GET", "/v1/subscriptions", "games")).body["data"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "url"),
        ({"url": 7}, "url"),
        ({"url": "https://x/h", "event_types": ["order.shipped"]}, "event_types"),
        ({"url": "https://x/h", "event_types": "order.failed"}, "event_types"),
        ({"url": "https://x/h", "scope": "everything"}, "scope"),
        ({"url": "https://x/h", "secret": "mine"}, "secret"),
        ({"url": "https://x/h", "scope": None}, "scope"),
    ],
)
async def test_bad_subscriptions_are_400_naming_the_field(
    gateway: Gateway, body: dict[str, object], field: str
) -> None:
    answer = await gateway.call("POST", "/v1/subscriptions", json=body)
    assert answer.status == 400, answer.body
    assert answer.body["error"]["details"]["field"] == field


@pytest.mark.parametrize("url", ["ftp://x/y", "not a url", "http://[::1", "http://x:99999/"])
async def test_a_string_that_is_no_acceptable_url_is_422_naming_the_field(
    gateway: Gateway, url: str
) -> None:
    answer = await gateway.call("POST", "/v1/subscriptions", json={"url": url})
    assert answer.status == 422, answer.body
    assert answer.body["error"]["code"] == "destination_not_allowed"
    assert answer.body["error"]["details"]["field"] == "url"


async def test_only_observers_and_admins_subscribe_to_a_whole_account(gateway: Gateway) -> None:
    body = {"url": "https://x/h", "scope": "account:main"}
    refused = await gateway.call("POST", "/v1/subscriptions", "shop", json=body)
    assert refused.status == 403
    assert (await gateway.call("POST", "/v1/subscriptions", "watch", json=body)).status == 201
    other = {"url": "https://x/h", "scope": "account:partner"}
    refused = await gateway.call("POST", "/v1/subscriptions", "watch", json=other)
    assert refused.status == 403 and refused.body["error"]["code"] == "account_not_allowed"
