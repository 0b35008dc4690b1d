"""Contains all the data models used in inputs/outputs"""

from .auth_error import AuthError
from .balance import Balance
from .catalog_field import CatalogField
from .catalog_field_type import CatalogFieldType
from .catalog_item import CatalogItem
from .catalog_option import CatalogOption
from .created_by import CreatedBy
from .error import Error
from .order import Order
from .order_fields import OrderFields
from .order_source import OrderSource
from .order_status import OrderStatus
from .place_order_request import PlaceOrderRequest
from .place_order_request_fields import PlaceOrderRequestFields
from .product_type import ProductType
from .token_request import TokenRequest
from .token_response import TokenResponse
from .token_response_token_type import TokenResponseTokenType
from .webhook_payload import WebhookPayload
from .webhook_payload_fields import WebhookPayloadFields

__all__ = (
    "AuthError",
    "Balance",
    "CatalogField",
    "CatalogFieldType",
    "CatalogItem",
    "CatalogOption",
    "CreatedBy",
    "Error",
    "Order",
    "OrderFields",
    "OrderSource",
    "OrderStatus",
    "PlaceOrderRequest",
    "PlaceOrderRequestFields",
    "ProductType",
    "TokenRequest",
    "TokenResponse",
    "TokenResponseTokenType",
    "WebhookPayload",
    "WebhookPayloadFields",
)
