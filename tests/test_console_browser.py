"""The console's main journeys, driven in a real browser (Debian's Chromium, through
Playwright), against a gateway on a real port in front of the sandbox.

Each journey is what a person does: sign in, find an order placed through the API, open
its timeline, add an endpoint and see a delivery, replay it, and, as an admin, revoke a
token and watch the session that used it end. The screenshots of docs/console.md are
taken here: set CONSOLE_SCREENSHOTS=docs/console to refresh them (docs/console.md).

Only loopback is reached: the gateway, the sandbox and the webhook receiver listen on
127.0.0.1, and the browser is given nothing else to open.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, ViewportSize, async_playwright

from gateway.state import DISPATCHER
from gateway.testing import TOKENS
from tests.conftest import Gateway, GatewayFactory, WebhookReceiver

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"),
    reason="needs Chromium (apt-get install chromium); .ci/run installs it",
)
WIDE: ViewportSize = {"width": 1280, "height": 860}
NARROW: ViewportSize = {"width": 390, "height": 844}
# the gateway's clock stands still here, so a read rate would never refill: the rates have
# their own tests (tests/test_request_rates.py)
UNBOUNDED = {"tenant_reads_per_second": 0}


@pytest.fixture(params=["sqlite"])
def storage_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """One engine here: the pages are the API's answers, which the API's tests cover on
    both engines; a browser per engine would double the slowest tests for nothing."""
    return f"sqlite:///{tmp_path / 'console.sqlite3'}"


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    assert CHROMIUM is not None, "Chromium is not installed: apt-get install chromium"
    async with async_playwright() as driver:
        launched = await driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        await launched.close()


async def shot(page: Page, name: str) -> None:
    folder = os.environ.get("CONSOLE_SCREENSHOTS")
    if folder:
        await page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


async def sign_in(
    browser: Browser, gateway: Gateway, tenant: str, viewport: dict[str, int] = WIDE
) -> object:
    context = await browser.new_context(viewport=viewport)  # type: ignore[attr-defined]
    page = await context.new_page()
    await page.goto(f"{gateway.url}/console")
    assert page.url.endswith("/console/sign-in?reason=ended")
    await page.get_by_label("Gateway token").fill(TOKENS[tenant])
    await page.get_by_label("Gateway token").press("Enter")
    await page.wait_for_url("**/console/orders")
    return page


async def test_sign_in_then_find_an_order_placed_through_the_api_and_read_its_timeline(
    make_gateway: GatewayFactory, browser: Browser
) -> None:
    gateway = await make_gateway(server=UNBOUNDED)
    context = await browser.new_context(viewport=WIDE)
    page = await context.new_page()
    await page.goto(f"{gateway.url}/console/sign-in")
    await shot(page, "sign-in")
    await page.get_by_label("Gateway token").fill("gwt_wrong")
    await page.get_by_role("button", name="Sign in").click()
    assert "This token is not recognised" in await page.get_by_role("alert").inner_text()

    page = await sign_in(browser, gateway, "shop")
    assert "Place one through the API" in await page.locator(".empty").inner_text()
    await gateway.place(item_id=1001, quantity=2, merchant_order_id="po-4471")
    for n in range(3):
        await gateway.place(item_id=1001, merchant_order_id=f"other-{n}")
    await page.reload()
    assert await page.locator("tbody tr").count() == 4
    await shot(page, "orders")

    await page.get_by_label("Merchant order id").fill("po-4471")
    await page.get_by_role("button", name="Filter").click()
    rows = page.locator("tbody tr")
    assert await rows.count() == 1
    price = rows.first.locator(".money")
    assert await price.inner_text() == "€19.80"  # for people; the exact value on hover:
    assert await price.get_attribute("title") == "19.80 EUR"
    await rows.first.locator("a").first.click()
    await page.wait_for_url("**/console/orders/*")
    timeline = await page.locator("ol.timeline").inner_text()
    assert "Order received" in timeline and "Provider accepted it" in timeline
    assert "gateway_validate_order" in await page.locator("table").inner_text()  # the trace
    await shot(page, "order")


async def test_a_refused_order_shows_why_in_its_trace(
    make_gateway: GatewayFactory, browser: Browser
) -> None:
    gateway = await make_gateway(
        server=UNBOUNDED,
        plugins={
            "enabled": ["validation", "limits", "audit"],
            "limits": {"max_order": {"main": "1.00"}},
        },
    )
    refused = await gateway.place(item_id=1001)
    assert refused.status == 403, refused.body
    order_id = refused.body["error"]["details"]["order_id"]
    page = await sign_in(browser, gateway, "shop")
    await page.goto(f"{gateway.url}/console/orders/{order_id}")
    timeline = await page.locator("ol.timeline").inner_text()
    assert "limits rejected (enforce)" in timeline


async def test_add_an_endpoint_send_a_test_see_the_delivery_and_replay_it(
    make_gateway: GatewayFactory, browser: Browser, receiver: WebhookReceiver
) -> None:
    gateway = await make_gateway(server=UNBOUNDED)
    page = await sign_in(browser, gateway, "shop")
    await page.get_by_role("link", name="Webhooks").click()
    assert "No webhook endpoints yet" in await page.locator(".empty").inner_text()
    await page.get_by_label("URL").fill("http://10.1.2.3/hook")  # refused by the rules
    await page.get_by_role("button", name="Add endpoint").click()
    alert = await page.get_by_role("alert").inner_text()
    assert "destination_not_allowed" in alert and "url" in alert
    await page.get_by_label("URL").fill(receiver.url)
    await page.get_by_role("button", name="Add endpoint").click()
    await page.wait_for_url("**/console/subscriptions/*?done=subscribed")
    assert "Endpoint added." in await page.get_by_role("status").inner_text()

    await page.get_by_role("button", name="Send a test event").click()
    assert "Test event queued" in await page.get_by_role("status").inner_text()
    await gateway.app[DISPATCHER].run_due()
    await page.reload()
    attempts = page.locator("tbody tr")
    assert await attempts.count() == 1
    assert "HTTP 200" in await attempts.first.inner_text()
    assert len(receiver.received) == 1
    await shot(page, "subscription")

    await attempts.first.get_by_role("button", name="Replay").click()
    assert "Queued again" in await page.get_by_role("status").inner_text()
    await gateway.app[DISPATCHER].run_due()
    await page.reload()
    assert await page.locator("tbody tr").count() == 2
    assert len(receiver.received) == 2

    # an order's timeline shows each delivery attempt of its events to this endpoint
    placed = (await gateway.place(item_id=1001)).body
    await gateway.app[DISPATCHER].run_due()
    await page.goto(f"{gateway.url}/console/orders/{placed['id']}")
    timeline = await page.locator("ol.timeline").inner_text()
    assert f"order.accepted to {receiver.url}" in timeline and "attempt 1: HTTP 200" in timeline


async def test_an_admin_revokes_a_token_and_the_console_signs_that_session_out(
    make_gateway: GatewayFactory, browser: Browser
) -> None:
    gateway = await make_gateway(server=UNBOUNDED)
    team = await sign_in(browser, gateway, "games")
    admin = await sign_in(browser, gateway, "ops")
    await admin.get_by_role("link", name="Tenants").click()
    await shot(admin, "tenants")
    await admin.get_by_role("link", name="games").click()
    await admin.get_by_role("button", name="Revoke token").click()
    assert "Token revoked" in await admin.get_by_role("status").inner_text()
    assert "no token" in await admin.locator(".empty").inner_text()

    await team.get_by_role("link", name="Catalog", exact=True).click()
    await team.wait_for_url("**/console/sign-in?reason=revoked")
    assert "revoked" in await team.get_by_role("alert").inner_text()


async def test_an_admin_onboards_a_team_and_sees_accounts_and_unresolved_orders(
    make_gateway: GatewayFactory, browser: Browser
) -> None:
    gateway = await make_gateway(server=UNBOUNDED)
    admin = await sign_in(browser, gateway, "ops")
    await admin.get_by_role("link", name="Tenants").click()
    await admin.get_by_label("Name").fill("arcade")
    await admin.get_by_role("checkbox", name="main").check()
    await admin.get_by_role("button", name="Onboard").click()
    token = await admin.locator(".notice code.secret").inner_text()
    assert token.startswith("gwt_")
    bearer = {"Authorization": f"Bearer {token}"}
    assert (await gateway.call("GET", "/v1/orders", None, headers=bearer)).status == 200

    await admin.get_by_role("link", name="Accounts").click()
    table = await admin.locator("table").inner_text()
    assert "main" in table and "partner" in table and "€" in table
    await shot(admin, "accounts")
    await admin.get_by_role("link", name="Unresolved").click()
    assert "Nothing to resolve" in await admin.locator(".empty").inner_text()
    await shot(admin, "unresolved")
    await admin.get_by_role("link", name="Outbox").click()
    assert "No dead letters" in await admin.locator(".empty").inner_text()
    await admin.get_by_role("link", name="Audit").click()
    assert "admin_change" in await admin.locator("tbody").inner_text()  # the onboarding
    await shot(admin, "audit")


async def test_the_catalog_and_a_narrow_window_read_well(
    make_gateway: GatewayFactory, browser: Browser
) -> None:
    gateway = await make_gateway(server=UNBOUNDED)
    await gateway.place(item_id=1001, merchant_order_id="narrow-1")
    page = await sign_in(browser, gateway, "shop")
    await page.get_by_role("link", name="Catalog", exact=True).click()
    assert await page.locator("tbody tr").count() > 0
    await shot(page, "catalog")
    narrow = await sign_in(browser, gateway, "shop", NARROW)
    width = await narrow.evaluate("document.documentElement.scrollWidth")
    assert width <= NARROW["width"], "the page scrolls sideways on a phone"
    await shot(narrow, "orders-narrow")


async def test_the_console_is_usable_from_the_keyboard(
    make_gateway: GatewayFactory, browser: Browser
) -> None:
    gateway = await make_gateway(server=UNBOUNDED)
    page = await sign_in(browser, gateway, "shop")
    await page.keyboard.press("Tab")
    focused = await page.evaluate("document.activeElement.textContent")
    assert focused == "Skip to content"
    for _ in range(3):  # the skip link, the brand, then the first section
        await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.textContent") == "Catalog"
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/console/catalog")
