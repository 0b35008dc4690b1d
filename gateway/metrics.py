"""Prometheus metrics, one registry per app (two apps in one test process never share counts).

Names follow Prometheus conventions (base units, `_total` on counters); no
`_created` series (they double every counter's series for a timestamp
dashboards do not use). Gauges that need the database (the outbox's backlog
and its oldest pending message) are read at most every `OUTBOX_EVERY`
seconds, on the index the dispatcher claims with, whatever the scrape rate.
"""

from __future__ import annotations

import prometheus_client
from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

prometheus_client.disable_created_metrics()  # type: ignore[no-untyped-call]
_PROCESS = (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR)

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        for collector in _PROCESS:  # the process's CPU, memory, fds; Python's version and GC
            self.registry.register(collector)
        self.requests = Counter(
            "gateway_http_requests",
            "Requests answered, by route and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.request_latency = Histogram(
            "gateway_http_request_seconds",
            "Time to answer a request.",
            ["route"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.orders = Counter(
            "gateway_orders",
            "Place-order calls by tenant, account and outcome (placed, unknown, rejected, "
            "replayed, ...).",
            ["tenant", "account", "outcome"],
            registry=self.registry,
        )
        self.provider_latency = Histogram(
            "gateway_provider_request_seconds",
            "Time of each provider call, by account, operation and outcome.",
            ["account", "operation", "outcome"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.provider_errors = Counter(
            "gateway_provider_errors",
            "Provider calls that did not succeed, by account and code (the HTTP status, or "
            "timeout, connect_error, transport_error).",
            ["account", "code"],
            registry=self.registry,
        )
        self.token_renewals = Counter(
            "gateway_provider_token_exchanges",
            "API-key exchanges for a provider token, by reason (first_use, expiry, rejected).",
            ["account", "reason"],
            registry=self.registry,
        )

        self.deliveries = Counter(
            "gateway_webhook_deliveries",
            "Tenant webhook delivery attempts by outcome (delivered, retry, dead, gone).",
            ["outcome"],
            registry=self.registry,
        )
        self.delivery_seconds = Histogram(
            "gateway_webhook_delivery_seconds",
            "Time of each tenant webhook delivery attempt, by outcome.",
            ["outcome"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.outbox_messages = Gauge(
            "gateway_outbox_messages",
            "Tenant webhook messages not yet delivered, by state: pending (waiting for their "
            "time or their turn), delivering, failed (dead letters an operator may replay).",
            ["state"],
            registry=self.registry,
        )
        self.outbox_read_at = float("-inf")  # monotonic time the two below were last read
        self.outbox_oldest = Gauge(
            "gateway_outbox_oldest_pending_seconds",
            "Age of the oldest pending message (0 when there is none): how far behind the "
            "outbox is.",
            registry=self.registry,
        )
        self.provider_webhooks = Counter(
            "gateway_provider_webhooks",
            "Provider webhooks received, by outcome (applied, duplicate, forged, malformed).",
            ["account", "outcome"],
            registry=self.registry,
        )

        self.unresolved = Gauge(
            "gateway_orders_unresolved",
            "Orders the gateway has not settled by itself, by state: resending (outcome "
            "unknown, being re-sent), awaiting_webhook (placed, no provider id yet), "
            "operator (needs `gateway orders resolve`).",
            ["state"],
            registry=self.registry,
        )
        self.unresolved_age = Gauge(
            "gateway_orders_unresolved_oldest_seconds",
            "Age of the oldest unresolved order in each state (0 when there is none).",
            ["state"],
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
