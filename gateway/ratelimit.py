"""Per-tenant rate limits: on reads and writes of the tenant API, and on the requests
that make the gateway send (test pings, replays, subscription changes).

A token bucket per (tenant, kind): `quota` requests per `window` seconds, refilled
evenly, so a burst of `quota` is allowed and then one every window/quota seconds. It
is per process (each replica counts its own): these limits keep one tenant from
taking a process's event loop from the others, or from turning the gateway into a
flood against some endpoint, where a factor of the replica count does not matter;
counting across replicas would cost a database round trip per request, more than
the read it guards. They are not quotas to bill by.

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

WINDOWS = {60: "minute", 1: "second"}


@dataclass
class _Bucket:
    tokens: float
    at: float


class RateLimits:
    def __init__(self, clock: Clock, quotas: dict[str, tuple[int, int]]) -> None:
        """`quotas`: per kind, (requests, window in seconds: 60 or 1); 0 requests: no bound."""
        self.clock = clock
        self.quotas = quotas
        self._buckets: dict[tuple[str, str], _Bucket] = {}

    def bounded(self, kind: str) -> bool:
        return self.quotas[kind][0] > 0

    def take(self, tenant: str, kind: str, quota: int | None = None) -> dict[str, str]:
        """One request of `kind` for `tenant`: the headers to answer with, or RateLimited.
        `quota`: the tenant's own, set at run time, in place of the configured one."""
        configured, window = self.quotas[kind]
        quota = configured if quota is None else quota
        rate = quota / window
        now = self.clock.now().timestamp()
        bucket = self._buckets.get((tenant, kind))
        if bucket is None:
            bucket = self._buckets[(tenant, kind)] = _Bucket(float(quota), now)
        bucket.tokens = min(float(quota), bucket.tokens + max(0.0, now - bucket.at) * rate)
        bucket.at = now
        policy = f'"{kind}";q={quota};w={window}'
        if bucket.tokens < 1:
            wait = max(1, math.ceil((1 - bucket.tokens) / rate))
            raise RateLimited(
                f"too many {kind} requests: at most {quota} a {WINDOWS[window]} per tenant;"
                f" retry in {wait} s",
                headers={
                    "Retry-After": str(wait),
                    "RateLimit-Policy": policy,
                    "RateLimit": f'"{kind}";r=0;t={wait}',
                },
                details={"limit": quota, "window_seconds": window},
            )
        bucket.tokens -= 1
        refill = math.ceil((quota - bucket.tokens) / rate)
        return {
            "RateLimit-Policy": policy,
            "RateLimit": f'"{kind}";r={int(bucket.tokens)};t={refill}',
        }
