"""Pages from Jinja templates, and how money and times read for people.

Server-rendered HTML: no build step, nothing fetched from elsewhere, and every page works
without JavaScript. Autoescaping is on for every template: tenant input (merchant order
ids, URLs, error messages) is shown, never run. Every page is sent with a Content
Security Policy that allows nothing but this gateway's own stylesheet.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import jinja2
from aiohttp import web

from gateway.clock import Clock, parse_rfc3339

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self';"
        " frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£"}
TEMPLATES = web.AppKey("console_templates", jinja2.Environment)


def environment(clock: Clock) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("gateway.console", "templates"),
        autoescape=True,
        undefined=jinja2.ChainableUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["human_money"] = human_money
    env.filters["human_time"] = lambda text: human_time(text, clock.now())
    return env


def human_money(amount: str, currency: str | None) -> str:
    """`1234.5` EUR → `€1,234.50`; the exact decimal is in the element's title."""
    try:
        value = Decimal(amount)
    except (InvalidOperation, TypeError):
        return str(amount)
    symbol = SYMBOLS.get(currency or "")
    text = f"{abs(value):,.2f}"
    sign = "\u2212" if value < 0 else ""  # a minus sign, not a hyphen
    return f"{sign}{symbol}{text}" if symbol else f"{sign}{text} {currency or ''}".strip()


def human_time(text: str, now: datetime) -> str:
    """An RFC 3339 time as `3 min ago`, or the day and minute when older than a day; the
    exact time is in the element's title."""
    try:
        when = parse_rfc3339(text)
    except ValueError:
        return text
    seconds = (now - when).total_seconds()
    ahead = seconds < 0
    seconds = abs(seconds)
    if seconds < 86400:
        if seconds < 60:
            return "just now" if not ahead else "in a moment"
        amount = f"{int(seconds // 60)} min" if seconds < 3600 else f"{int(seconds // 3600)} h"
        return f"in {amount}" if ahead else f"{amount} ago"
    return when.astimezone(UTC).strftime("%d %b %Y, %H:%M UTC")


def page(request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
    html = request.app[TEMPLATES].get_template(template).render(**context)
    return web.Response(
        text=html, status=status, content_type="text/html", headers=SECURITY_HEADERS
    )
