"""The gateway's pytest plugin: what a plugin author's tests get by installing the gateway.

Registered under pytest's `pytest11` entry-point group, so the fixture below is
there in any test session where `order-gateway` is installed, with no conftest:

    async def test_refuses_items_off_the_list(plugin_harness):
        async with plugin_harness({"enabled": ["allowlist"], "allowlist": {"shop": [1001]}}) as gw:
            assert (await gw.place("shop", item_id=1002)).status == 403

`gateway.testing.plugin_harness` is the same thing as a plain import.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest

from gateway import testing


@pytest.fixture(name="plugin_harness")
def plugin_harness_fixture() -> Callable[..., AbstractAsyncContextManager[testing.Harness]]:
    """`plugin_harness(plugins, *, factories=None, storage_url=None)`: the sandbox provider
    and a gateway with those `[plugins]` settings, in this process (see gateway.testing)."""
    harness: Callable[..., Any] = testing.plugin_harness
    return harness
