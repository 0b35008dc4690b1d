"""Tenant webhooks out: the outbox (events written in the transaction that causes
them), subscriptions and their secrets, and the dispatcher that signs and delivers.

Owns the tables subscriptions, messages and delivery_attempts. May import storage,
the domain and the hooks; never the orders or the HTTP edge.
"""
