"""`POST /provider-webhooks/{account}`: the provider's webhooks, verified, then applied.

The signature (`X-Webhook-Signature: sha256=<hex HMAC-SHA256 of the raw body>`)
is checked on the raw bytes, in constant time, with that account's secret:
missing or wrong is a 401 and nothing is stored. A valid event is stored
(once per order and status: the provider retries, and may send twice), the
ledger updated, reservations settled and the tenants' deliveries enqueued, all
in one transaction, and only then is the 200 sent that stops the provider's
retries. A replayed old event finds its (order, status) already stored, and an
order never moves backwards, so it changes nothing.
"""

from __future__ import annotations

import hashlib
import hmac

import structlog
from aiohttp import web

from gateway.api.edge import METRICS, TRACER, parse_json, read_body
from gateway.clock import parse_rfc3339
from gateway.errors import BadRequest, GatewayError, Unauthenticated
from gateway.provider.convert import parse_webhook
from gateway.provider.webhook_schema import check_webhook
from gateway.state import DESK, WEBHOOK_SECRETS
from gateway.tracing import NO_TRACER, span

log = structlog.get_logger()

SIGNATURE_HEADER = "X-Webhook-Signature"


def signature_valid(body: bytes, header: str | None, secret: str) -> bool:
    if not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(header.removeprefix("sha256=").encode(), expected.encode())


async def provider_webhook(request: web.Request) -> web.Response:
    account = request.match_info["account"]
    secret = request.app[WEBHOOK_SECRETS].get(account)
    metrics = request.app[METRICS].provider_webhooks
    body = await read_body(request)
    if secret is None:
        # the same answer as a bad signature: who is not the provider learns nothing, not
        # even which account names exist; the log tells the operator which case it was
        log.warning("provider_webhook_unknown_account", account=account[:64])
        raise Unauthenticated(f"missing or invalid {SIGNATURE_HEADER}")
    if not signature_valid(body, request.headers.get(SIGNATURE_HEADER), secret):
        metrics.labels(account=account, outcome="forged").inc()
        log.warning("provider_webhook_forged", account=account)
        raise Unauthenticated(f"missing or invalid {SIGNATURE_HEADER}")
    try:
        payload = parse_json(body)
        check_webhook(payload)
        for name in ("created_at", "completed_at"):
            if (
                payload.get(name) is not None
                and not 1970 <= parse_rfc3339(payload[name]).year < 9000
            ):
                raise ValueError(f"{name}: not a time an order can have")
        seen = parse_webhook(payload)
    except (GatewayError, ValueError, KeyError, TypeError, AttributeError, OverflowError) as exc:
        reason = exc.message if isinstance(exc, GatewayError) else str(exc)
        metrics.labels(account=account, outcome="malformed").inc()
        log.warning("provider_webhook_malformed", account=account, error=reason)
        raise BadRequest(
            f"the webhook body does not match the provider's documented payload: {reason}"
        ) from None
    # the order's new state and the tenants' webhooks it causes, written in one transaction:
    # the messages keep this span's context, so each delivery is in this intake's trace
    with span(
        request.app.get(TRACER, NO_TRACER),
        "provider webhook intake",
        attributes={
            "gateway.account": account,
            "gateway.provider_order_id": seen.provider_order_id,
            "gateway.provider_status": seen.status.value,
        },
    ) as intake:
        record, duplicate = await request.app[DESK].outcomes.provider_event(account, seen, body)
        intake.set_attribute("gateway.duplicate", duplicate)
        if record is not None:
            intake.set_attribute("gateway.order_id", record.id)
    metrics.labels(account=account, outcome="duplicate" if duplicate else "applied").inc()
    # on the request's one log line (gateway/api/edge.py), not a line of its own
    structlog.contextvars.bind_contextvars(
        account=account,
        provider_order_id=seen.provider_order_id,
        provider_order_status=seen.status.value,
        order_id=record.id if record else None,
        duplicate=duplicate,
    )
    return web.Response(status=200, text="ok")


routes = [web.post("/provider-webhooks/{account}", provider_webhook)]
