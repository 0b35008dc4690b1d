"""The layout keeps its promises: small modules, and a place-order readable in eight files.

The README names the files a place-order is read in; this traces a real one (plugins on,
one subscriber, so the outbox runs) and checks that no other module of ours takes part,
apart from the helpers listed here, which a reader does not need to open to follow it.
"""

from __future__ import annotations

import re
import sys
from types import FrameType
from typing import Any

from gateway.testing import plugin_harness
from tests.processes import ROOT

LIMIT = 400
# Small, single-purpose modules a reader meets as names, not as steps of the story.
HELPERS = {
    "gateway/clock.py",
    "gateway/domain.py",
    "gateway/errors.py",
    "gateway/tenants.py",
    "gateway/views.py",
    "gateway/logs.py",
    "gateway/metrics.py",
    "gateway/api/params.py",
    "gateway/api/edge.py",
    "gateway/provider/convert.py",
    "gateway/provider/transport.py",
    "gateway/provider/catalog.py",
    "gateway/orders/rows.py",  # a row into an OrderRecord
    "gateway/orders/intents.py",  # `new_intent(...)`: the request's hash, reference, estimate
    "gateway/outbox/writing.py",  # `new_message(...)`: a message's columns
    "gateway/outbox/known.py",  # `known.get(...)`: the endpoints this process last saw
    "gateway/sealing.py",  # `seal(...)` / `open(...)`: codes encrypted at rest
    "gateway/outbox/subscriptions.py",  # `subscribers(...)`: who hears of the order
    "gateway/outbox/queue.py",  # `enqueue(...)`: one INSERT per message
    "gateway/outbox/dispatcher.py",  # `wake()`: one line
    "gateway/hooks/decisions.py",  # `note(...)`: the decision trace, written off the path
    "gateway/hooks/policies.py",  # `rule(...)`: a tenant's mode for a plugin
    "gateway/tracing.py",  # `inject(...)`, `origin()`: trace context in and out, spans
    "gateway/ratelimit.py",  # `bounded(...)`: is this tenant's kind of request counted
    "gateway/plugin_api.py",  # `SpendableBalances`: the limits plugin's balance reckoning
}


def test_no_module_passes_four_hundred_lines() -> None:
    long = {
        str(path.relative_to(ROOT)): n
        for path in (ROOT / "gateway").rglob("*.py")
        if (n := len(path.read_text().splitlines())) > LIMIT
    }
    assert long == {}


def _story_in_readme() -> set[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("A place-order, file by file", 1)[1].split("\n\n", 2)[1]
    return set(re.findall(r"`(gateway/[\w/]+\.py)`", section))


async def test_a_place_order_is_read_in_the_eight_files_the_readme_names(pg_url: str) -> None:
    ran: set[str] = set()
    root = str(ROOT) + "/"

    def tracer(frame: FrameType, event: str, arg: Any) -> None:
        name = frame.f_code.co_filename
        if name.startswith(root + "gateway/"):
            ran.add(name.removeprefix(root))

    # PostgreSQL: its statements run on this thread, so the tracer sees the whole story
    plugins = {"enabled": ["validation", "limits", "audit"]}
    async with plugin_harness(plugins, storage_url=pg_url) as gw:
        subscribed = await gw.call(
            "POST", "/v1/subscriptions", "shop", json={"url": "http://127.0.0.1:9/hook"}
        )
        assert subscribed.status == 201, subscribed.body
        assert (await gw.place("shop", item_id=1001)).status == 201  # warm: tokens, catalog
        sys.settrace(tracer)
        try:
            placed = await gw.place("shop", item_id=1001)
        finally:
            sys.settrace(None)
        assert placed.status == 201
    story = {
        name
        for name in ran
        if name not in HELPERS
        and not name.startswith(("gateway/storage/", "gateway/sandbox/"))
        and name != "gateway/testing.py"
    }
    assert story == _story_in_readme()
    assert len(story) <= 8
