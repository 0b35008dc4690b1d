from enum import StrEnum


class EventType(StrEnum):
    ORDER_ACCEPTED = "order.accepted"
    ORDER_COMPLETED = "order.completed"
    ORDER_FAILED = "order.failed"
    ORDER_PARTIAL = "order.partial"
    ORDER_UNKNOWN = "order.unknown"

    def __str__(self) -> str:
        return str(self.value)
