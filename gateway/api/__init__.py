"""The tenant-facing HTTP edge: routes, request ids and errors as JSON, query
parameters, the JSON views of orders and items, the provider's webhook intake, the
operators' routes, and the tenant API's OpenAPI document (tenant-api.yaml).

Owns no table: handlers call the order desk, the outbox and the ledger's methods and
hold no SQL. May import the domain, the orders, outbox, provider and hooks packages;
nothing imports it but the app factory and plugin_api (for `authenticate`).
"""
