"""What every console page shares: the signed-in check, the form check, the page context.

A handler written with `@console_page` gets a `Visit`: who is signed in, the API to ask
(as that token), and the form if one was posted (its CSRF token already checked). A
session that no longer holds, or an API answer of 401 or `tenant_disabled`, sends the
browser to the sign-in page with the reason, its cookie cleared.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from multidict import MultiDictProxy

from gateway.console.calls import Answer, Api
from gateway.console.render import page
from gateway.console.session import (
    Session,
    SignedOut,
    cross_site,
    current,
    end,
    form_refusal,
)
from gateway.tenants import Tenant

# Reasons and notices travel as codes, never as text from the URL: a link cannot make the
# console say something it did not.
REASONS = {
    "ended": "Your session has ended; sign in again.",
    "revoked": "Your token was revoked or rotated out; sign in with a current one.",
    "expired": "Your token has expired; sign in with a current one, or ask the operators.",
    "disabled": "Your team's tenant is disabled; ask the operators to enable it.",
    "signed_out": "You are signed out.",
}
NOTICES = {
    "test_sent": "Test event queued: it shows in the attempts below within seconds.",
    "replayed": "Queued again: the attempts below show each try.",
    "saved": "Saved.",
    "rotated": "Secret rotated.",
    "revoked": "Token revoked: it stops working on every replica within a second.",
    "resolved": "Order resolved.",
    "subscribed": "Endpoint added.",
}


@dataclass
class Visit:
    request: web.Request
    session: Session
    api: Api
    form: MultiDictProxy[Any] | None = None
    context: dict[str, Any] = field(default_factory=dict)

    @property
    def tenant(self) -> Tenant:
        return self.session.credential.tenant

    async def ask(self, method: str, path: str, **kwargs: Any) -> Answer:
        """The API's answer as this session's token; signed out when the API refuses it."""
        answer = await self.api.call(method, path, **kwargs)
        if answer.error.get("code") == "tenant_disabled":
            raise SignedOut("disabled")
        if answer.status == 401:
            expired = "expired" in answer.error.get("message", "")
            raise SignedOut("expired" if expired else "revoked")
        return answer

    def render(
        self, template: str, section: str, status: int = 200, **context: Any
    ) -> web.Response:
        done = self.request.query.get("done", "")
        return page(
            self.request,
            template,
            status,
            session=self.session,
            tenant=self.tenant,
            section=section,
            notice=NOTICES.get(done),
            **context,
        )


def back(path: str, done: str | None = None, **query: str) -> web.HTTPSeeOther:
    """After a form: see the page again (POST, redirect, GET), with a notice code."""
    query = {k: v for k, v in query.items() if v}
    if done:
        query["done"] = done
    return web.HTTPSeeOther(path + ("?" + urlencode(query) if query else ""))


def sign_in_again(reason: str) -> web.HTTPSeeOther:
    query = {"reason": reason if reason in REASONS else "ended"}
    response = web.HTTPSeeOther("/console/sign-in?" + urlencode(query))
    end(response)
    return response


def foreign(request: web.Request) -> web.Response | None:
    """The sign-in form has no session to hold a CSRF token: Origin, Sec-Fetch-Site and
    the cookie's SameSite=Strict are its guard."""
    if cross_site(request):
        return page(
            request, "refused.html", 403, title="Refused",
            message="This form was sent from another site; nothing was done.",
        )  # fmt: skip
    return None


def console_page(
    handler: Callable[[Visit], Awaitable[web.StreamResponse]],
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        api = Api(request)  # before the form is read: only an unread request can be cloned
        try:
            session = current(request)
        except SignedOut as out:
            raise sign_in_again(out.reason or "ended") from None
        api.credential = session.credential
        visit = Visit(request, session, api)
        if request.method == "POST":
            visit.form = await request.post()
            refused = form_refusal(request, session, visit.form.get("csrf"))
            if refused is not None:
                return page(request, "refused.html", 403, title="Refused", message=refused)
        try:
            return await handler(visit)
        except SignedOut as out:
            raise sign_in_again(out.reason or "ended") from None

    return wrapped
