"""Where a tenant's webhook endpoint may be: the operator's rules, checked twice.

A webhook is a request the gateway makes on a tenant's say-so, from inside the
operator's network; unchecked, any tenant could make the gateway call its own
admin routes, the provider's, a cloud metadata service or a database port, and
read the answer back in the delivery log (server-side request forgery). So:

- at subscribe time the URL is refused (422 `destination_not_allowed`, naming
  the rule) unless it is http(s), has no user info, uses an allowed port, and
  its host, or every address its name resolves to, is allowed;
- at every connection the resolved address is checked again (a name that
  resolved to a public address at subscribe time may point at 127.0.0.1 now:
  DNS rebinding), and redirects are never followed, so the check holds for the
  address actually connected to.

Allowed: a `allow`-listed range or host name; else public addresses (unless
`allow_public = false`). Refused unless listed: loopback, link-local (cloud
metadata at 169.254.169.254 included), private and other non-global ranges,
unspecified and multicast. Always refused, listed or not: the gateway's own
listening addresses and the provider's, since a webhook there has no use but
abuse (a loop, or a tenant reaching the provider's admin surface).
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import re
import socket
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult

from gateway.config_webhooks import DestinationsConfig

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
# IPv4 written in a form other than four decimal numbers (2130706433, 0x7f.1, 017.0.0.1):
# resolvers read these as addresses; so do we, to judge them, but we refuse to store them.
_NUMERIC_HOST = re.compile(r"^(0x[0-9a-f]*|\d+)(\.(0x[0-9a-f]*|\d+)){0,3}\.?$", re.IGNORECASE)


RESOLVE_SECONDS = 2.0  # past it, a name is let through and judged at every connection


class DestinationRefused(Exception):
    """A destination the rules do not allow; `rule` names the rule, for the tenant."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message


