"""One log format for the whole process: structlog's lines, and the standard library's too."""

from __future__ import annotations

import json
import subprocess
import sys

PROGRAM = """
import logging, structlog
from gateway.logs import configure_logging
configure_logging("info", json=True)
structlog.contextvars.bind_contextvars(request_id="req_0123", tenant="shop")
logging.getLogger("my_plugin").warning("reserve took %d ms", 12)
logging.getLogger("my_plugin").debug("not shown below the level")
structlog.get_logger().info("order_placed", order_id="o1")
"""


def test_standard_library_logging_comes_out_as_the_same_json_lines_with_the_request_id() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stderr.splitlines()]
    assert len(lines) == 2, lines
    stdlib, native = lines
    assert stdlib["event"] == "reserve took 12 ms" and stdlib["logger"] == "my_plugin"
    assert stdlib["level"] == "warning" and stdlib["request_id"] == "req_0123"
    assert stdlib["tenant"] == "shop" and stdlib["timestamp"]
    assert native["event"] == "order_placed" and native["request_id"] == "req_0123"
    assert set(native) - {"order_id"} == set(stdlib) - {"logger"}
