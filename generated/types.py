"""Contains some shared types for properties"""

from collections.abc import Mapping, MutableMapping
from http import HTTPStatus
from typing import IO, Any, BinaryIO, Generic, Literal, Protocol, TypeVar

from attrs import define


class Unset:
    def __bool__(self) -> Literal[False]:
        return False


UNSET: Unset = Unset()

# The types that `httpx.Client(files=)` can accept, copied from that library.
FileContent = IO[bytes] | bytes | str
FileTypes = (
    # (filename, file (or bytes), content_type)
    tuple[str | None, FileContent, str | None]
    # (filename, file (or bytes), content_type, headers)
    | tuple[str | None, FileContent, str | None, Mapping[str, str]]
)
RequestFiles = list[tuple[str, FileTypes]]


@define
class File:
    """Contains information for file uploads"""

    payload: BinaryIO
    file_name: str | None = None
    mime_type: str | None = None

    def to_tuple(self) -> FileTypes:
        """Return a tuple representation that httpx will accept for multipart/form-data"""
        return self.file_name, self.payload, self.mime_type


T = TypeVar("T")


class RawResponse(Protocol):
    """What an endpoint reads from an answer: an httpx.Response, or what an AsyncSender returns"""

    @property
    def status_code(self) -> int: ...

    @property
    def content(self) -> bytes: ...

    @property
    def headers(self) -> MutableMapping[str, str]: ...

    def json(self) -> Any: ...


class AsyncSender(Protocol):
    """An async transport a client may use instead of its httpx.AsyncClient (`set_async_sender`).

    It gets what `httpx.AsyncClient.request` would get (`method`, a `url` relative to the
    client's base URL, and `params`, `json`, `content`, `data`, `files`, `headers`,
    `cookies` when the operation has them) and raises httpx's exceptions
    (`httpx.TimeoutException`, `httpx.ConnectError`, `httpx.TransportError`), so that
    callers see one set of errors whichever transport runs.
    """

    async def __call__(
        self, *, method: str, url: str, **kwargs: Any
    ) -> RawResponse: ...


@define
class Response(Generic[T]):
    """A response from an endpoint"""

    status_code: HTTPStatus
    content: bytes
    headers: MutableMapping[str, str]
    parsed: T | None


__all__ = [
    "UNSET",
    "AsyncSender",
    "File",
    "FileTypes",
    "RawResponse",
    "RequestFiles",
    "Response",
    "Unset",
]
