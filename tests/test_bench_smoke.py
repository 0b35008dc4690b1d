"""The benchmark still runs: a tiny run of bench/run.py, checked for shape, not for speed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.processes import ROOT


def test_the_benchmark_runs_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--smoke", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    results = json.loads(out.read_text())
    assert set(results["place_order"]) == {
        "sqlite, plugins on", "sqlite, plugins off",
        "postgresql, plugins on", "postgresql, plugins off",
    }  # fmt: skip
    for runs in results["place_order"].values():
        for concurrency in ("c16", "c128"):
            for target in ("direct", "passthrough", "gateway"):
                assert runs[concurrency][target]["orders_per_s"] > 0
                assert runs[concurrency][target]["errors"] == {}
        assert runs["gateway_peak_rss_mb"] > 0
    for hooks in results["webhooks"].values():
        assert hooks["ingest"]["webhooks_per_s"] > 0
        assert set(hooks["deliveries"]) == {"1", "10", "100"}
        assert hooks["end_to_end"]["webhooks"] > 0
    assert "Place order" in done.stdout and "Webhooks on sqlite" in done.stdout
