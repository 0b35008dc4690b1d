"""An order before the provider sees it: the hash that tells a repeat from a new
request, the gateway's own reference, and the catalog's estimate of its price."""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

import structlog

from gateway.domain import CatalogItem, PlaceRequest
from gateway.plugin_api import OrderIntent
from gateway.tenants import Tenant

CENT = Decimal("0.01")


def request_hash(account: str, request: PlaceRequest) -> str:
    canonical = json.dumps(
        {
            "account": account,
            "item_id": request.item_id,
            "quantity": None if request.quantity is None else str(request.quantity.normalize()),
            "merchant_order_id": request.merchant_order_id,
            "fields": request.fields,
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def new_reference() -> str:
    """The gateway's own unique reference, sent as the provider's merchant_order_id."""
    return "gw_" + secrets.token_hex(16)


def estimate(item: CatalogItem | None, quantity: Decimal | None) -> Decimal | None:
    """Catalog price x quantity, rounded as the provider rounds (half up, to cents)."""
    if item is None:
        return None
    units = quantity if quantity is not None else Decimal(1)
    return (item.price * units).quantize(CENT, rounding=ROUND_HALF_UP)


def new_intent(
    tenant: Tenant,
    account: str,
    currency: str,
    request: PlaceRequest,
    item: CatalogItem | None,
    catalog_loaded: bool,
    at: datetime,
) -> OrderIntent:
    """The order as the hooks see it, with its id from the start (a refused one keeps it)."""
    return OrderIntent(
        order_id=str(uuid.uuid4()),
        tenant=tenant,
        account=account,
        currency=currency,
        request=request,
        item=item,
        catalog_loaded=catalog_loaded,
        estimate=estimate(item, request.quantity),
        request_id=structlog.contextvars.get_contextvars().get("request_id"),
        at=at,
    )
