"""The provider door: the only package that imports the generated client
(`generated/`, in accounts and convert), its aiohttp transport, and the catalog
snapshots.

Owns no table. May import the domain, config, errors and metrics; nothing of the
orders, the outbox or the HTTP edge.
"""
