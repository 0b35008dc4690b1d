from enum import StrEnum


class DecisionOutcome(StrEnum):
    ALLOWED = "allowed"
    FAILED = "failed"
    NOTIFIED = "notified"
    REJECTED = "rejected"
    RESERVED = "reserved"
    SELECTED = "selected"
    SETTLED = "settled"
    WOULD_REJECT = "would_reject"

    def __str__(self) -> str:
        return str(self.value)
