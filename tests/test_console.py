"""The console's rules, over HTTP: sign-in and its cookie, CSRF, expiry, revocation, and no
back door (a page can do only what its token can do through the API).

What a person sees and clicks is tests/test_console_browser.py, in a real browser.
"""

from __future__ import annotations

import re

import aiohttp
import pytest

from gateway.console.session import COOKIE, SESSION_HOURS
from gateway.sandbox import Faults
from gateway.state import RESOLVER
from gateway.testing import TOKENS
from tests.conftest import Gateway, GatewayFactory


async def signed_in(gateway: Gateway, tenant: str = "shop") -> aiohttp.ClientSession:
    """A browser-like session (its own cookie jar) signed in as `tenant`."""
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    answer = await http.post(
        f"{gateway.url}/console/sign-in", data={"token": TOKENS[tenant]}, allow_redirects=False
    )
    assert answer.status == 303 and answer.headers["Location"] == "/console/orders"
    return http


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


async def test_signing_in_sets_a_strict_httponly_cookie_holding_no_token(
    gateway: Gateway,
) -> None:
    async with aiohttp.ClientSession() as http:
        answer = await http.post(
            f"{gateway.url}/console/sign-in",
            data={"token": TOKENS["shop"]},
            allow_redirects=False,
        )
    assert answer.status == 303
    cookie = answer.headers["Set-Cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    for attribute in (
        "HttpOnly",
        "SameSite=Strict",
        "Path=/console",
        f"Max-Age={SESSION_HOURS * 3600}",
    ):
        assert attribute in cookie, cookie
    assert TOKENS["shop"] not in cookie and "shop" not in cookie.split(";")[0]


async def test_a_wrong_token_is_refused_on_the_sign_in_page(gateway: Gateway) -> None:
    async with aiohttp.ClientSession() as http:
        answer = await http.post(f"{gateway.url}/console/sign-in", data={"token": "gwt_nope"})
        html = await answer.text()
    assert answer.status == 401
    assert "This token is not recognised" in html and COOKIE not in answer.headers.get(
        "Set-Cookie", ""
    )


async def test_pages_need_a_session_and_send_the_browser_to_sign_in(gateway: Gateway) -> None:
    async with aiohttp.ClientSession() as http:
        answer = await http.get(f"{gateway.url}/console/orders", allow_redirects=False)
    assert answer.status == 303
    assert answer.headers["Location"] == "/console/sign-in?reason=ended"


async def test_the_orders_page_shows_the_tenants_orders_and_only_theirs(gateway: Gateway) -> None:
    mine = (await gateway.place(item_id=1001, merchant_order_id="mine-1")).body
    theirs = (await gateway.place("games", item_id=1001, merchant_order_id="theirs-1")).body
    http = await signed_in(gateway)
    async with http:
        html = await (await http.get(f"{gateway.url}/console/orders")).text()
        assert mine["id"] in html and "mine-1" in html
        assert theirs["id"] not in html and "theirs-1" not in html
        page = await http.get(f"{gateway.url}/console/orders/{theirs['id']}")
        assert page.status == 404  # the API's own answer for another tenant's order
        assert "no order" in await page.text()


async def test_a_filter_the_api_refuses_is_shown_with_the_apis_words(gateway: Gateway) -> None:
    http = await signed_in(gateway)
    async with http:
        answer = await http.get(f"{gateway.url}/console/orders?item_id=abc")
        html = await answer.text()
    assert answer.status == 400  # the API's status for it
    assert 'role="alert"' in html and "item_id" in html


async def test_a_tenant_cannot_open_admin_pages_nor_post_their_forms(gateway: Gateway) -> None:
    http = await signed_in(gateway)
    async with http:
        page = await http.get(f"{gateway.url}/console/admin/tenants")
        assert page.status == 403
        html = await (await http.get(f"{gateway.url}/console/orders")).text()
        posted = await http.post(
            f"{gateway.url}/console/admin/tenants",
            data={"csrf": csrf_of(html), "name": "sneaky", "accounts": "main"},
        )
        assert posted.status == 403
    listed = await gateway.call("GET", "/v1/admin/tenants", "ops")
    assert "sneaky" not in {t["name"] for t in listed.body["data"]}