def _address(text: str) -> Address | None:
    text = text.strip("[]")
    if ":" in text:  # a zone (fe80::1%eth0) belongs to IPv6 text only
        text = text.split("%", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    return address


# IPv6 ranges that carry or reach an IPv4 address (NAT64, 6to4, IPv4-compatible, SIIT)
# or are deprecated (site-local): judged as what they may reach, never as public.
_TRANSLATED = tuple(
    ipaddress.ip_network(n)
    for n in (
        "64:ff9b::/96", "64:ff9b:1::/48", "2002::/16", "::/96", "::ffff:0:0:0/96", "fec0::/10",
    )
)  # fmt: skip


def _kind(address: Address) -> str | None:
    """The rule that refuses this address by default, or None for a public one."""
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link_local"
    if address.is_unspecified:
        return "unspecified"
    if address.is_multicast:
        return "multicast"
    if address.is_private:
        return "private"
    if not address.is_global or (
        isinstance(address, ipaddress.IPv6Address) and any(address in n for n in _TRANSLATED)
    ):
        return "reserved"
    return None


class DestinationPolicy:
    def __init__(self, config: DestinationsConfig) -> None:
        self.config = config
        self._networks = []
        self._names: list[str] = []
        for entry in config.allow:
            try:
                self._networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                self._names.append(entry)
        # (address, port) pairs that are always refused; port 0 means any port
        self._own: set[tuple[Address, int]] = set()
        self._own_ports: set[int] = set()
        self._own_names: set[tuple[str, int]] = set()
        self.resolve_seconds = RESOLVE_SECONDS

    # --- what is ours ----------------------------------------------------------------

    def forbid_own(self, host: str, port: int) -> None:
        """The gateway listens at host:port (0.0.0.0 or :: : on every address of this
        machine, which loopback stands for here, since we cannot list them all)."""
        address = _address(host)
        if address is None:
            self._own_names.add((host.lower().rstrip("."), port))
            self._own_ports.add(port)  # a name for this machine: its local spellings too
        elif address.is_unspecified:
            self._own_ports.add(port)
        else:
            self._own.add((address, port))

    def forbid_url(self, url: str) -> None:
        """A service behind this URL (the provider) is never a webhook destination."""
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        host = (parts.hostname or "").rstrip(".")
        address = _address(host)
        if address is not None and address.is_unspecified:
            self._own_ports.add(port)  # listening everywhere: every local spelling is it
        elif address is not None:
            self._own.add((address, port))
        elif host == "localhost" or host.endswith(".localhost"):
            self._own.add((ipaddress.ip_address("127.0.0.1"), port))
            self._own.add((ipaddress.ip_address("::1"), port))
        else:
            self._own_names.add((host.lower(), port))

    # --- the checks ------------------------------------------------------------------

    def parse(self, url: str) -> tuple[str, int, str]:
        """Scheme, user info, port and the form of the host: (host, port, scheme), or refused."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise DestinationRefused(
                "url", "not a valid URL (check the host and the port)"
            ) from None
        if parts.scheme not in ("http", "https"):
            raise DestinationRefused("scheme", "only http:// and https:// URLs")
        if parts.username is not None or parts.password is not None:
            raise DestinationRefused(
                "user_info",
                "no user name or password in the URL; authenticate the gateway by the "
                "webhook signature instead",
            )
        host = (parts.hostname or "").lower()
        if not host:
            raise DestinationRefused("url", "the URL has no host")
        if ":" in host and _address(host) is None:
            # aiohttp takes any host with a colon for an address and connects without asking
            # a resolver, so a bracketed name (IPvFuture) would skip the check at connection
            raise DestinationRefused("url", "a bracketed host must be an IPv6 address")
        host = host.rstrip(".")  # `localhost.` is localhost
        if not host:
            raise DestinationRefused("url", "the URL has no host")
        if _address(host) is None and _NUMERIC_HOST.match(host):
            raise DestinationRefused(
                "ambiguous_address",
                "write an IPv4 address as four decimal numbers, such as 192.0.2.10",
            )
        port = port if port is not None else (443 if parts.scheme == "https" else 80)
        if not any(low <= port <= high for low, high in self.config.allowed_ports):
            allowed = ", ".join(
                str(low) if low == high else f"{low}-{high}"
                for low, high in self.config.allowed_ports
            )
            raise DestinationRefused("port", f"port {port} is not allowed; allowed: {allowed}")
        return host, port, parts.scheme

    def is_own_name(self, host: str, port: int) -> bool:
        return (host.lower().rstrip("."), port) in self._own_names

    def name_allowed(self, host: str) -> bool:
        for entry in self._names:
            if entry.startswith("*."):
                if host.endswith(entry[1:]) and host != entry[2:]:
                    return True
            elif host == entry:
                return True
        return False

    def check_address(self, address: Address, port: int, *, name_allowed: bool = False) -> None:
        if (address, port) in self._own or (
            port in self._own_ports and (address.is_loopback or address.is_unspecified)
        ):
            raise DestinationRefused(
                "gateway_itself", "the gateway's own or its provider's address is never a webhook"
            )
        if name_allowed or any(address in network for network in self._networks):
            return
        kind = _kind(address)
        if kind is not None:
            raise DestinationRefused(
                kind,
                f"{address} is a {kind.replace('_', '-')} address, which the operator has not "
                "allowed ([webhooks.destinations] allow)",
            )
        if not self.config.allow_public:
            raise DestinationRefused(
                "public",
                f"{address} is a public address; this gateway sends webhooks only to the "
                "networks its operator listed ([webhooks.destinations] allow)",
            )

    def check_literal(self, url: str) -> tuple[str, int] | None:
        """Everything that can be judged without resolving a name. Returns (host, port)
        when the host is a name still to be resolved, else None (fully checked)."""
        host, port, _ = self.parse(url)
        if self.is_own_name(host, port):
            raise DestinationRefused("gateway_itself", "the provider's address is never a webhook")
        address = _address(host)
        if address is None and _NUMERIC_HOST.match(host) is None:
            if host == "localhost" or host.endswith(".localhost"):
                address = ipaddress.ip_address("127.0.0.1")
            else:
                return host, port
        assert address is not None
        self.check_address(address, port)
        return None

    async def check(self, url: str, resolver: AbstractResolver) -> None:
        """The subscribe-time check: the URL, then every address its name has now. A name
        that does not resolve now is let through; it is checked at every connection."""
        pending = self.check_literal(url)
        if pending is None:
            return
        host, port = pending
        if self.name_allowed(host):
            return
        try:
            async with asyncio.timeout(self.resolve_seconds):
                resolved = await resolver.resolve(host, port, socket.AF_UNSPEC)
        except (OSError, TimeoutError):
            return
        for entry in resolved:
            address = _address(entry["host"])
            if address is None:
                continue
            try:
                self.check_address(address, port)
            except DestinationRefused as exc:
                # the rule, not the address: the check must not tell a tenant what names
                # inside the operator's network resolve to
                raise DestinationRefused(
                    exc.rule, f"{host} resolves to an address the rules refuse ({exc.rule})"
                ) from None


class GuardedResolver(AbstractResolver):
    """Resolves through `inner`, then keeps only addresses the policy allows: the
    connection-time check, on the address aiohttp will connect to."""

    def __init__(self, inner: AbstractResolver, policy: DestinationPolicy) -> None:
        self.inner = inner
        self.policy = policy

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if self.policy.is_own_name(host, port):
            raise OSError(errno.EACCES, "destination not allowed: the gateway or its provider")
        results = await self.inner.resolve(host, port, family)
        allowed = self.policy.name_allowed(host.lower().rstrip("."))
        kept: list[ResolveResult] = []
        refused: DestinationRefused | None = None
        for entry in results:
            address = _address(entry["host"])
            try:
                if address is None:
                    raise DestinationRefused("url", f"{entry['host']!r} is not an address")
                self.policy.check_address(address, port, name_allowed=allowed)
            except DestinationRefused as exc:
                refused = exc
                continue
            kept.append(entry)
        if not kept:
            rule = refused.rule if refused else "no address"
            # errno and text both: aiohttp shows the text (strerror) in the connection error;
            # the rule, not the address (see `check`)
            raise OSError(errno.EACCES, f"destination not allowed ({rule}): {host}")
        return kept

    async def close(self) -> None:
        await self.inner.close()


class StaticResolver(AbstractResolver):
    """Names from a table, never the network: tests and fuzzers resolve through this, so
    that no lookup leaves the machine. `localhost` is 127.0.0.1; other names fail."""

    def __init__(self, names: dict[str, Iterable[str]] | None = None) -> None:
        self.names = {"localhost": ["127.0.0.1"], **{k: list(v) for k, v in (names or {}).items()}}

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        addresses = self.names.get(host.lower())
        if addresses is None and _address(host) is not None:
            addresses = [host]
        if not addresses:
            raise OSError(f"{host}: no such name (test resolver)")
        return [_result(host, a, port) for a in addresses]

    async def close(self) -> None:
        return None


def _result(host: str, address: str, port: int) -> Any:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    return {
        "hostname": host,
        "host": address,
        "port": port,
        "family": family,
        "proto": 0,
        "flags": socket.AI_NUMERICHOST,
    }
