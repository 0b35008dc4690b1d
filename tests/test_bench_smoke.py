"""The benchmark still runs: a tiny run of bench/run.py, checked for shape, not for speed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.processes import ROOT

PNG = b"\x89PNG\r\n\x1a\n"
TARGETS = {"direct", "passthrough", "gateway"}


def test_the_benchmark_runs_end_to_end(tmp_path: Path) -> None:
    """Both load generators, the Python client and wrk, reach every target without an error;
    the figures are drawn as PNG files under their stable names."""
    out, plots = tmp_path / "bench.json", tmp_path / "plots"
    argv = [str(ROOT / "bench" / "run.py"), "--smoke", "--json", str(out), "--plots", str(plots)]
    done = subprocess.run(
        [sys.executable, *argv],
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
        assert len(runs["wrk"]) == 2  # the smoke run's two concurrencies
        for concurrency, by_target in runs["wrk"].items():
            assert set(by_target) == TARGETS
            for target, run in by_target.items():
                assert run["orders_per_s"] > 0, (concurrency, target, run)
                assert run["errors"] == {}, (concurrency, target, run)
            assert by_target["gateway"]["cpu_ms_per_order"] > 0
        assert set(runs["wrk_gateway_over_passthrough"]) == set(runs["wrk"])
    for hooks in results["webhooks"].values():
        assert hooks["ingest"]["webhooks_per_s"] > 0
        assert set(hooks["deliveries"]) == {"1", "10", "100"}
        assert hooks["end_to_end"]["webhooks"] > 0
    assert "Place order" in done.stdout and "Webhooks on sqlite" in done.stdout
    assert "Place order driven by wrk" in done.stdout
    figures = {"deliveries.png"} | {
        f"place-{kind}-{engine}-plugins-{state}.png"
        for kind in ("throughput", "latency")
        for engine in ("sqlite", "postgresql")
        for state in ("on", "off")
    }
    assert {p.name for p in plots.iterdir()} == figures
    for name in figures:
        assert (plots / name).read_bytes().startswith(PNG), name


def test_the_growth_benchmark_runs_end_to_end(tmp_path: Path) -> None:
    """bench/growth.py --smoke: a ledger of 0 and 300 filled orders on both engines, placement
    alone and with a reader, every list filter answered; checked for shape, not for speed."""
    out = tmp_path / "growth.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "growth.py"), "--smoke", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    results = json.loads(out.read_text())
    assert set(results["runs"]) == {"sqlite", "postgresql"}
    for runs in results["runs"].values():
        assert set(runs) == {"0", "300"}
        filled = runs["300"]["fill"]["rows"]["orders"] - runs["0"]["fill"]["rows"]["orders"]
        assert filled == 300  # besides the probe orders written at every size
        assert runs["300"]["ledger_orders"] > runs["0"]["ledger_orders"]
        for run in runs.values():
            for placement in ("place_alone", "place_with_poller"):
                assert run[placement]["orders_per_s"] > 0
                assert run[placement]["errors"] == {}
            assert run["place_with_poller"]["poller"]["polls"] > 0
            assert len(run["filters"]) == 12
            for name, measured in run["filters"].items():
                assert measured["status"] == 200, (name, measured)
    assert set(results["targets"]) == {"sqlite", "postgresql"}
    svg = out.with_suffix(".svg").read_text()
    assert svg.startswith("<svg") and svg.count("<polyline") >= 4
    assert "sqlite: ledger size" in done.stdout and "postgresql: ledger size" in done.stdout
