"""One error root for the gateway: raised deep as types, rendered to JSON in one middleware.

Every error a client sees has a status, a machine code and a message that says
what to fix; `details` adds the field that failed or the plugin that refused.
"""

from __future__ import annotations

from typing import Any


class GatewayError(Exception):
    status = 500
    code = "internal_error"

    def __init__(
        self,
        message: str,
        *,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}
        self.headers = headers or {}


class BadRequest(GatewayError):
    status, code = 400, "bad_request"


class InvalidJson(GatewayError):
    status, code = 400, "invalid_json"


class InvalidField(GatewayError):
    status, code = 400, "invalid_field"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}", details={"field": field})


class Unauthenticated(GatewayError):
    status, code = 401, "unauthenticated"


class Forbidden(GatewayError):
    status, code = 403, "forbidden"


class TenantDisabled(Forbidden):
    code = "tenant_disabled"


class AccountNotAllowed(GatewayError):
    status, code = 403, "account_not_allowed"


class NotFound(GatewayError):
    status, code = 404, "not_found"


class Conflict(GatewayError):
    status, code = 409, "conflict"


class IdempotencyInFlight(GatewayError):
    status, code = 409, "idempotency_key_in_use"


class IdempotencyMismatch(GatewayError):
    status, code = 422, "idempotency_key_reused"


class PayloadTooLarge(GatewayError):
    status, code = 413, "payload_too_large"


class ProviderRejected(GatewayError):
    """The provider refused the order as invalid (its `validation_error`).

    `may_hide_duplicate`: the provider checks this before it checks for a duplicate
    `merchant_order_id` (an item that is gone or out of stock), so the same refusal to
    a re-sent order does not prove that the first sending placed nothing."""

    status, code = 422, "provider_validation_error"
    may_hide_duplicate = False


class DuplicateReference(GatewayError):
    """The provider refused a re-sent order because its reference already exists there:
    the order was placed by an earlier sending."""

    status, code = 409, "already_placed"


class InsufficientBalance(GatewayError):
    status, code = 402, "insufficient_balance"


class ProviderFailure(GatewayError):
    """The provider could not serve a call (rate limit, outage, refused key). It means
    the same to the tenant whoever made the call: a plugin's balance read included."""


class AccountUnavailable(ProviderFailure):
    status, code = 502, "account_unavailable"


class ProviderUnavailable(ProviderFailure):
    status, code = 502, "provider_unavailable"


class ProviderTimeout(ProviderFailure):
    status, code = 504, "provider_timeout"


class ProviderBusy(ProviderFailure):
    status, code = 503, "provider_rate_limited"


class UnsupportedMediaType(GatewayError):
    status, code = 415, "unsupported_media_type"


class DestinationNotAllowed(GatewayError):
    """A webhook URL the operator's destination rules refuse; `rule` says which."""

    status, code = 422, "destination_not_allowed"

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(f"url: {message}", details={"field": "url", "rule": rule})


class InvalidFilter(InvalidField):
    """A subscription's payload filter that is not in the filter language: `details.field`
    points at the bad part (`filter.data.price.$gte`). A 422, as TENANT-API.md fixes it:
    the request is well-formed JSON, its filter is not a filter."""

    status, code = 422, "invalid_filter"


class InvalidRange(InvalidField):
    """A time range whose end comes before its start: each bound is a valid time, the
    range is not (a 422, naming the end)."""

    status, code = 422, "invalid_range"


class QuotaExceeded(GatewayError):
    status, code = 422, "quota_exceeded"


class RateLimited(GatewayError):
    """Too many of one kind of request; the headers say when to come back (429)."""

    status, code = 429, "rate_limited"


class PayloadPurged(GatewayError):
    """A delivered message past its retention: what it carried (codes included) is gone
    from the database, so it cannot be sent again; the order's current state can be read."""

    status, code = 409, "payload_purged"


class RotationInProgress(GatewayError):
    status, code = 409, "rotation_in_progress"


class ProviderIdConflict(GatewayError):
    """The provider answered with an order id the gateway already holds for another order."""

    status, code = 409, "provider_order_conflict"

    def __init__(self, order_id: str, other_id: str, provider_order_id: str) -> None:
        super().__init__(
            f"the provider gave order {order_id} the id {provider_order_id}, which order "
            f"{other_id} already has; an operator must look at both in the provider's dashboard",
            details={"order_id": order_id, "other_order_id": other_id},
        )
        self.order_id, self.other_id, self.provider_order_id = order_id, other_id, provider_order_id


class RequestTimeout(GatewayError):
    status, code = 408, "request_timeout"
