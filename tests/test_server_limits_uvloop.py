"""The server's bounds again, on uvloop, the loop `gateway serve` runs on by default.

uvloop's transports are not asyncio's (not even `asyncio.Transport` subclasses: the
connection gate once refused every connection on them), so every test of
tests/test_server_limits.py runs here a second time on a uvloop event loop.
"""

from __future__ import annotations

import asyncio
import threading

import pytest
import uvloop

from gateway.commands import on_loop
from gateway.config_fields import ConfigError
from gateway.config_server import server_config
from tests.test_server_limits import *  # noqa: F403 - the same tests, on the other loop

# pytest-asyncio's replacement (the pytest_asyncio_loop_factories hook) is suite-wide: it
# would run every async test of the suite twice. This module alone asks for uvloop.
pytestmark = pytest.mark.filterwarnings(
    'ignore:Overriding the "event_loop_policy" fixture:pytest.PytestDeprecationWarning'
)


@pytest.fixture(scope="module")
def event_loop_policy() -> asyncio.AbstractEventLoopPolicy:
    return uvloop.EventLoopPolicy()


async def test_these_tests_run_on_uvloop() -> None:
    assert isinstance(asyncio.get_running_loop(), uvloop.Loop)


def test_serve_takes_uvloop_unless_the_config_says_asyncio() -> None:
    assert server_config({}).event_loop == "uvloop"
    assert server_config({"event_loop": "asyncio"}).event_loop == "asyncio"
    with pytest.raises(ConfigError) as caught:
        server_config({"event_loop": "trio"})
    assert caught.value.key == "server.event_loop"
    ran_on: list[type] = []

    async def main() -> None:
        ran_on.append(type(asyncio.get_running_loop()))

    def both() -> None:  # in a thread of its own: a runner's close leaves no loop behind
        on_loop("uvloop", main())
        on_loop("asyncio", main())

    thread = threading.Thread(target=both)
    thread.start()
    thread.join(10)
    assert ran_on[0] is uvloop.Loop and not issubclass(ran_on[1], uvloop.Loop)
