"""Per-tenant rate limits for requests that make the gateway send (test pings, replays).

A token bucket per (tenant, kind): `per_minute` requests, refilled evenly, so a
burst of `per_minute` is allowed and then one every 60/per_minute seconds. It
is per process (each replica counts its own): these limits stop a tenant from
turning the gateway into a flood against some endpoint, where a factor of the
replica count does not matter; they are not quotas to bill by.

Written here rather than taken from a library because it reads the gateway's
injected clock, so tests move time instead of sleeping. Answers carry
`Retry-After` and the IETF RateLimit headers (draft-ietf-httpapi-ratelimit-headers):
`RateLimit-Policy: "test";q=10;w=60` and `RateLimit: "test";r=0;t=6`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from gateway.clock import Clock
from gateway.errors import RateLimited

WINDOW = 60.0


@dataclass
class _Bucket:
    tokens: float
    at: float


class RateLimits:
    def __init__(self, clock: Clock, per_minute: dict[str, int]) -> None:
        self.clock = clock
        self.per_minute = per_minute
        self._buckets: dict[tuple[str, str], _Bucket] = {}

    def take(self, tenant: str, kind: str) -> dict[str, str]:
        """One request of `kind` for `tenant`: the headers to answer with, or RateLimited."""
        quota = self.per_minute[kind]
        rate = quota / WINDOW
        now = self.clock.now().timestamp()
        bucket = self._buckets.get((tenant, kind))
        if bucket is None:
            bucket = self._buckets[(tenant, kind)] = _Bucket(float(quota), now)
        bucket.tokens = min(float(quota), bucket.tokens + max(0.0, now - bucket.at) * rate)
        bucket.at = now
        policy = f'"{kind}";q={quota};w={int(WINDOW)}'
        if bucket.tokens < 1:
            wait = max(1, math.ceil((1 - bucket.tokens) / rate))
            raise RateLimited(
                f"too many {kind} requests: at most {quota} a minute per tenant; retry in {wait} s",
                headers={
                    "Retry-After": str(wait),
                    "RateLimit-Policy": policy,
                    "RateLimit": f'"{kind}";r=0;t={wait}',
                },
                details={"limit": quota, "window_seconds": int(WINDOW)},
            )
        bucket.tokens -= 1
        refill = math.ceil((quota - bucket.tokens) / rate)
        return {
            "RateLimit-Policy": policy,
            "RateLimit": f'"{kind}";r={int(bucket.tokens)};t={refill}',
        }
