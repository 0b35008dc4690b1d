"""Load from wrk, for the benchmarks that must not let their own client skew the result.

    python bench/run.py --wrk-concurrency 1 8 32 64 128 --wrk-seconds 5

The gateway, the sandbox, PostgreSQL and the load generator share the same two cores. A
Python client spends about as much CPU per request as the servers it measures, so what it
reports is partly its own cost; wrk, a C load generator, costs little, which leaves the
gateway its fair share of the machine. A Lua script gives wrk the POST body and headers.

wrk counts an answer of 400 and above as an error but still in its requests per second:
here only the other answers count as orders, and every error is kept by kind so that a
run with errors shows them instead of looking fast.
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

TICK = os.sysconf("SC_CLK_TCK")
INSTALL = "wrk is not installed (it drives the load): apt-get install wrk, the Debian package"
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}
PERCENTILES = ("50", "75", "90", "99")


def cpu_times(pids: Sequence[int]) -> tuple[float, float]:
    """User and system CPU seconds of these processes, from /proc (one that has ended
    counts 0): what a process under load spent, read before and after a run."""
    user = system = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        user, system = user + int(fields[11]) / TICK, system + int(fields[12]) / TICK
    return user, system


def require() -> None:
    """Stop at once, with how to install it, when wrk is missing: no silent skip."""
    if shutil.which("wrk") is None:
        raise SystemExit(INSTALL)


def lua_script(method: str, body: bytes, headers: dict[str, str]) -> str:
    """wrk's request, in long brackets so that no quote or backslash needs escaping."""

    def quoted(text: str) -> str:
        level = "="
        while f"]{level}]" in text:
            level += "="
        return f"[{level}[{text}]{level}]"

    lines = [f"wrk.method = {quoted(method)}", f"wrk.body = {quoted(body.decode())}"]
    lines += [f"wrk.headers[ {quoted(k)} ] = {quoted(v)}" for k, v in headers.items()]
    return "\n".join(lines) + "\n"


