"""Starting the `gateway` command as a real separate process for tests that need one."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

GATEWAY = [sys.executable, "-m", "gateway.cli"]
ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def sandbox_process(*args: str, timeout: float = 20.0) -> Iterator[str]:
    """Run `gateway sandbox --port 0 ARGS…` and yield its base URL once it listens."""
    proc = subprocess.Popen(
        [*GATEWAY, "--log-level", "warning", "sandbox", "--port", "0", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        first: list[str] = []
        reader = threading.Thread(target=lambda: first.append(proc.stdout.readline()))  # type: ignore[union-attr]
        reader.start()
        reader.join(timeout)
        match = re.search(r"on (http://\S+)", first[0] if first else "")
        if match is None:
            raise RuntimeError(f"the sandbox did not start: {first!r}")
        yield match.group(1)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
