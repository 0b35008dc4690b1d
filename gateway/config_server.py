"""`[server]`: where to listen, and the bounds that keep one client from holding the server.

A request's head must arrive whole within `header_timeout_seconds` of its first
byte (slow-header attacks); a connection with no request for
`idle_timeout_seconds` is closed; past `max_connections` open connections per
process a new one is answered 503 and closed at once.

`tenant_reads_per_second` and `tenant_writes_per_second` bound what one tenant may
ask of one process (gateway/ratelimit.py). Reads are bounded by default because a
client polling a list as fast as it is answered otherwise takes a third of the event
loop that places every tenant's orders (docs/performance.md, "Growth"); 50 a second
is far above what a console or a reconciliation script needs. Writes are not bounded
by default: placing is what the gateway is for, and the spend limits bound its money.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.util import find_spec
from typing import Any
from urllib.parse import urlsplit

from gateway.config_fields import ConfigError, _int, _number, _only, _str


@dataclass(frozen=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 8080
    max_body_bytes: int = 64 * 1024
    header_timeout_seconds: float = 10.0
    idle_timeout_seconds: float = 60.0
    max_connections: int = 1000
    tenant_reads_per_second: int = 50  # 0: no bound
    tenant_writes_per_second: int = 0  # 0: no bound
    # where browsers reach this gateway, when a proxy in front of it ends HTTPS: the
    # console checks forms' Origin against it and marks its cookie Secure
    public_url: str | None = None
    # the event loop `gateway serve` runs on: "uvloop" (libuv; the default where it is
    # installed, as it is with the gateway but on Windows; docs/performance.md) or
    # "asyncio" (the standard library's)
    event_loop: str = "uvloop" if find_spec("uvloop") else "asyncio"


def server_config(raw: dict[str, Any]) -> ServerConfig:
    _only(raw, "server", set(ServerConfig.__dataclass_fields__))
    port = _int(raw, "server", "port", 8080)
    if not 0 <= port <= 65535:
        raise ConfigError("server.port", "a TCP port between 0 and 65535")
    body = _int(raw, "server", "max_body_bytes", 64 * 1024)
    if body < 1024:
        raise ConfigError("server.max_body_bytes", "at least 1024")
    header = _number(raw, "server", "header_timeout_seconds", 10.0)
    idle = _number(raw, "server", "idle_timeout_seconds", 60.0)
    if not 0 < header <= 300 or not 0 < idle <= 3600:
        raise ConfigError(
            "server",
            "header_timeout_seconds is above 0 and at most 300, idle_timeout_seconds above 0"
            " and at most 3600",
        )
    connections = _int(raw, "server", "max_connections", 1000)
    if connections < 1:
        raise ConfigError("server.max_connections", "at least 1")
    rates = {}
    for key in ("tenant_reads_per_second", "tenant_writes_per_second"):
        rates[key] = _int(raw, "server", key, getattr(ServerConfig, key))
        if rates[key] < 0:
            raise ConfigError(f"server.{key}", "0 (no bound) or more requests a second")
    public = raw.get("public_url")
    if public is not None:
        parts = urlsplit(public) if isinstance(public, str) else None
        if (
            parts is None
            or parts.scheme not in ("http", "https")
            or not parts.netloc
            or parts.path not in ("", "/")
            or parts.query
            or "@" in parts.netloc
        ):
            raise ConfigError(
                "server.public_url", "the origin browsers use, such as https://gateway.example"
            )
        public = f"{parts.scheme}://{parts.netloc}"
    return ServerConfig(
        _str(raw, "server", "host", "127.0.0.1"),
        port,
        body,
        header,
        idle,
        connections,
        **rates,
        public_url=public,
        event_loop=_event_loop(raw),
    )


def _event_loop(raw: dict[str, Any]) -> str:
    loop = _str(raw, "server", "event_loop", ServerConfig.event_loop)
    if loop not in ("uvloop", "asyncio"):
        raise ConfigError("server.event_loop", "'uvloop' or 'asyncio'")
    if loop == "uvloop" and not find_spec("uvloop"):
        raise ConfigError("server.event_loop", "uvloop is not installed here: use 'asyncio'")
    return loop
