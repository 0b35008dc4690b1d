from enum import StrEnum


class ProductType(StrEnum):
    KEY = "key"
    SERVICE = "service"
    TOPUP = "topup"

    def __str__(self) -> str:
        return str(self.value)
