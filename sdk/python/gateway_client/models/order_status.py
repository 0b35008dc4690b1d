from enum import StrEnum


class OrderStatus(StrEnum):
    COMPLETED = "completed"
    FAILED = "failed"
    PARTIAL = "partial"
    PENDING = "pending"
    PROCESSING = "processing"
    UNKNOWN = "unknown"

    def __str__(self) -> str:
        return str(self.value)
