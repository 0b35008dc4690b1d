"""The sandbox provider's behaviour, independent of HTTP.

It does what the provider's public documentation says (see the project's
upstream notes): token exchange, balance, place order with every rule of the
reference page, fulfilment after a delay, signed webhooks with the provider's
retry schedule, catalog snapshots, and dashboard orders. Faults are injected
per account. Every random choice comes from one seeded RNG and every time from
an injected clock, so a test replays exactly.
"""

from __future__ import annotations

import copy
import random
import string
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

import aiohttp
import jwt
import structlog

from gateway.clock import Clock
from gateway.provider.snapshot import write_snapshot
from gateway.sandbox.model import (
    Account,
    Faults,
    Item,
    Order,
    Outcome,
    ProductType,
    Status,
)
from gateway.sandbox.rules import CENT, ProviderError, validate_order
from gateway.sandbox.timeline import Timeline
from gateway.sandbox.webhooks import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookSender,
)

log = structlog.get_logger()


class AuthFailure(Exception):
    """The token exchange's own failure, answered as `{"error": …}`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class AccountSpec:
    name: str
    client_id: str
    api_keys: list[str]
    balance: Decimal
    webhook_secret: str
    webhook_url: str | None = None
    personal_prices: dict[int, Decimal] | None = None
    api_enabled: bool = True


@dataclass
class SandboxSettings:
    accounts: list[AccountSpec]
    items: list[Item]
    seed: int = 0
    token_ttl: float = 2 * 3600
    fulfilment_delay: float = 2.0
    # When the order is seen `processing`; by default halfway to fulfilment.
    processing_delay: float | None = None
    webhook_attempts: int = 3
    webhook_interval: float = 60.0
    webhook_timeout: float = 30.0
    jwt_secret: str = "sandbox-signing-secret-not-for-production"


@dataclass
class _State:
    accounts: dict[str, Account]
    items: dict[int, Item]
    orders: dict[str, Order] = field(default_factory=dict)
    catalog_version: int = 0


class Sandbox(WebhookSender):
    def __init__(self, settings: SandboxSettings, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock
        self.rng = random.Random(settings.seed)
        self.timeline = Timeline(clock)
        self._state = _State(
            accounts={spec.name: _account(spec) for spec in settings.accounts},
            items={item.id: copy.deepcopy(item) for item in settings.items},
        )
        self._snapshots: dict[str | None, tuple[int, bytes]] = {}
        self.webhook_attempts: list[WebhookAttempt] = []
        self.webhook_deliveries: list[WebhookDelivery] = []
        self._http: aiohttp.ClientSession | None = None

    # --- lifecycle -------------------------------------------------------

    async def start(self) -> None:
        self._http = aiohttp.ClientSession()

    async def close(self) -> None:
        await self.timeline.close()
        if self._http is not None:
            await self._http.close()

    async def advance(self, seconds: float) -> None:
        """Move the manual clock on, running fulfilments and webhook attempts due on the way."""
        await self.timeline.advance(seconds)

    # --- accounts and tokens ------------------------------------------------

    @property
    def accounts(self) -> dict[str, Account]:
        return self._state.accounts

    @property
    def items(self) -> dict[int, Item]:
        return self._state.items

    @property
    def orders(self) -> dict[str, Order]:
        return self._state.orders

    def account(self, name: str) -> Account:
        try:
            return self._state.accounts[name]
        except KeyError:
            raise KeyError(f"no sandbox account named {name!r}") from None

    def account_for_key(self, api_key: Any) -> Account | None:
        if not isinstance(api_key, str):
            return None
        for account in self._state.accounts.values():
            if account.api_keys.get(api_key):
                return account
        return None

    def exchange_token(self, api_key: Any) -> str:
        account = self.account_for_key(api_key)
        if account is None:
            raise AuthFailure(401, "Invalid credentials")
        if not account.api_enabled:
            raise AuthFailure(403, "API access is not enabled for this account")
        now = self.clock.now()
        claims = {
            "sub": account.client_id,
            "acct": account.name,
            "iat": int(now.timestamp()),
            "exp": int((now + timedelta(seconds=self.settings.token_ttl)).timestamp()),
            "jti": uuid.UUID(int=self.rng.getrandbits(128), version=4).hex,
        }
        return jwt.encode(claims, self.settings.jwt_secret, algorithm="HS256")

    def authenticate(self, authorization: str | None) -> Account:
        not_authenticated = ProviderError(
            401,
            "not_authenticated",
            "Authentication credentials were not provided or have expired",
        )
        if not authorization:
            raise not_authenticated
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise not_authenticated
        try:
            claims = jwt.decode(
                token.strip(),
                self.settings.jwt_secret,
                algorithms=["HS256"],
                options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
            )
        except jwt.InvalidTokenError:
            raise not_authenticated from None
        if not isinstance(claims.get("exp"), int) or claims["exp"] <= self.clock.now().timestamp():
            raise not_authenticated
        account = self._state.accounts.get(str(claims.get("acct")))
        if account is None:
            raise not_authenticated
        if not account.api_enabled:
            raise ProviderError(
                403, "permission_denied", "API access is not enabled for this account"
            )
        return account

    # --- faults ---------------------------------------------------------------

    def roll(self, rate: float) -> bool:
        """A seeded yes/no; no draw at all when the rate is zero, so faults off change nothing."""
        return rate > 0 and self.rng.random() < rate

    # --- orders -----------------------------------------------------------------

    def place_order(
        self,
        account: Account,
        body: Any,
        *,
        source: str = "api",
        created_by: dict[str, Any] | None = None,
    ) -> Order:
        valid = validate_order(body, account, self._state.items)
        if valid.price > account.balance:
            raise ProviderError(400, "insufficient_balance", "Insufficient balance")
        account.balance -= valid.price
        if valid.merchant_order_id is not None:
            account.merchant_order_ids.add(valid.merchant_order_id)
        order = Order(
            id=str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
            account=account.name,
            item=valid.item,
            quantity=valid.quantity,
            price=valid.price,
            unit_price=valid.unit_price,
            fields=valid.fields,
            merchant_order_id=valid.merchant_order_id,
            source=source,
            created_by=created_by,
            created_at=self.clock.now(),
        )
        self._state.orders[order.id] = order
        log.info("sandbox_order_placed", order_id=order.id, account=account.name, source=source)
        delay = self.settings.fulfilment_delay
        processing = self.settings.processing_delay
        processing = delay / 2 if processing is None else min(processing, delay)
        self.timeline.schedule(processing, lambda: self._mark_processing(order))
        self.timeline.schedule(delay, lambda: self._fulfil(order))
        return order

    def get_order(self, account: Account, order_id: str) -> Order:
        order = self._state.orders.get(order_id)
        if order is None or order.account != account.name:
            raise ProviderError(404, "not_found", "Order not found")
        return order

    async def _mark_processing(self, order: Order) -> None:
        if order.status is Status.PENDING:
            order.status = Status.PROCESSING

    async def _fulfil(self, order: Order) -> None:
        if order.status.terminal:
            return
        account = self._state.accounts[order.account]
        outcome = account.scripted.pop(0) if account.scripted else None
        item = self._state.items[order.item.id]
        units = int(order.quantity) if item.product_type is ProductType.KEY else 1
        if outcome is not None:
            status, error, message = outcome.status, outcome.error, outcome.error_message
            if status is Status.COMPLETED:
                delivered = units
            elif status is Status.FAILED:
                delivered = 0
                error = error or "OUT_OF_STOCK"
                message = message or "The item went out of stock"
            else:  # partial: some units, never all; none at all degrades to failed below
                delivered = min(outcome.delivered_quantity or units // 2, units - 1)
                if outcome.delivered_quantity and delivered != outcome.delivered_quantity:
                    log.warning(
                        "sandbox_partial_lowered",
                        order_id=order.id,
                        scripted=outcome.delivered_quantity,
                        delivered=delivered,
                        reason=f"a partial of {units} unit(s) delivers fewer than {units}",
                    )
        elif self.roll(account.faults.fail_order_rate):
            status, delivered = Status.FAILED, 0
            error, message = "SUPPLIER_ERROR", "The supplier rejected the order"
        elif item.product_type is ProductType.KEY:
            delivered = units if item.stock is None else min(units, item.stock)
            error = message = ""
            if delivered == 0:
                status = Status.FAILED
                error, message = "OUT_OF_STOCK", "The item went out of stock"
            elif delivered < units:
                status = Status.PARTIAL
            else:
                status = Status.COMPLETED
        else:
            status, delivered, error, message = Status.COMPLETED, 1, "", ""
        if status is Status.PARTIAL and delivered == 0:
            status = Status.FAILED
            error, message = error or "OUT_OF_STOCK", message or "The item went out of stock"

        if item.product_type is ProductType.KEY:
            if item.stock is not None:
                item.stock = max(0, item.stock - delivered)
                self._state.catalog_version += 1
            order.codes = [self._code() for _ in range(delivered)]
        if status is Status.FAILED:
            refund = order.price
        elif status is Status.PARTIAL:
            refund = order.price - (order.unit_price * delivered).quantize(CENT)
        else:
            refund = Decimal(0)
        refund = max(Decimal(0), min(refund, order.price))
        account.balance += refund
        order.status = status
        order.delivered_quantity = delivered
        order.refund_amount = refund
        order.error, order.error_message = error, message
        order.completed_at = self.clock.now()
        log.info("sandbox_order_finished", order_id=order.id, status=status.value)
        if order.source == "api" and account.webhook_url:
            self._send_webhook(account, order)

    def _code(self) -> str:
        alphabet = string.ascii_uppercase + string.digits
        return "-".join("".join(self.rng.choices(alphabet, k=4)) for _ in range(4))

    def script(self, account_name: str, outcomes: list[Outcome]) -> None:
        self.account(account_name).scripted.extend(outcomes)

    # --- catalog -------------------------------------------------------------------

    def snapshot(self, client_id: str | None) -> bytes | None:
        """The global snapshot, or an account's personal one (None: it has no personal prices)."""
        account = None
        if client_id is not None:
            account = next(
                (a for a in self._state.accounts.values() if a.client_id == client_id), None
            )
            if account is None or not account.personal_prices:
                return None
        cached = self._snapshots.get(client_id)
        if cached and cached[0] == self._state.catalog_version:
            return cached[1]
        records = [
            item.record(account.unit_price(item) if account else None)
            for item in self._state.items.values()
        ]
        data = write_snapshot(records)
        self._snapshots[client_id] = (self._state.catalog_version, data)
        return data

    def update_item(self, item_id: int, **changes: Any) -> Item:
        item = self._state.items[item_id]
        for name, value in changes.items():
            setattr(item, name, value)
        self._state.catalog_version += 1
        return item

    def set_personal_prices(self, account_name: str, prices: dict[int, Decimal] | None) -> None:
        self.account(account_name).personal_prices = prices
        self._state.catalog_version += 1

    def set_faults(self, account_name: str, faults: Faults) -> None:
        self.account(account_name).faults = faults

    def add_key(self, account_name: str) -> str:
        key = "ak_" + f"{self.rng.getrandbits(128):032x}"
        self.account(account_name).api_keys[key] = True
        return key

    def revoke_key(self, api_key: str) -> None:
        account = self.account_for_key(api_key)
        if account is None:
            raise KeyError("no active key like that")
        account.api_keys[api_key] = False


def _account(spec: AccountSpec) -> Account:
    return Account(
        name=spec.name,
        client_id=spec.client_id,
        api_keys={key: True for key in spec.api_keys},
        balance=spec.balance,
        webhook_secret=spec.webhook_secret,
        webhook_url=spec.webhook_url,
        api_enabled=spec.api_enabled,
        personal_prices=dict(spec.personal_prices) if spec.personal_prices else None,
    )
