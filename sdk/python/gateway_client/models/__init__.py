"""Contains all the data models used in inputs/outputs"""

from .account import Account
from .account_list import AccountList
from .account_state import AccountState
from .balance import Balance
from .catalog_field import CatalogField
from .catalog_field_option import CatalogFieldOption
from .catalog_field_type import CatalogFieldType
from .catalog_item import CatalogItem
from .catalog_item_page import CatalogItemPage
from .catalog_item_price_list import CatalogItemPriceList
from .decision import Decision
from .decision_list import DecisionList
from .decision_mode import DecisionMode
from .decision_outcome import DecisionOutcome
from .delivery_attempt import DeliveryAttempt
from .delivery_attempt_page import DeliveryAttemptPage
from .delivery_attempt_state import DeliveryAttemptState
from .error import Error
from .error_detail import ErrorDetail
from .error_detail_details import ErrorDetailDetails
from .event_type import EventType
from .filter_ import Filter
from .new_subscription import NewSubscription
from .order import Order
from .order_delivery import OrderDelivery
from .order_delivery_list import OrderDeliveryList
from .order_delivery_state import OrderDeliveryState
from .order_fields import OrderFields
from .order_page import OrderPage
from .order_status import OrderStatus
from .place_order import PlaceOrder
from .place_order_fields import PlaceOrderFields
from .product_type import ProductType
from .queued_message import QueuedMessage
from .replay_range import ReplayRange
from .replay_range_state import ReplayRangeState
from .replayed import Replayed
from .subscription import Subscription
from .subscription_list import SubscriptionList
from .subscription_state import SubscriptionState
from .update_subscription_body import UpdateSubscriptionBody
from .update_subscription_body_filter import UpdateSubscriptionBodyFilter
from .would_replay import WouldReplay

__all__ = (
    "Account",
    "AccountList",
    "AccountState",
    "Balance",
    "CatalogField",
    "CatalogFieldOption",
    "CatalogFieldType",
    "CatalogItem",
    "CatalogItemPage",
    "CatalogItemPriceList",
    "Decision",
    "DecisionList",
    "DecisionMode",
    "DecisionOutcome",
    "DeliveryAttempt",
    "DeliveryAttemptPage",
    "DeliveryAttemptState",
    "Error",
    "ErrorDetail",
    "ErrorDetailDetails",
    "EventType",
    "Filter",
    "NewSubscription",
    "Order",
    "OrderDelivery",
    "OrderDeliveryList",
    "OrderDeliveryState",
    "OrderFields",
    "OrderPage",
    "OrderStatus",
    "PlaceOrder",
    "PlaceOrderFields",
    "ProductType",
    "QueuedMessage",
    "ReplayRange",
    "ReplayRangeState",
    "Replayed",
    "Subscription",
    "SubscriptionList",
    "SubscriptionState",
    "UpdateSubscriptionBody",
    "UpdateSubscriptionBodyFilter",
    "WouldReplay",
)
