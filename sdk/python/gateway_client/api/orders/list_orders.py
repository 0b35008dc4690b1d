import datetime
from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.order_page import OrderPage
from ...models.order_status import OrderStatus
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    limit: int | Unset = 50,
    cursor: str | Unset = UNSET,
    status: OrderStatus | Unset = UNSET,
    account: str | Unset = UNSET,
    item_id: int | Unset = UNSET,
    merchant_order_id: str | Unset = UNSET,
    created_after: datetime.datetime | Unset = UNSET,
    created_before: datetime.datetime | Unset = UNSET,
    tenant: str | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["limit"] = limit

    params["cursor"] = cursor

    json_status: str | Unset = UNSET
    if not isinstance(status, Unset):
        json_status = status.value

    params["status"] = json_status

    params["account"] = account

    params["item_id"] = item_id

    params["merchant_order_id"] = merchant_order_id

    json_created_after: str | Unset = UNSET
    if not isinstance(created_after, Unset):
        json_created_after = created_after.isoformat()
    params["created_after"] = json_created_after

    json_created_before: str | Unset = UNSET
    if not isinstance(created_before, Unset):
        json_created_before = created_before.isoformat()
    params["created_before"] = json_created_before

    params["tenant"] = tenant

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/orders",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Error | OrderPage | None:
    if response.status_code == 200:
        response_200 = OrderPage.from_dict(response.json())

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

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Error | OrderPage]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    limit: int | Unset = 50,
    cursor: str | Unset = UNSET,
    status: OrderStatus | Unset = UNSET,
    account: str | Unset = UNSET,
    item_id: int | Unset = UNSET,
    merchant_order_id: str | Unset = UNSET,
    created_after: datetime.datetime | Unset = UNSET,
    created_before: datetime.datetime | Unset = UNSET,
    tenant: str | Unset = UNSET,
) -> Response[Error | OrderPage]:
    """List orders, newest first

     A tenant lists its own orders; an `observer` every order of its
    accounts; an `admin` every order (and may filter by `tenant`).

    Args:
        limit (int | Unset):  Default: 50.
        cursor (str | Unset):
        status (OrderStatus | Unset):
        account (str | Unset):
        item_id (int | Unset):
        merchant_order_id (str | Unset):
        created_after (datetime.datetime | Unset):
        created_before (datetime.datetime | Unset):
        tenant (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | OrderPage]
    """

    kwargs = _get_kwargs(
        limit=limit,
        cursor=cursor,
        status=status,
        account=account,
        item_id=item_id,
        merchant_order_id=merchant_order_id,
        created_after=created_after,
        created_before=created_before,
        tenant=tenant,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    limit: int | Unset = 50,
    cursor: str | Unset = UNSET,
    status: OrderStatus | Unset = UNSET,
    account: str | Unset = UNSET,
    item_id: int | Unset = UNSET,
    merchant_order_id: str | Unset = UNSET,
    created_after: datetime.datetime | Unset = UNSET,
    created_before: datetime.datetime | Unset = UNSET,
    tenant: str | Unset = UNSET,
) -> Error | OrderPage | None:
    """List orders, newest first

     A tenant lists its own orders; an `observer` every order of its
    accounts; an `admin` every order (and may filter by `tenant`).

    Args:
        limit (int | Unset):  Default: 50.
        cursor (str | Unset):
        status (OrderStatus | Unset):
        account (str | Unset):
        item_id (int | Unset):
        merchant_order_id (str | Unset):
        created_after (datetime.datetime | Unset):
        created_before (datetime.datetime | Unset):
        tenant (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | OrderPage
    """

    return sync_detailed(
        client=client,
        limit=limit,
        cursor=cursor,
        status=status,
        account=account,
        item_id=item_id,
        merchant_order_id=merchant_order_id,
        created_after=created_after,
        created_before=created_before,
        tenant=tenant,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    limit: int | Unset = 50,
    cursor: str | Unset = UNSET,
    status: OrderStatus | Unset = UNSET,
    account: str | Unset = UNSET,
    item_id: int | Unset = UNSET,
    merchant_order_id: str | Unset = UNSET,
    created_after: datetime.datetime | Unset = UNSET,
    created_before: datetime.datetime | Unset = UNSET,
    tenant: str | Unset = UNSET,
) -> Response[Error | OrderPage]:
    """List orders, newest first

     A tenant lists its own orders; an `observer` every order of its
    accounts; an `admin` every order (and may filter by `tenant`).

    Args:
        limit (int | Unset):  Default: 50.
        cursor (str | Unset):
        status (OrderStatus | Unset):
        account (str | Unset):
        item_id (int | Unset):
        merchant_order_id (str | Unset):
        created_after (datetime.datetime | Unset):
        created_before (datetime.datetime | Unset):
        tenant (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | OrderPage]
    """

    kwargs = _get_kwargs(
        limit=limit,
        cursor=cursor,
        status=status,
        account=account,
        item_id=item_id,
        merchant_order_id=merchant_order_id,
        created_after=created_after,
        created_before=created_before,
        tenant=tenant,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    limit: int | Unset = 50,
    cursor: str | Unset = UNSET,
    status: OrderStatus | Unset = UNSET,
    account: str | Unset = UNSET,
    item_id: int | Unset = UNSET,
    merchant_order_id: str | Unset = UNSET,
    created_after: datetime.datetime | Unset = UNSET,
    created_before: datetime.datetime | Unset = UNSET,
    tenant: str | Unset = UNSET,
) -> Error | OrderPage | None:
    """List orders, newest first

     A tenant lists its own orders; an `observer` every order of its
    accounts; an `admin` every order (and may filter by `tenant`).

    Args:
        limit (int | Unset):  Default: 50.
        cursor (str | Unset):
        status (OrderStatus | Unset):
        account (str | Unset):
        item_id (int | Unset):
        merchant_order_id (str | Unset):
        created_after (datetime.datetime | Unset):
        created_before (datetime.datetime | Unset):
        tenant (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | OrderPage
    """

    return (
        await asyncio_detailed(
            client=client,
            limit=limit,
            cursor=cursor,
            status=status,
            account=account,
            item_id=item_id,
            merchant_order_id=merchant_order_id,
            created_after=created_after,
            created_before=created_before,
            tenant=tenant,
        )
    ).parsed
