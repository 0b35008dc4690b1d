"""Signing in to the console: a gateway token in, a session cookie out.

The cookie holds the token's hash, a CSRF secret and when it was made, encrypted and
authenticated with a key derived from the seal keys (so every replica opens it and a
rotation of the seal keys rotates it). It never holds the token. Each request looks the
hash up in the tenant directory again: a revoked token, a disabled tenant or an expired
token ends the session at its next click, on every replica, with no session table.
The cookie is HttpOnly, SameSite=Strict and Path=/console, Secure behind HTTPS, and
lasts `SESSION_HOURS`; signing out clears it.
"""

from __future__ import annotations

import hmac
import json
import secrets
from dataclasses import dataclass

from aiohttp import web
from cryptography.fernet import InvalidToken, MultiFernet

from gateway.api.edge import SESSION_CREDENTIAL, TENANTS
from gateway.clock import Clock
from gateway.tenants import Credential, token_hash

COOKIE = "gateway_console"
SESSION_HOURS = 8
KEYS = web.AppKey("console_keys", MultiFernet)
CLOCK = web.AppKey("console_clock", Clock)
PUBLIC_ORIGIN = web.AppKey("console_public_origin", str)


@dataclass(frozen=True)
class Session:
    credential: Credential
    csrf: str


class SignedOut(Exception):
    """No session, or one that no longer holds. `reason` is a code of `pages.REASONS`,
    whose fixed wording the sign-in page shows (never text from a URL)."""

    def __init__(self, reason: str = "") -> None:
        super().__init__(reason)
        self.reason = reason


def start(request: web.Request, response: web.StreamResponse, token: str) -> Credential | None:
    """Sign in with `token`: its credential, with the cookie set on `response`; None for
    an unknown token; SignedOut for one that may not sign in now (expired, disabled)."""
    credential = request.app[TENANTS].credential(token.strip())
    if credential is None:
        return None
    when = request.app[CLOCK].now()
    if credential.expires_at is not None and when >= credential.expires_at:
        raise SignedOut("expired")
    if credential.tenant.disabled:
        raise SignedOut("disabled")
    now = int(when.timestamp())
    payload = json.dumps({"h": token_hash(token.strip()), "c": secrets.token_urlsafe(24)})
    sealed = request.app[KEYS].encrypt_at_time(payload.encode(), now).decode()
    response.set_cookie(
        COOKIE,
        sealed,
        max_age=SESSION_HOURS * 3600,
        path="/console",
        httponly=True,
        samesite="Strict",
        secure=origin(request).startswith("https://"),
    )
    return credential


def end(response: web.StreamResponse) -> None:
    response.del_cookie(COOKIE, path="/console")


def current(request: web.Request) -> Session:
    """The request's session, its credential set for the API's own checks; or SignedOut."""
    sealed = request.cookies.get(COOKIE)
    if not sealed:
        raise SignedOut()
    now = int(request.app[CLOCK].now().timestamp())
    try:
        opened = request.app[KEYS].decrypt_at_time(sealed.encode(), SESSION_HOURS * 3600, now)
        payload = json.loads(opened)
        digest, csrf = payload["h"], payload["c"]
    except (InvalidToken, ValueError, KeyError, TypeError):
        raise SignedOut("ended") from None
    credential = request.app[TENANTS].by_hash(digest)
    if credential is None:
        raise SignedOut("revoked")
    request[SESSION_CREDENTIAL] = credential
    return Session(credential, csrf)


def origin(request: web.Request) -> str:
    """Where browsers reach the console: `[server] public_url` when the gateway is behind a
    proxy that ends HTTPS (the request then says http), else what the request says."""
    public = request.app.get(PUBLIC_ORIGIN)
    return public or f"{request.scheme}://{request.host}"


def cross_site(request: web.Request) -> bool:
    """A browser names the page a form came from (Origin) and whether it was another
    site's (Sec-Fetch-Site): either must say it was this console."""
    sent = request.headers.get("Origin")
    if sent is not None and sent != origin(request):
        return True
    return request.headers.get("Sec-Fetch-Site", "same-origin") == "cross-site"


def form_refusal(request: web.Request, session: Session, sent: object) -> str | None:
    """Why a posted form is refused (another site's, or without this session's CSRF
    token), or None."""
    if cross_site(request):
        return "This form was sent from another site; nothing was done."
    if not isinstance(sent, str) or not hmac.compare_digest(sent, session.csrf):
        return (
            "This form is stale (its CSRF token is not this session's); nothing was done."
            " Reload the page and send it again."
        )
    return None
