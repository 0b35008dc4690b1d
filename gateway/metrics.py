"""Prometheus metrics, one registry per app (two apps in one test process never share counts)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
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
            "Place-order calls by outcome (placed, unknown, rejected, replayed, ...).",
            ["account", "outcome"],
            registry=self.registry,
        )
        self.provider_latency = Histogram(
            "gateway_provider_request_seconds",
            "Time of each provider call, by account, operation and outcome.",
            ["account", "operation", "outcome"],
            buckets=_LATENCY_BUCKETS,
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