def milliseconds(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if match is None:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(match.group(1)) * UNITS[match.group(2)]


def parse(output: str) -> dict[str, Any]:
    """wrk's printed summary (run with --latency) as numbers."""
    done = re.search(r"(\d+) requests in ([\d.]+\w+),", output)
    if done is None:
        raise ValueError(f"no request count in wrk's output:\n{output}")
    requests, seconds = int(done.group(1)), milliseconds(done.group(2)) / 1000
    errors: dict[str, int] = {}
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if bad:
        errors["non_2xx"] = int(bad.group(1))
    sockets = re.search(r"Socket errors: (.*)", output)
    if sockets:
        for kind, count in re.findall(r"(\w+) (\d+)", sockets.group(1)):
            if int(count):
                errors[kind] = int(count)
    latency = {
        f"p{q}_ms": milliseconds(m.group(1))
        for q in PERCENTILES
        if (m := re.search(rf"^\s+{q}%\s+(\S+)", output, re.MULTILINE))
    }
    return {
        "requests": requests,
        "seconds": seconds,
        "requests_per_s": requests / seconds,
        "orders_per_s": (requests - errors.get("non_2xx", 0)) / seconds,
        **latency,
        "errors": errors,
    }


def run(url: str, script: Path, connections: int, seconds: int) -> dict[str, Any]:
    """One wrk run: `connections` open at once, each sending its next request on an answer."""
    argv = [
        "wrk", f"-t{min(2, connections)}", f"-c{connections}", f"-d{max(1, seconds)}s",
        "--timeout", "10s", "--latency", "-s", str(script), url,
    ]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0 or done.stderr.strip():  # a broken script is only a warning
        raise RuntimeError(f"{' '.join(argv)} failed: {done.stdout}{done.stderr}")
    return parse(done.stdout)


Target = tuple[str, dict[str, str], Callable[[], float] | None]


def rounds(
    targets: dict[str, Target],
    body: bytes,
    concurrencies: Sequence[int],
    times: int,
    seconds: int,
    workdir: Path,
) -> dict[str, Any]:
    """Every target at every concurrency, interleaved target by target in each round, the
    median round kept (errors summed over all rounds); with a CPU reader, the CPU seconds the
    target's process spent per completed request."""
    scripts = {}
    for name, (_, headers, _) in targets.items():
        scripts[name] = workdir / f"wrk-{name}.lua"
        scripts[name].write_text(lua_script("POST", body, headers))
    runs: dict[str, Any] = {}
    for c in concurrencies:
        samples: dict[str, list[dict[str, Any]]] = {name: [] for name in targets}
        for _ in range(times):
            for name, (url, _, cpu) in targets.items():
                before = cpu() if cpu else 0.0
                result = run(url, scripts[name], c, seconds)
                if cpu:
                    spent = cpu() - before
                    result["cpu_ms_per_order"] = spent * 1000 / max(1, result["requests"])
                samples[name].append(result)
        runs[f"c{c}"] = {}
        for name, results in samples.items():
            middle = sorted(results, key=lambda r: r["orders_per_s"])[len(results) // 2]
            errors: dict[str, int] = {}
            for r in results:
                for kind, count in r["errors"].items():
                    errors[kind] = errors.get(kind, 0) + count
            runs[f"c{c}"][name] = {**middle, "errors": errors, "rounds": len(results)}
            if "cpu_ms_per_order" in middle:
                cpus = [r["cpu_ms_per_order"] for r in results]
                runs[f"c{c}"][name]["cpu_ms_per_order"] = statistics.median(cpus)
    return runs


def ratios(runs: dict[str, Any]) -> dict[str, float]:
    """The gateway's throughput as a share of the pass-through proxy's, per concurrency."""
    return {
        c: by_target["gateway"]["orders_per_s"] / by_target["passthrough"]["orders_per_s"]
        for c, by_target in runs.items()
        if by_target["passthrough"]["orders_per_s"] > 0
    }


def nearest(runs: dict[str, Any], connections: int = 32) -> str:
    """The key of the run ("c32") whose concurrency is nearest `connections`."""
    return min(runs, key=lambda c: (abs(int(c[1:]) - connections), int(c[1:])))


def table(place_order: dict[str, Any]) -> list[str]:
    """bench/run.py's wrk lines: orders/s per concurrency, latency near c32, errors, CPU."""
    lines: list[str] = []
    for key, runs in place_order.items():
        wrk = runs.get("wrk")
        if not wrk:
            continue
        if not lines:
            ref = nearest(wrk)
            lines += [
                "",
                f"Place order driven by wrk (orders/s by connections; latency ms at {ref}; "
                "errors: non-2xx answers and socket errors, all rounds; gw/passthru: the "
                "gateway's orders/s as a share of the pass-through's)",
                f"{'setting':<28}{'target':<13}"
                + "".join(f"{c + ' o/s':>10}" for c in wrk)
                + f"{'p50':>8}{'p90':>8}{'p99':>8}{'errors':>8}{'cpu ms/o':>10}",
            ]
        ref = nearest(wrk)
        for target in ("direct", "passthrough", "gateway"):
            at = wrk[ref][target]
            errors = sum(sum(wrk[c][target]["errors"].values()) for c in wrk)
            cpu = f"{at['cpu_ms_per_order']:>10.2f}" if "cpu_ms_per_order" in at else ""
            lines.append(
                f"{key:<28}{target:<13}"
                + "".join(f"{wrk[c][target]['orders_per_s']:>10.0f}" for c in wrk)
                + f"{at.get('p50_ms', float('nan')):>8.2f}{at.get('p90_ms', float('nan')):>8.2f}"
                f"{at.get('p99_ms', float('nan')):>8.2f}{errors:>8}{cpu}"
            )
        shares = runs.get("wrk_gateway_over_passthrough", {})
        lines.append(
            f"{'':<28}{'gw/passthru':<13}"
            + "".join(f"{shares[c]:>10.0%}" if c in shares else f"{'':>10}" for c in wrk)
        )
    return lines
