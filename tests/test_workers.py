"""`gateway serve --workers N`: N processes on one port (SO_REUSEPORT), on PostgreSQL; the
supervisor restarts one that dies and stops them all on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
import pytest

from gateway.testing import serve_config
from tests.conftest import PG_URL
from tests.processes import GATEWAY, ROOT, running_gateway, sandbox_process, url_in

TOKEN = "gwt_workers_token_for_tests_only_0000000000"


def pids_answering(url: str, tries: int = 60) -> set[int]:
    """The processes behind `url`, one new connection per request."""
    seen = set()
    for _ in range(tries):
        with httpx.Client(trust_env=False, timeout=5) as http:  # a new connection each time
            seen.add(http.get(f"{url}/healthz").json()["process"])
    return seen


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def drop(schema: str) -> None:
    conn = await asyncpg.connect(PG_URL)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


def test_two_workers_share_the_port_place_orders_and_stop_together(tmp_path: Path) -> None:
    schema = "t_" + uuid.uuid4().hex[:16]
    text, env = serve_config("", f"{PG_URL}?schema={schema}", TOKEN)
    try:
        with sandbox_process("--seed", "0", "--fulfilment-delay", "3600") as provider:
            config = tmp_path / "gateway.toml"
            config.write_text(text.replace('base_url = ""', f'base_url = "{provider}"'))
            serving = running_gateway("serve", "--config", str(config), "--workers", "2", env=env)
            with serving as (supervisor, printed):
                assert "2 workers" in printed[0]
                url = url_in(printed[0])
                workers = pids_answering(url)
                assert len(workers) == 2 and supervisor.pid not in workers
                headers = {"Authorization": f"Bearer {TOKEN}"}
                with httpx.Client(trust_env=False, timeout=10, headers=headers) as http:
                    for n in range(4):
                        body = {"item_id": 1001, "merchant_order_id": f"w-{n}"}
                        assert http.post(f"{url}/v1/orders", json=body).status_code == 201
                    listed = http.get(f"{url}/v1/orders").json()["data"]
                assert len(listed) == 4  # one database behind both

                victim = next(iter(workers))
                os.kill(victim, signal.SIGKILL)
                deadline = time.monotonic() + 15
                while time.monotonic() < deadline:
                    now = pids_answering(url, tries=20)
                    if victim not in now and len(now) == 2:
                        break
                    time.sleep(0.2)
                assert victim not in now and len(now) == 2  # restarted, the port kept
                supervisor.send_signal(signal.SIGTERM)
                supervisor.wait(15)
            time.sleep(0.5)
            assert not any(alive(pid) for pid in now)
    finally:
        asyncio.run(drop(schema))


def test_workers_need_postgresql(tmp_path: Path) -> None:
    text, env = serve_config("http://127.0.0.1:9", f"sqlite:///{tmp_path / 'g.sqlite3'}", TOKEN)
    config = tmp_path / "gateway.toml"
    config.write_text(text)
    done = subprocess.run(
        [*GATEWAY, "serve", "--config", str(config), "--workers", "2"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=30,
    )
    assert done.returncode == 1
    assert "--workers" in done.stderr and "PostgreSQL" in done.stderr


@pytest.mark.parametrize("workers", ["0", "-1"])
def test_a_worker_count_below_one_is_refused(tmp_path: Path, workers: str) -> None:
    text, env = serve_config("http://127.0.0.1:9", "postgresql://127.0.0.1:5432/test", TOKEN)
    config = tmp_path / "gateway.toml"
    config.write_text(text)
    done = subprocess.run(
        [*GATEWAY, "serve", "--config", str(config), "--workers", workers],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=30,
    )
    assert done.returncode == 1 and "at least 1" in done.stderr
