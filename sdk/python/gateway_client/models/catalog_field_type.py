from enum import StrEnum


class CatalogFieldType(StrEnum):
    CHOICE = "choice"
    TEXT = "text"

    def __str__(self) -> str:
        return str(self.value)