async def test_a_form_without_this_sessions_csrf_token_does_nothing(gateway: Gateway) -> None:
    http = await signed_in(gateway)
    async with http:
        for data in ({}, {"csrf": "forged"}):
            answer = await http.post(
                f"{gateway.url}/console/subscriptions",
                data={**data, "url": "http://127.0.0.1:9/h"},
            )
            assert answer.status == 403
            assert "CSRF" in await answer.text()
        html = await (await http.get(f"{gateway.url}/console/orders")).text()
        other_site = await http.post(
            f"{gateway.url}/console/subscriptions",
            data={"csrf": csrf_of(html), "url": "http://127.0.0.1:9/h"},
            headers={"Origin": "https://evil.example"},
        )
        assert other_site.status == 403
    assert (await gateway.call("GET", "/v1/subscriptions")).body["data"] == []


async def test_the_session_ends_after_its_hours(gateway: Gateway) -> None:
    http = await signed_in(gateway)
    async with http:
        assert (
            await http.get(f"{gateway.url}/console/orders", allow_redirects=False)
        ).status == 200
        gateway.provider.clock.advance(SESSION_HOURS * 3600 + 1)
        answer = await http.get(f"{gateway.url}/console/orders", allow_redirects=False)
    assert answer.status == 303 and "reason=ended" in answer.headers["Location"]


async def test_revoking_the_token_signs_the_session_out(gateway: Gateway) -> None:
    http = await signed_in(gateway)
    async with http:
        assert (
            await http.get(f"{gateway.url}/console/orders", allow_redirects=False)
        ).status == 200
        tokens = await gateway.call("GET", "/v1/admin/tenants/shop/tokens", "ops")
        (token,) = tokens.body["data"]
        revoked = await gateway.call(
            "DELETE", f"/v1/admin/tenants/shop/tokens/{token['id']}", "ops"
        )
        assert revoked.status == 204
        answer = await http.get(f"{gateway.url}/console/orders", allow_redirects=False)
        assert answer.status == 303 and "reason=revoked" in answer.headers["Location"]
        assert (
            f"{COOKIE}=;" in answer.headers["Set-Cookie"]
            or "Max-Age=0" in answer.headers["Set-Cookie"]
        )


async def test_signing_out_clears_the_cookie(gateway: Gateway) -> None:
    http = await signed_in(gateway)
    async with http:
        html = await (await http.get(f"{gateway.url}/console/orders")).text()
        out = await http.post(
            f"{gateway.url}/console/sign-out", data={"csrf": csrf_of(html)}, allow_redirects=False
        )
        assert out.status == 303 and "reason=signed_out" in out.headers["Location"]
        again = await http.get(f"{gateway.url}/console/orders", allow_redirects=False)
    assert again.status == 303


async def test_pages_forbid_scripts_and_framing(gateway: Gateway) -> None:
    async with aiohttp.ClientSession() as http:
        answer = await http.get(f"{gateway.url}/console/sign-in")
    policy = answer.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert "<script" not in await answer.text()


async def test_tenant_input_is_shown_escaped(gateway: Gateway) -> None:
    await gateway.place(item_id=1001, merchant_order_id="<script>alert(1)</script>")
    http = await signed_in(gateway)
    async with http:
        html = await (await http.get(f"{gateway.url}/console/orders")).text()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


async def test_an_admin_revoking_its_own_session_token_is_refused_as_through_the_api(
    gateway: Gateway,
) -> None:
    http = await signed_in(gateway, "ops")
    async with http:
        tokens = await gateway.call("GET", "/v1/admin/tenants/ops/tokens", "ops")
        (token,) = tokens.body["data"]
        html = await (await http.get(f"{gateway.url}/console/admin/tenants/ops")).text()
        answer = await http.post(
            f"{gateway.url}/console/admin/tenants/ops/tokens/{token['id']}/revoke",
            data={"csrf": csrf_of(html)},
        )
        assert answer.status == 409
        assert "this is the token you are calling with" in await answer.text()


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [("1234.5", "EUR", "€1,234.50"), ("-3", "USD", "\u2212$3.00"), ("7", "SEK", "7.00 SEK")],
)
def test_money_reads_for_people(amount: str, currency: str, shown: str) -> None:
    from gateway.console.render import human_money

    assert human_money(amount, currency) == shown


