"""Per-endpoint delivery rates: an endpoint that can take only so many requests a second
gets them no faster. A delivery over the rate waits (its message goes back to `pending`,
due when the endpoint's bucket has a token again); it is never dropped, and no attempt
is counted against it.

A token bucket per endpoint and process, as the tenants' request rates are
(gateway/ratelimit.py), on the injected clock: with N processes an endpoint receives at
most N times its rate. A burst of one second's worth is allowed, then one every 1/rate s.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from gateway.clock import Clock


@dataclass
class _Bucket:
    tokens: float
    at: float


class DeliveryRates:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._buckets: dict[str, _Bucket] = {}

    def take(self, subscription_id: str, per_second: float) -> datetime | None:
        """None: send now; else the time when this endpoint may be sent to again."""
        now = self.clock.now()
        at = now.timestamp()
        burst = max(1.0, per_second)
        bucket = self._buckets.get(subscription_id)
        if bucket is None:
            bucket = self._buckets[subscription_id] = _Bucket(burst, at)
        bucket.tokens = min(burst, bucket.tokens + max(0.0, at - bucket.at) * per_second)
        bucket.at = at
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return None
        return now + timedelta(seconds=(1 - bucket.tokens) / per_second)
