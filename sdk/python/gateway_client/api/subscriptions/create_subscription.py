from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.new_subscription import NewSubscription
from ...models.subscription import Subscription
from ...types import Response


def _get_kwargs(
    *,
    body: NewSubscription,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/subscriptions",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Error | Subscription | None:
    if response.status_code == 201:
        response_201 = Subscription.from_dict(response.json())

        return response_201

    if response.status_code == 400:
        response_400 = Error.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = Error.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = Error.from_dict(response.json())

        return response_403

    if response.status_code == 413:
        response_413 = Error.from_dict(response.json())

        return response_413

    if response.status_code == 415:
        response_415 = Error.from_dict(response.json())

        return response_415

    if response.status_code == 422:
        response_422 = Error.from_dict(response.json())

        return response_422

    if response.status_code == 429:
        response_429 = Error.from_dict(response.json())

        return response_429

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Error | Subscription]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: NewSubscription,
) -> Response[Error | Subscription]:
    """Subscribe an endpoint to order events

     Events: `order.accepted`, `order.completed`, `order.partial`,
    `order.failed`, `order.unknown` (and `ping` for test sends). Each is a
    POST of `{"type", "timestamp", "data": <order>}` with Standard Webhooks
    headers `webhook-id`, `webhook-timestamp`, `webhook-signature`
    (`v1,<base64 HMAC-SHA256 of id.timestamp.body>` with the `whsec_`
    secret; verify with the `standardwebhooks` or `svix` libraries).
    `webhook-id` is stable across retries: de-duplicate on it. Codes are
    in `data` only for the order's own tenant. Any 2xx counts as delivered;
    410 disables the endpoint; anything else is retried (default: after 5 s,
    5 min, 30 min, 2 h, 5 h, 10 h, 10 h, with jitter, never sooner than
    `Retry-After`), then dead-lettered. Each endpoint receives an order's
    events in order.

    Args:
        body (NewSubscription):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | Subscription]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    body: NewSubscription,
) -> Error | Subscription | None:
    """Subscribe an endpoint to order events

     Events: `order.accepted`, `order.completed`, `order.partial`,
    `order.failed`, `order.unknown` (and `ping` for test sends). Each is a
    POST of `{"type", "timestamp", "data": <order>}` with Standard Webhooks
    headers `webhook-id`, `webhook-timestamp`, `webhook-signature`
    (`v1,<base64 HMAC-SHA256 of id.timestamp.body>` with the `whsec_`
    secret; verify with the `standardwebhooks` or `svix` libraries).
    `webhook-id` is stable across retries: de-duplicate on it. Codes are
    in `data` only for the order's own tenant. Any 2xx counts as delivered;
    410 disables the endpoint; anything else is retried (default: after 5 s,
    5 min, 30 min, 2 h, 5 h, 10 h, 10 h, with jitter, never sooner than
    `Retry-After`), then dead-lettered. Each endpoint receives an order's
    events in order.

    Args:
        body (NewSubscription):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | Subscription
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: NewSubscription,
) -> Response[Error | Subscription]:
    """Subscribe an endpoint to order events

     Events: `order.accepted`, `order.completed`, `order.partial`,
    `order.failed`, `order.unknown` (and `ping` for test sends). Each is a
    POST of `{"type", "timestamp", "data": <order>}` with Standard Webhooks
    headers `webhook-id`, `webhook-timestamp`, `webhook-signature`
    (`v1,<base64 HMAC-SHA256 of id.timestamp.body>` with the `whsec_`
    secret; verify with the `standardwebhooks` or `svix` libraries).
    `webhook-id` is stable across retries: de-duplicate on it. Codes are
    in `data` only for the order's own tenant. Any 2xx counts as delivered;
    410 disables the endpoint; anything else is retried (default: after 5 s,
    5 min, 30 min, 2 h, 5 h, 10 h, 10 h, with jitter, never sooner than
    `Retry-After`), then dead-lettered. Each endpoint receives an order's
    events in order.

    Args:
        body (NewSubscription):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | Subscription]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: NewSubscription,
) -> Error | Subscription | None:
    """Subscribe an endpoint to order events

     Events: `order.accepted`, `order.completed`, `order.partial`,
    `order.failed`, `order.unknown` (and `ping` for test sends). Each is a
    POST of `{"type", "timestamp", "data": <order>}` with Standard Webhooks
    headers `webhook-id`, `webhook-timestamp`, `webhook-signature`
    (`v1,<base64 HMAC-SHA256 of id.timestamp.body>` with the `whsec_`
    secret; verify with the `standardwebhooks` or `svix` libraries).
    `webhook-id` is stable across retries: de-duplicate on it. Codes are
    in `data` only for the order's own tenant. Any 2xx counts as delivered;
    410 disables the endpoint; anything else is retried (default: after 5 s,
    5 min, 30 min, 2 h, 5 h, 10 h, 10 h, with jitter, never sooner than
    `Retry-After`), then dead-lettered. Each endpoint receives an order's
    events in order.

    Args:
        body (NewSubscription):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | Subscription
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
