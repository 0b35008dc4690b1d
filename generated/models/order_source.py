from enum import StrEnum


class OrderSource(StrEnum):
    API = "api"
    DASHBOARD = "dashboard"

    def __str__(self) -> str:
        return str(self.value)
