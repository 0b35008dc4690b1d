"""Token exchange and bearer authentication, as the provider documents them."""

from __future__ import annotations

from http import HTTPStatus

import pytest

from gateway.testing import sandbox_settings
from generated.api.account import get_balance
from generated.api.auth import exchange_token
from generated.models import AuthError, Balance, Error, TokenRequest, TokenResponse
from tests.conftest import Provider


async def test_api_key_exchanges_for_a_bearer_jwt(provider: Provider) -> None:
    answer = await exchange_token.asyncio_detailed(
        client=provider.anonymous(), body=TokenRequest(api_key=provider.key("main"))
    )
    assert answer.status_code == HTTPStatus.OK
    assert isinstance(answer.parsed, TokenResponse)
    assert answer.parsed.token_type.value == "Bearer"
    assert answer.parsed.access_token.count(".") == 2  # header.claims.signature


async def test_unknown_key_gets_the_token_endpoints_own_401_body(provider: Provider) -> None:
    answer = await exchange_token.asyncio_detailed(
        client=provider.anonymous(), body=TokenRequest(api_key="ak_not_a_key")
    )
    assert answer.status_code == HTTPStatus.UNAUTHORIZED
    assert isinstance(answer.parsed, AuthError)
    assert answer.parsed.error == "Invalid credentials"


async def test_revoked_key_cannot_exchange_but_issued_tokens_stay_valid(provider: Provider) -> None:
    key = provider.key("main")
    client = await provider.client("main")
    provider.sandbox.revoke_key(key)

    again = await exchange_token.asyncio_detailed(
        client=provider.anonymous(), body=TokenRequest(api_key=key)
    )
    assert again.status_code == HTTPStatus.UNAUTHORIZED
    assert isinstance(again.parsed, AuthError)
    balance = await get_balance.asyncio(client=client)
    assert isinstance(balance, Balance)


async def test_disabled_api_access_is_403(provider: Provider) -> None:
    provider.sandbox.account("main").api_enabled = False
    answer = await exchange_token.asyncio_detailed(
        client=provider.anonymous(), body=TokenRequest(api_key=provider.key("main"))
    )
    assert answer.status_code == HTTPStatus.FORBIDDEN
    assert isinstance(answer.parsed, AuthError)


async def test_missing_or_garbage_token_is_401_not_authenticated(provider: Provider) -> None:
    clients = [provider.anonymous()] + [
        provider.bearer(token) for token in ("not-a-jwt", "eyJhbGciOiJIUzI1NiJ9.e30.AAAA")
    ]
    for client in clients:
        answer = await get_balance.asyncio_detailed(client=client)
        assert answer.status_code == HTTPStatus.UNAUTHORIZED
        assert isinstance(answer.parsed, Error)
        assert answer.parsed.code == "not_authenticated"


async def test_token_expires_after_two_hours(provider: Provider) -> None:
    client = await provider.client("main")
    provider.clock.advance(2 * 3600 - 1)
    assert isinstance(await get_balance.asyncio(client=client), Balance)
    provider.clock.advance(1)
    expired = await get_balance.asyncio_detailed(client=client)
    assert expired.status_code == HTTPStatus.UNAUTHORIZED
    assert isinstance(expired.parsed, Error)
    assert expired.parsed.code == "not_authenticated"


@pytest.mark.parametrize("settings", [sandbox_settings(token_ttl=60)])
async def test_token_lifetime_is_configurable(provider: Provider) -> None:
    client = await provider.client("main")
    provider.clock.advance(60)
    answer = await get_balance.asyncio_detailed(client=client)
    assert answer.status_code == HTTPStatus.UNAUTHORIZED


async def test_a_token_is_bound_to_its_own_account(provider: Provider) -> None:
    main = await get_balance.asyncio(client=await provider.client("main"))
    partner = await get_balance.asyncio(client=await provider.client("partner"))
    assert isinstance(main, Balance) and isinstance(partner, Balance)
    assert (main.balance, partner.balance) == (1000.0, 500.0)
