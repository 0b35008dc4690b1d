"""Run time administration: tenants, tokens and per-tenant plugin policies in the database.

`store` holds the SQL, `service` the rules an admin change obeys (the admin
API and the local CLI both go through it), `watch` keeps every replica's
copy current, and `declared` compares the config file with the database
(`gateway config diff|apply`).
"""
