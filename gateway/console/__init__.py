"""`/console`: the gateway's web console, for the teams and the operators.

Server-rendered pages (Jinja templates, one stylesheet, no script needed), served by the
gateway itself with nothing fetched from elsewhere. Every page reads and acts through the
tenant API's own handlers as the signed-in token (gateway/console/calls.py), so the
console can do exactly what that token can do through the API, and nothing more.
"""

from __future__ import annotations

from importlib import resources
from urllib.parse import urlencode

from aiohttp import web

from gateway.clock import Clock
from gateway.console import operators, team
from gateway.console.pages import REASONS, Visit, console_page, foreign
from gateway.console.render import SECURITY_HEADERS, TEMPLATES, environment, page
from gateway.console.session import CLOCK, KEYS, PUBLIC_ORIGIN, SignedOut, current, end, start
from gateway.sealing import Sealer

STATIC = resources.files("gateway.console") / "static"
SESSION_PURPOSE = "gateway console session v1"


async def sign_in_form(request: web.Request) -> web.StreamResponse:
    try:
        current(request)
        raise web.HTTPSeeOther("/console/orders")
    except SignedOut:
        pass
    reason = REASONS.get(request.query.get("reason", ""), "")
    return page(request, "sign_in.html", title="Sign in", reason=reason)


async def sign_in(request: web.Request) -> web.StreamResponse:
    refused = foreign(request)
    if refused is not None:
        return refused
    form = await request.post()
    token = str(form.get("token", ""))
    response = web.HTTPSeeOther("/console/orders")
    try:
        started = bool(token.strip()) and start(request, response, token) is not None
    except SignedOut as out:  # a known token that may not sign in now
        reason = REASONS[out.reason]
        return page(request, "sign_in.html", 401, title="Sign in", reason=reason)
    if not started:
        return page(
            request,
            "sign_in.html",
            401,
            title="Sign in",
            reason="This token is not recognised (wrong, revoked or rotated out). "
            "Paste the whole token, gwt_ included, or ask the operators for a new one.",
        )
    raise response


@console_page
async def sign_out(visit: Visit) -> web.StreamResponse:
    response = web.HTTPSeeOther("/console/sign-in?" + urlencode({"reason": "signed_out"}))
    end(response)
    raise response


async def home(request: web.Request) -> web.StreamResponse:
    raise web.HTTPSeeOther("/console/orders")


async def stylesheet(request: web.Request) -> web.StreamResponse:
    css = (STATIC / "console.css").read_text()
    headers = {**SECURITY_HEADERS, "Cache-Control": "public, max-age=3600"}
    return web.Response(text=css, content_type="text/css", headers=headers)


def setup(app: web.Application, sealer: Sealer, clock: Clock, public_url: str | None) -> None:
    app[KEYS] = sealer.derived(SESSION_PURPOSE)
    app[CLOCK] = clock
    app[PUBLIC_ORIGIN] = public_url or ""
    app[TEMPLATES] = environment(clock)
    app.router.add_routes(
        [
            web.get("/console", home),
            web.get("/console/", home),
            web.get("/console/sign-in", sign_in_form),
            web.post("/console/sign-in", sign_in),
            web.post("/console/sign-out", sign_out),
            web.get("/console/static/console.css", stylesheet),
            *team.routes,
            *operators.routes,
        ]
    )
