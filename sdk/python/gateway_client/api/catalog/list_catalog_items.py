from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.catalog_item_page import CatalogItemPage
from ...models.error import Error
from ...models.product_type import ProductType
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    account: str | Unset = UNSET,
    product_type: ProductType | Unset = UNSET,
    q: str | Unset = UNSET,
    available: bool | Unset = UNSET,
    limit: int | Unset = 50,
    cursor: str | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["account"] = account

    json_product_type: str | Unset = UNSET
    if not isinstance(product_type, Unset):
        json_product_type = product_type.value

    params["product_type"] = json_product_type

    params["q"] = q

    params["available"] = available

    params["limit"] = limit

    params["cursor"] = cursor

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/catalog/items",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> CatalogItemPage | Error | None:
    if response.status_code == 200:
        response_200 = CatalogItemPage.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = Error.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = Error.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = Error.from_dict(response.json())

        return response_403

    if response.status_code == 429:
        response_429 = Error.from_dict(response.json())

        return response_429

    if response.status_code == 503:
        response_503 = Error.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[CatalogItemPage | Error]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    account: str | Unset = UNSET,
    product_type: ProductType | Unset = UNSET,
    q: str | Unset = UNSET,
    available: bool | Unset = UNSET,
    limit: int | Unset = 50,
    cursor: str | Unset = UNSET,
) -> Response[CatalogItemPage | Error]:
    """Catalog items of an account, with that account's prices

    Args:
        account (str | Unset):
        product_type (ProductType | Unset):
        q (str | Unset):
        available (bool | Unset):
        limit (int | Unset):  Default: 50.
        cursor (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CatalogItemPage | Error]
    """

    kwargs = _get_kwargs(
        account=account,
        product_type=product_type,
        q=q,
        available=available,
        limit=limit,
        cursor=cursor,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    account: str | Unset = UNSET,
    product_type: ProductType | Unset = UNSET,
    q: str | Unset = UNSET,
    available: bool | Unset = UNSET,
    limit: int | Unset = 50,
    cursor: str | Unset = UNSET,
) -> CatalogItemPage | Error | None:
    """Catalog items of an account, with that account's prices

    Args:
        account (str | Unset):
        product_type (ProductType | Unset):
        q (str | Unset):
        available (bool | Unset):
        limit (int | Unset):  Default: 50.
        cursor (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CatalogItemPage | Error
    """

    return sync_detailed(
        client=client,
        account=account,
        product_type=product_type,
        q=q,
        available=available,
        limit=limit,
        cursor=cursor,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    account: str | Unset = UNSET,
    product_type: ProductType | Unset = UNSET,
    q: str | Unset = UNSET,
    available: bool | Unset = UNSET,
    limit: int | Unset = 50,
    cursor: str | Unset = UNSET,
) -> Response[CatalogItemPage | Error]:
    """Catalog items of an account, with that account's prices

    Args:
        account (str | Unset):
        product_type (ProductType | Unset):
        q (str | Unset):
        available (bool | Unset):
        limit (int | Unset):  Default: 50.
        cursor (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CatalogItemPage | Error]
    """

    kwargs = _get_kwargs(
        account=account,
        product_type=product_type,
        q=q,
        available=available,
        limit=limit,
        cursor=cursor,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    account: str | Unset = UNSET,
    product_type: ProductType | Unset = UNSET,
    q: str | Unset = UNSET,
    available: bool | Unset = UNSET,
    limit: int | Unset = 50,
    cursor: str | Unset = UNSET,
) -> CatalogItemPage | Error | None:
    """Catalog items of an account, with that account's prices

    Args:
        account (str | Unset):
        product_type (ProductType | Unset):
        q (str | Unset):
        available (bool | Unset):
        limit (int | Unset):  Default: 50.
        cursor (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CatalogItemPage | Error
    """

    return (
        await asyncio_detailed(
            client=client,
            account=account,
            product_type=product_type,
            q=q,
            available=available,
            limit=limit,
            cursor=cursor,
        )
    ).parsed
