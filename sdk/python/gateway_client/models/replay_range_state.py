from enum import StrEnum


class ReplayRangeState(StrEnum):
    ALL = "all"
    DELIVERED = "delivered"
    FAILED = "failed"

    def __str__(self) -> str:
        return str(self.value)
