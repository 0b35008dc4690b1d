-- A tenant's own request rates, set at run time through the admin API (JSON:
-- {"reads_per_second": N, "writes_per_second": M}; a key left out: [server]'s default).
ALTER TABLE tenants ADD COLUMN rates TEXT
