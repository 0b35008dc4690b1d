"""Provider accounts: tokens exchanged once, renewed before expiry and after a 401."""

from __future__ import annotations

import asyncio

from gateway.state import SESSIONS
from tests.conftest import Gateway


def exchanges(gateway: Gateway, account: str = "main") -> int:
    return gateway.app[SESSIONS][account].state.token_exchanges


async def balance(gateway: Gateway, account: str = "main") -> str:
    answer = await gateway.call("GET", f"/v1/accounts/{account}/balance")
    assert answer.status == 200, answer.body
    return str(answer.body["balance"])


async def states(gateway: Gateway) -> dict[str, str]:
    listed = await gateway.call("GET", "/v1/accounts")
    return {a["name"]: a["state"] for a in listed.body["data"]}


async def test_balance_is_a_decimal_string_with_the_accounts_currency(gateway: Gateway) -> None:
    answer = await gateway.call("GET", "/v1/accounts/partner/balance")
    assert answer.body == {"account": "partner", "balance": "500.00", "currency": "EUR"}


async def test_concurrent_first_callers_share_one_token_exchange(gateway: Gateway) -> None:
    await asyncio.gather(*(balance(gateway) for _ in range(20)))
    assert exchanges(gateway) == 1
    assert exchanges(gateway, "partner") == 0  # untouched until used


async def test_token_is_renewed_before_its_two_hour_expiry(gateway: Gateway) -> None:
    await balance(gateway)
    gateway.provider.clock.advance(2 * 3600 - 301)  # still outside the 5-minute margin
    await balance(gateway)
    assert exchanges(gateway) == 1
    gateway.provider.clock.advance(2)  # inside the margin: renew before it can expire
    await balance(gateway)
    assert exchanges(gateway) == 2


async def test_a_401_renews_the_token_once_and_the_call_succeeds(gateway: Gateway) -> None:
    await balance(gateway)
    gateway.provider.sandbox.settings.jwt_secret = "rotated-" + "s" * 40  # old tokens now fail
    assert await balance(gateway) == "1000.00"
    assert exchanges(gateway) == 2


async def test_a_revoked_key_keeps_working_until_its_token_expires(gateway: Gateway) -> None:
    await balance(gateway)
    gateway.provider.sandbox.revoke_key(gateway.provider.key("main"))
    assert await balance(gateway) == "1000.00"  # the issued token stays valid
    gateway.provider.clock.advance(2 * 3600)
    answer = await gateway.call("GET", "/v1/accounts/main/balance")
    assert answer.status == 502 and answer.body["error"]["code"] == "account_unavailable"
    ready = await gateway.call("GET", "/readyz", tenant=None)
    assert ready.status == 200  # partner still takes orders
    assert ready.body["accounts"]["main"]["ok"] is False
    assert ready.body["accounts"]["partner"]["ok"] is True


async def test_tenant_sees_only_its_accounts(gateway: Gateway) -> None:
    listed = await gateway.call("GET", "/v1/accounts", "games")
    assert [a["name"] for a in listed.body["data"]] == ["main"]
    assert listed.body["data"][0]["default"] is True
    for path in ("/v1/accounts/partner/balance", "/v1/catalog/items?account=partner"):
        other = await gateway.call("GET", path, "games")
        assert other.status == 403 and other.body["error"]["code"] == "account_not_allowed"
    for path in ("/v1/accounts/nowhere/balance", "/v1/catalog/items?account=nowhere"):
        unknown = await gateway.call("GET", path, "games")  # the same answer: nothing leaks
        assert unknown.status == 403 and unknown.body["error"]["code"] == "account_not_allowed"
    placed = await gateway.place("games", item_id=1001, account="nowhere")
    assert placed.status == 403 and placed.body["error"]["code"] == "account_not_allowed"


async def test_account_state_follows_the_provider_both_ways(gateway: Gateway) -> None:
    await balance(gateway)
    gateway.provider.sandbox.account("main").api_enabled = False  # 403 on every call now
    refused = await gateway.call("GET", "/v1/accounts/main/balance")
    assert refused.status == 502 and refused.body["error"]["code"] == "account_unavailable"
    states = {
        a["name"]: a["state"] for a in (await gateway.call("GET", "/v1/accounts")).body["data"]
    }
    assert states == {"main": "unavailable", "partner": "available"}
    ready = (await gateway.call("GET", "/readyz", tenant=None)).body["accounts"]["main"]
    assert ready["ok"] is False and ready["token"]["state"] == "unavailable"
    assert "disabled" in ready["token"]["error"]

    gateway.provider.sandbox.account("main").api_enabled = True
    assert await balance(gateway) == "1000.00"
    states = {
        a["name"]: a["state"] for a in (await gateway.call("GET", "/v1/accounts")).body["data"]
    }
    assert states["main"] == "available"
    ready = (await gateway.call("GET", "/readyz", tenant=None)).body["accounts"]["main"]
    assert ready["ok"] is True and "error" not in ready["token"]
