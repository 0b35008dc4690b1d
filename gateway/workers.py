"""`gateway serve --workers N`: N gateway processes on one port, for every core.

The event loop of one process is one core; a machine with more cores runs several. Each
worker is a whole `gateway serve` (its own event loop, outbox dispatcher, housekeeping
and admin watch), listening on the same port with SO_REUSEPORT, so the kernel spreads
new connections across them. They share what a replica shares: the PostgreSQL database
(SKIP LOCKED claims, LISTEN/NOTIFY; docs/operations.md). SQLite has one writer per file,
so workers need PostgreSQL.

This process is the supervisor: it holds the port (bound with SO_REUSEPORT, never
listening, so that port 0 resolves once and no other program takes the port between
restarts), starts the workers one after the other (the first runs the migrations before
the others start), says where the gateway is once all are up, restarts a worker that
dies (a second later, and logs it), and on SIGTERM or SIGINT stops them all.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import structlog

from gateway.serving import AddressInUse

log = structlog.get_logger()
RESTART_AFTER = 1.0


def hold_port(host: str, port: int) -> socket.socket:
    """A socket bound to (host, port) with SO_REUSEPORT and never listening: it keeps the
    port for the workers, who bind it too, and resolves port 0 to one port for all."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    held = socket.socket(family, socket.SOCK_STREAM)
    held.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    held.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        held.bind((host, port))
    except OSError as exc:
        held.close()
        raise AddressInUse(host, port) from exc
    return held


class Supervisor:
    def __init__(self, config: Path, host: str, port: int, workers: int) -> None:
        self.config, self.host, self.workers = config, host, workers
        self.held = hold_port(host, port)
        self.port = int(self.held.getsockname()[1])
        self.procs: list[subprocess.Popen[str]] = []
        self.stopping = threading.Event()

    def _start_one(self) -> subprocess.Popen[str]:
        argv = [sys.executable, "-m", "gateway.cli", "serve", "--config", str(self.config)]
        argv += ["--port", str(self.port), "--reuse-port"]
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        banner = proc.stdout.readline()  # printed once it listens; empty if it died
        if not banner:
            proc.wait()
            raise SystemExit(proc.returncode or 1)
        threading.Thread(target=_drain, args=(proc,), daemon=True).start()
        return proc

    def run(self) -> int:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self.stopping.set())
        try:
            for _ in range(self.workers):
                self.procs.append(self._start_one())
            pids = ", ".join(str(p.pid) for p in self.procs)
            print(
                f"Gateway on http://{self.host}:{self.port} (API at /v1, /openapi.json;"
                f" {self.workers} workers: {pids})",
                flush=True,
            )
            # a plain sleep, not a timed Event.wait: a timed condition wait hangs under a
            # faked clock (libfaketime), and a sleep ends at a signal as well
            while not self.stopping.is_set():
                time.sleep(0.2)
                for n, proc in enumerate(self.procs):
                    if proc.poll() is not None and not self.stopping.is_set():
                        log.warning("worker_died", pid=proc.pid, code=proc.returncode)
                        time.sleep(RESTART_AFTER)
                        self.procs[n] = self._start_one()
                        log.info("worker_restarted", pid=self.procs[n].pid)
        finally:
            self.stop()
        return 0

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)
            if proc.poll() is None:
                proc.kill()
        self.held.close()


def _drain(proc: subprocess.Popen[str]) -> None:
    """A worker's later stdout, passed on (its logs go to stderr, which it shares)."""
    assert proc.stdout is not None
    for line in proc.stdout:
        sys.stdout.write(line)
        sys.stdout.flush()
