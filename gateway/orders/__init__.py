"""The order pipeline and its ledger: placing (desk), the ledger and idempotency
keys (ledger), what becomes of an order (outcomes), finding out what became of the
unknown ones (resolution, reconcile), and which gateway processes are alive
(instances).

Owns the tables orders, idempotency_keys, provider_events and gateway_instances.
May import storage, the domain, the provider door, the outbox and the hooks; never
the HTTP edge.
"""
