"""The sandbox's webhooks: sent when an order reaches a terminal status, signed with the
account's secret, retried as the provider documents (only a 200 counts; 3 attempts,
`webhook_interval` apart), and recorded for the control surface's webhook log."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import aiohttp
import structlog

from gateway.clock import Clock, isoformat_z
from gateway.sandbox.model import Account, Order, number_json

if TYPE_CHECKING:
    from gateway.sandbox.provider import SandboxSettings
    from gateway.sandbox.timeline import Timeline

log = structlog.get_logger()

SIGNATURE_HEADER = "X-Webhook-Signature"


@dataclass
class WebhookAttempt:
    order_id: str
    account: str
    attempt: int
    url: str
    status: int | None  # None: no answer (timeout or connection error)
    error: str | None
    at: datetime


@dataclass
class WebhookDelivery:
    order_id: str
    account: str
    url: str
    body: bytes
    signature: str
    attempts: int = 0
    delivered: bool = False
    dropped: bool = False


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookSender:
    """The Sandbox's webhook half (a base class: it shares the sandbox's state)."""

    settings: SandboxSettings
    clock: Clock
    timeline: Timeline
    _http: aiohttp.ClientSession | None
    webhook_deliveries: list[WebhookDelivery]
    webhook_attempts: list[WebhookAttempt]

    def roll(self, rate: float) -> bool:
        raise NotImplementedError

    def _send_webhook(self, account: Account, order: Order) -> None:
        assert account.webhook_url is not None
        body = json.dumps(webhook_payload(order), separators=(",", ":"), sort_keys=True).encode()
        copies = 2 if self.roll(account.faults.duplicate_webhook_rate) else 1
        dropped = self.roll(account.faults.drop_webhook_rate)
        for _ in range(copies):
            delivery = WebhookDelivery(
                order_id=order.id,
                account=account.name,
                url=account.webhook_url,
                body=body,
                signature=sign(body, account.webhook_secret),
                dropped=dropped,
            )
            self.webhook_deliveries.append(delivery)
            if not dropped:
                self.timeline.schedule(0, lambda d=delivery: self._attempt(d))  # type: ignore[misc]

    async def _attempt(self, delivery: WebhookDelivery) -> None:
        assert self._http is not None, "Sandbox.start() was not awaited"
        delivery.attempts += 1
        status: int | None = None
        error: str | None = None
        try:
            async with self._http.post(
                delivery.url,
                data=delivery.body,
                headers={"Content-Type": "application/json", SIGNATURE_HEADER: delivery.signature},
                timeout=aiohttp.ClientTimeout(total=self.settings.webhook_timeout),
                allow_redirects=False,
            ) as response:
                status = response.status
                await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            error = type(exc).__name__
        self.webhook_attempts.append(
            WebhookAttempt(
                delivery.order_id,
                delivery.account,
                delivery.attempts,
                delivery.url,
                status,
                error,
                self.clock.now(),
            )
        )
        if status == 200:
            delivery.delivered = True
        elif delivery.attempts < self.settings.webhook_attempts:
            self.timeline.schedule(self.settings.webhook_interval, lambda: self._attempt(delivery))
        log.info(
            "sandbox_webhook_attempt",
            order_id=delivery.order_id,
            attempt=delivery.attempts,
            status=status,
            error=error,
        )


def webhook_payload(order: Order) -> dict[str, Any]:
    """The webhook body: the provider's own names, which differ from the order object's."""
    return {
        "order_id": order.id,
        "merchant_order_id": order.merchant_order_id,
        "status": order.status.value,
        "item_id": order.item.id,
        "item_name": order.item.name,
        "quantity": number_json(order.quantity),
        "total_price": number_json(order.price),
        "delivered_quantity": order.delivered_quantity,
        "refund_amount": number_json(order.refund_amount),
        "fields": dict(order.fields),
        "codes": list(order.codes),
        "error": order.error,
        "error_message": order.error_message,
        "created_at": isoformat_z(order.created_at),
        "completed_at": isoformat_z(order.completed_at) if order.completed_at else None,
    }
