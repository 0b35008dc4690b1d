from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.replay_range import ReplayRange
from ...models.replayed import Replayed
from ...models.would_replay import WouldReplay
from ...types import Response


def _get_kwargs(
    *,
    body: ReplayRange,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/replay",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Error | Replayed | WouldReplay | None:
    if response.status_code == 200:
        response_200 = WouldReplay.from_dict(response.json())

        return response_200

    if response.status_code == 202:
        response_202 = Replayed.from_dict(response.json())

        return response_202

    if response.status_code == 400:
        response_400 = Error.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = Error.from_dict(response.json())

        return response_401

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
) -> Response[Error | Replayed | WouldReplay]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: ReplayRange,
) -> Response[Error | Replayed | WouldReplay]:
    """Send again every one of your endpoints' messages created in a time range

     As `POST /v1/subscriptions/{id}/replay`, for all your subscriptions at once.

    Args:
        body (ReplayRange):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | Replayed | WouldReplay]
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
    body: ReplayRange,
) -> Error | Replayed | WouldReplay | None:
    """Send again every one of your endpoints' messages created in a time range

     As `POST /v1/subscriptions/{id}/replay`, for all your subscriptions at once.

    Args:
        body (ReplayRange):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | Replayed | WouldReplay
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: ReplayRange,
) -> Response[Error | Replayed | WouldReplay]:
    """Send again every one of your endpoints' messages created in a time range

     As `POST /v1/subscriptions/{id}/replay`, for all your subscriptions at once.

    Args:
        body (ReplayRange):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | Replayed | WouldReplay]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: ReplayRange,
) -> Error | Replayed | WouldReplay | None:
    """Send again every one of your endpoints' messages created in a time range

     As `POST /v1/subscriptions/{id}/replay`, for all your subscriptions at once.

    Args:
        body (ReplayRange):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | Replayed | WouldReplay
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