async def test_an_admin_resolves_an_order_from_the_console(gateway: Gateway) -> None:
    await gateway.call("GET", "/v1/accounts/main/balance")  # the provider token first
    gateway.provider.sandbox.set_faults("main", Faults(error_rate=1.0))  # every answer a 503
    unknown = (await gateway.place(item_id=1001)).body
    assert unknown["status"] == "unknown"
    gateway.provider.clock.advance(3601)  # past the re-send window: the operator's now
    await gateway.app[RESOLVER].run_once()
    http = await signed_in(gateway, "ops")
    async with http:
        html = await (await http.get(f"{gateway.url}/console/admin/unresolved")).text()
        assert unknown["id"][:8] in html and "operator" in html
        resolved = await http.post(
            f"{gateway.url}/console/admin/unresolved/{unknown['id']}/resolve",
            data={"csrf": csrf_of(html), "not_placed": "true"},
        )
        page = await resolved.text()
        assert resolved.status == 200 and "Order resolved." in page
        assert "Nothing to resolve" in page
    order = await gateway.call("GET", f"/v1/orders/{unknown['id']}")
    assert order.body["status"] == "failed" and order.body["error"] == "NOT_PLACED"


@pytest.mark.parametrize("tail", ["%2Fdecisions", "%23", "%3Fx=1", "%2F..%2F..%2Fmetrics"])
async def test_an_id_holding_a_slash_or_a_query_names_no_other_route(
    gateway: Gateway, tail: str
) -> None:
    placed = (await gateway.place(item_id=1001)).body
    sid = await gateway.call("POST", "/v1/subscriptions", json={"url": "http://127.0.0.1:9/h"})
    http = await signed_in(gateway)
    async with http:
        for path in (f"/console/orders/{placed['id']}", f"/console/subscriptions/{sid.body['id']}"):
            answer = await http.get(f"{gateway.url}{path}{tail}")
            assert answer.status == 404, (path, tail, await answer.text())


async def test_the_sign_in_page_shows_only_its_own_words(gateway: Gateway) -> None:
    async with aiohttp.ClientSession() as http:
        page = await http.get(
            f"{gateway.url}/console/sign-in?reason=refused&message=Mail+your+token+to+evil"
        )
        assert "evil" not in await page.text()
        cross = await http.post(
            f"{gateway.url}/console/sign-in",
            data={"token": TOKENS["shop"]},
            headers={"Sec-Fetch-Site": "cross-site"},
            allow_redirects=False,
        )
        assert cross.status == 403 and "Set-Cookie" not in cross.headers


async def test_an_expired_token_or_a_disabled_tenant_cannot_sign_in(gateway: Gateway) -> None:
    disabled = await gateway.call(
        "PATCH", "/v1/admin/tenants/games", "ops", json={"disabled": True}
    )
    assert disabled.status == 200
    async with aiohttp.ClientSession() as http:
        answer = await http.post(
            f"{gateway.url}/console/sign-in", data={"token": TOKENS["games"]}, allow_redirects=False
        )
        assert answer.status == 401 and "disabled" in await answer.text()
        assert "Set-Cookie" not in answer.headers


async def test_behind_a_proxy_that_ends_https_the_public_url_is_the_origin(
    make_gateway: GatewayFactory,
) -> None:
    gateway = await make_gateway(server={"public_url": "https://gateway.example"})
    async with aiohttp.ClientSession() as http:
        answer = await http.post(
            f"{gateway.url}/console/sign-in",
            data={"token": TOKENS["shop"]},
            headers={"Origin": "https://gateway.example"},
            allow_redirects=False,
        )
        assert answer.status == 303 and "Secure" in answer.headers["Set-Cookie"]
        other = await http.post(
            f"{gateway.url}/console/sign-in",
            data={"token": TOKENS["shop"]},
            headers={"Origin": gateway.url},
            allow_redirects=False,
        )
        assert other.status == 403


async def test_an_endpoints_filter_and_rate_are_set_from_its_page(gateway: Gateway) -> None:
    made = await gateway.call("POST", "/v1/subscriptions", json={"url": "http://127.0.0.1:9/h"})
    http = await signed_in(gateway)
    async with http:
        page = f"{gateway.url}/console/subscriptions/{made.body['id']}"
        html = await (await http.get(page)).text()
        form = {"csrf": csrf_of(html), "url": "http://127.0.0.1:9/h"}
        saved = await http.post(
            f"{page}/edit",
            data={**form, "filter": '{"data.account": "main"}', "rate_limit_per_second": "2"},
        )
        shown = await saved.text()
        assert saved.status == 200 and "Saved." in shown and "at most 2.0 deliveries" in shown
        bad = await http.post(
            f"{page}/edit", data={**form, "filter": '{"data.price": {"$gt": "x"}}'}
        )
        assert bad.status == 422 and "filter.data.price.$gt" in await bad.text()
        cleared = await http.post(f"{page}/edit", data={**form, "filter": ""})
        assert cleared.status == 200
    now = await gateway.call("GET", f"/v1/subscriptions/{made.body['id']}")
    assert now.body["filter"] is None and now.body["rate_limit_per_second"] is None
