from enum import StrEnum


class CatalogItemPriceList(StrEnum):
    GLOBAL = "global"
    PERSONAL = "personal"

    def __str__(self) -> str:
        return str(self.value)
