"""Starting the `gateway` command as a real separate process for tests that need one."""

from __future__ import annotations

import os
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
def gateway_process(
    *args: str, env: dict[str, str] | None = None, lines: int = 1, timeout: float = 20.0
) -> Iterator[list[str]]:
    """Run `gateway ARGS…` and yield the first `lines` lines it prints once it prints them."""
    with running_gateway(*args, env=env, lines=lines, timeout=timeout) as (_, printed):
        yield printed


@contextmanager
def running_gateway(
    *args: str, env: dict[str, str] | None = None, lines: int = 1, timeout: float = 20.0
) -> Iterator[tuple[subprocess.Popen[str], list[str]]]:
    """As `gateway_process`, with the process itself (to kill it)."""
    proc = subprocess.Popen(
        [*GATEWAY, "--log-level", "warning", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, **(env or {})},
    )
    try:
        printed: list[str] = []

        def read() -> None:
            assert proc.stdout is not None
            for _ in range(lines):
                printed.append(proc.stdout.readline())

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(timeout)
        if len(printed) < lines or not printed[-1]:
            raise RuntimeError(f"gateway {' '.join(args)} did not start: {printed!r}")
        yield proc, printed
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


@contextmanager
def sandbox_process(*args: str) -> Iterator[str]:
    """Run `gateway sandbox --port 0 ARGS…` and yield its base URL once it listens."""
    with gateway_process("sandbox", "--port", "0", *args) as printed:
        yield url_in(printed[0])


def url_in(line: str) -> str:
    match = re.search(r"on (http://[^\s]+)", line)
    if match is None:
        raise RuntimeError(f"no URL in {line!r}")
    return match.group(1)
