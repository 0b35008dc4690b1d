"""The plugin's own tests, as its author writes them: a few lines each with plugin_harness.

`plugin_harness` is a fixture that comes with the gateway (its pytest plugin); these tests
need no conftest, and run as well outside the gateway's repository as inside it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from unittest.mock import ANY

import pytest

from gateway.plugin_api import ConfigError

Harness = Callable[..., Any]

SETTINGS = {"enabled": ["validation", "allowlist"], "allowlist": {"shop": [1001], "games": []}}


async def test_listed_items_pass_and_others_are_refused(plugin_harness: Harness) -> None:
    async with plugin_harness(SETTINGS) as gw:
        assert (await gw.place("shop", item_id=1001)).status == 201
        refused = await gw.place("shop", item_id=1002)
        assert refused.status == 403
        assert refused.body["error"]["code"] == "item_not_allowed"
        assert refused.body["error"]["details"] == {
            "plugin": "allowlist",
            "field": "item_id",
            "order_id": ANY,
        }
        assert "its list: 1001" in refused.body["error"]["message"]


async def test_an_empty_list_allows_nothing_and_an_unlisted_tenant_anything(
    plugin_harness: Harness,
) -> None:
    async with plugin_harness(SETTINGS) as gw:
        assert (await gw.place("games", item_id=1001)).status == 403
        assert (await gw.place("ops", item_id=1002)).status == 201


async def test_bad_settings_stop_the_gateway_naming_the_key(plugin_harness: Harness) -> None:
    with pytest.raises(ConfigError) as caught:
        async with plugin_harness({"enabled": ["allowlist"], "allowlist": {"shop": "1001"}}):
            pass
    assert caught.value.key == "plugins.allowlist.shop"
