from http import HTTPStatus
from io import BytesIO
from typing import Any

from ... import errors
from ...client import AuthenticatedClient, Client
from ...types import File, RawResponse, Response


def _get_kwargs() -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/catalog.lmdb.zst",
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: RawResponse
) -> File | None:
    if response.status_code == 200:
        response_200 = File(payload=BytesIO(response.content))

        return response_200

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: RawResponse
) -> Response[File]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
) -> Response[File]:
    """Global catalog snapshot

     zstd-compressed single-file LMDB database, default keyspace. Key: the
    item id as 8 bytes big-endian; value: one compact JSON object per item
    (see `CatalogItem`). No authentication.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[File]
    """

    kwargs = _get_kwargs()

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
) -> File | None:
    """Global catalog snapshot

     zstd-compressed single-file LMDB database, default keyspace. Key: the
    item id as 8 bytes big-endian; value: one compact JSON object per item
    (see `CatalogItem`). No authentication.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        File
    """

    return sync_detailed(
        client=client,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
) -> Response[File]:
    """Global catalog snapshot

     zstd-compressed single-file LMDB database, default keyspace. Key: the
    item id as 8 bytes big-endian; value: one compact JSON object per item
    (see `CatalogItem`). No authentication.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[File]
    """

    kwargs = _get_kwargs()

    response = await client.send_async(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
) -> File | None:
    """Global catalog snapshot

     zstd-compressed single-file LMDB database, default keyspace. Key: the
    item id as 8 bytes big-endian; value: one compact JSON object per item
    (see `CatalogItem`). No authentication.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        File
    """

    return (
        await asyncio_detailed(
            client=client,
        )
    ).parsed
