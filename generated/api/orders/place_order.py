from http import HTTPStatus
from typing import Any

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.order import Order
from ...models.place_order_request import PlaceOrderRequest
from ...types import RawResponse, Response


def _get_kwargs(
    *,
    body: PlaceOrderRequest,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/orders",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: RawResponse
) -> Error | Order | None:
    if response.status_code == 201:
        response_201 = Order.from_dict(response.json())

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

    if response.status_code == 409:
        response_409 = Error.from_dict(response.json())

        return response_409

    if response.status_code == 429:
        response_429 = Error.from_dict(response.json())

        return response_429

    if response.status_code == 500:
        response_500 = Error.from_dict(response.json())

        return response_500

    if response.status_code == 503:
        response_503 = Error.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: RawResponse
) -> Response[Error | Order]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: PlaceOrderRequest,
) -> Response[Error | Order]:
    """Place an order

     Places an order and charges the balance at once. Answers 201 with
    `status: pending`; the result arrives by webhook and is readable with
    `GET /api/v1/orders/{order_id}`.

    - `quantity`: integer count for key items (default 1), decimal amount
      for top-up items (required), omitted for service items (always 1);
      within the item's min/max.
    - `fields`: required for top-up and service items, keyed by field
      name; a text field takes a string, a choice field the numeric choice
      id. Key items take no fields.
    - `merchant_order_id`: unique per account; a duplicate is refused with
      400 `validation_error` (the first order is not replayed).

    Args:
        body (PlaceOrderRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | Order]
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
    body: PlaceOrderRequest,
) -> Error | Order | None:
    """Place an order

     Places an order and charges the balance at once. Answers 201 with
    `status: pending`; the result arrives by webhook and is readable with
    `GET /api/v1/orders/{order_id}`.

    - `quantity`: integer count for key items (default 1), decimal amount
      for top-up items (required), omitted for service items (always 1);
      within the item's min/max.
    - `fields`: required for top-up and service items, keyed by field
      name; a text field takes a string, a choice field the numeric choice
      id. Key items take no fields.
    - `merchant_order_id`: unique per account; a duplicate is refused with
      400 `validation_error` (the first order is not replayed).

    Args:
        body (PlaceOrderRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | Order
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: PlaceOrderRequest,
) -> Response[Error | Order]:
    """Place an order

     Places an order and charges the balance at once. Answers 201 with
    `status: pending`; the result arrives by webhook and is readable with
    `GET /api/v1/orders/{order_id}`.

    - `quantity`: integer count for key items (default 1), decimal amount
      for top-up items (required), omitted for service items (always 1);
      within the item's min/max.
    - `fields`: required for top-up and service items, keyed by field
      name; a text field takes a string, a choice field the numeric choice
      id. Key items take no fields.
    - `merchant_order_id`: unique per account; a duplicate is refused with
      400 `validation_error` (the first order is not replayed).

    Args:
        body (PlaceOrderRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | Order]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.send_async(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: PlaceOrderRequest,
) -> Error | Order | None:
    """Place an order

     Places an order and charges the balance at once. Answers 201 with
    `status: pending`; the result arrives by webhook and is readable with
    `GET /api/v1/orders/{order_id}`.

    - `quantity`: integer count for key items (default 1), decimal amount
      for top-up items (required), omitted for service items (always 1);
      within the item's min/max.
    - `fields`: required for top-up and service items, keyed by field
      name; a text field takes a string, a choice field the numeric choice
      id. Key items take no fields.
    - `merchant_order_id`: unique per account; a duplicate is refused with
      400 `validation_error` (the first order is not replayed).

    Args:
        body (PlaceOrderRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | Order
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
