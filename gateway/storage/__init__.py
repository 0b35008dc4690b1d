"""Storage behind one interface, two engines: SQLite (embedded default) and PostgreSQL."""

from gateway.storage.database import (
    Database,
    Row,
    StorageUnavailable,
    Transaction,
    open_database,
)

__all__ = ["Database", "Row", "StorageUnavailable", "Transaction", "open_database"]
