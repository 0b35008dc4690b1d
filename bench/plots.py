"""docs/performance.md's figures, drawn from a run's results so that none is drawn by hand.

    python bench/run.py --plots docs/figures            # measure, then draw
    python bench/plots.py bench/results.json docs/figures   # draw again from a saved run

A figure redrawn by the script that measured it cannot drift from the numbers in the JSON
beside it. Matplotlib, the well-kept plotting library, draws them (its Agg backend: no
display needed), rather than SVG written by hand. The file names stay the same from run to
run, so that the documentation's links stay right:

- place-throughput-<engine>-plugins-<on|off>.png: orders/s by wrk connections, per target;
- place-latency-<engine>-plugins-<on|off>.png: wrk's p50/p90/p99 per target at the
  concurrency nearest 32, and the open-loop p50/p99 at half the gateway's saturation;
- deliveries.png: webhook deliveries/s by subscriber endpoint count, per engine.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

from loadgen import nearest
from matplotlib.axes import Axes
from matplotlib.figure import Figure

TARGETS = ("direct", "passthrough", "gateway")
LABELS = {
    "direct": "direct (sandbox)",
    "passthrough": "pass-through proxy",
    "gateway": "gateway",
}
COLOURS = {"direct": "#4c72b0", "passthrough": "#8c8c8c", "gateway": "#dd8452"}
SHADES = ("#9ecae1", "#4292c6", "#08519c")  # light to dark: p50, p90, p99
ENGINES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}

matplotlib.rcParams.update(
    {
        "font.size": 13,
        "axes.titlesize": 15,
        "axes.labelsize": 14,
        "legend.fontsize": 12,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "axes.spines.top": False,
        "axes.spines.right": False,
    }
)


def slug(setting: str) -> str:
    """'postgresql, plugins on' -> 'postgresql-plugins-on'."""
    return re.sub(r"[^a-z0-9]+", "-", setting.lower()).strip("-")


def title(setting: str) -> str:
    engine, _, plugins = setting.partition(", ")
    return f"{ENGINES.get(engine, engine)}, {plugins}"


def draw(results: dict[str, Any], folder: Path) -> list[Path]:
    """Every figure the results hold data for; the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    rounds = results.get("args", {}).get("rounds", 1)
    seconds = results.get("args", {}).get("wrk_seconds")
    for setting, runs in results.get("place_order", {}).items():
        if not runs.get("wrk"):
            continue
        written.append(throughput(setting, runs, rounds, seconds, folder))
        written.append(latency(setting, runs, folder))
    if results.get("webhooks"):
        written.append(deliveries(results["webhooks"], folder))
    return written


def save(figure: Figure, path: Path) -> Path:
    figure.tight_layout()
    figure.savefig(path, format="png", dpi=110)
    return path


def throughput(
    setting: str, runs: dict[str, Any], rounds: int, seconds: int | None, folder: Path
) -> Path:
    wrk = runs["wrk"]
    connections = [int(c[1:]) for c in wrk]
    figure = Figure(figsize=(10, 6))
    ax = figure.add_subplot()
    for target in TARGETS:
        rates = [wrk[c][target]["orders_per_s"] for c in wrk]
        ax.plot(connections, rates, marker="o", linewidth=2.5, markersize=8,
                color=COLOURS[target], label=LABELS[target])  # fmt: skip
    shares = runs.get("wrk_gateway_over_passthrough", {})
    for c, n in zip(wrk, connections, strict=True):
        if c in shares:
            ax.annotate(f"{shares[c]:.0%}", (n, wrk[c]["gateway"]["orders_per_s"]),
                        textcoords="offset points", xytext=(0, 10), ha="center",
                        color=COLOURS["gateway"], fontsize=12)  # fmt: skip
    ax.set_xscale("log", base=2)
    ax.set_xticks(connections, [str(n) for n in connections])
    ax.minorticks_off()
    ax.set_ylim(bottom=0)
    ax.set_xlabel("concurrent connections (wrk, log scale)")
    ax.set_ylabel("orders per second")
    run = f"{seconds} s runs, " if seconds else ""
    kept = "1 round" if rounds == 1 else f"median of {rounds} rounds"
    ax.set_title(
        f"Place order throughput — {title(setting)}\n(wrk, {run}{kept}; % = gateway ÷ pass-through)"
    )
    ax.legend(loc="best")
    return save(figure, folder / f"place-throughput-{slug(setting)}.png")


def bars(
    ax: Axes, groups: list[str], series: dict[str, list[float]], shades: tuple[str, ...]
) -> None:
    """Grouped bars: one group per target, one bar per percentile, its value on top."""
    width = 0.8 / len(series)
    for i, ((name, values), shade) in enumerate(zip(series.items(), shades, strict=False)):
        xs = [g + (i - (len(series) - 1) / 2) * width for g in range(len(groups))]
        drawn = ax.bar(xs, values, width, label=name, color=shade)
        ax.bar_label(drawn, fmt="%.1f", fontsize=11, padding=2)
    ax.set_xticks(range(len(groups)), [LABELS.get(g, g) for g in groups])
    ax.set_ylabel("latency (ms)")
    ax.margins(y=0.15)
    ax.legend(loc="upper left")
    ax.grid(axis="x", visible=False)


def latency(setting: str, runs: dict[str, Any], folder: Path) -> Path:
    wrk = runs["wrk"]
    ref = nearest(wrk)
    half = runs.get("half_saturation")
    figure = Figure(figsize=(15, 6.5) if half else (9, 6.5))
    axes = figure.subplots(1, 2 if half else 1, squeeze=False)[0]
    quantiles = ("p50", "p90", "p99")
    bars(axes[0], list(TARGETS),
         {q: [wrk[ref][t].get(f"{q}_ms", float("nan")) for t in TARGETS] for q in quantiles},
         SHADES)  # fmt: skip
    axes[0].set_title(f"closed loop (wrk), {ref[1:]} connections:\nthe same load for each target")
    if half:
        shown = [t for t in TARGETS if t in half]
        bars(axes[1], shown,
             {q: [half[t][f"{q}_ms"] for t in shown] for q in ("p50", "p99")},
             (SHADES[0], SHADES[2]))  # fmt: skip
        rate = half[shown[-1]]["rate"]
        axes[1].set_title(f"open loop (Python client), {rate:.0f} orders/s:\n"
                          "half the gateway's saturation")  # fmt: skip
    figure.suptitle(f"Place order latency — {title(setting)}", fontsize=16)
    return save(figure, folder / f"place-latency-{slug(setting)}.png")


def deliveries(webhooks: dict[str, Any], folder: Path) -> Path:
    figure = Figure(figsize=(10, 6))
    ax = figure.add_subplot()
    counts = sorted({n for hooks in webhooks.values() for n in hooks["deliveries"]}, key=int)
    width = 0.8 / len(webhooks)
    for i, (engine, hooks) in enumerate(webhooks.items()):
        xs = [g + (i - (len(webhooks) - 1) / 2) * width for g in range(len(counts))]
        rates = [hooks["deliveries"].get(n, {}).get("deliveries_per_s", 0.0) for n in counts]
        drawn = ax.bar(xs, rates, width, label=ENGINES.get(engine, engine),
                       color=("#4c72b0", "#dd8452", "#55a868")[i % 3])  # fmt: skip
        ax.bar_label(drawn, fmt="%.0f", fontsize=11, padding=2)
    ax.set_xticks(range(len(counts)), [f"{n} endpoint{'s' if n != '1' else ''}" for n in counts])
    ax.set_xlabel("subscriber endpoints, each sent every order's order.accepted event")
    ax.set_ylabel("deliveries per second")
    ax.set_title("Webhook deliveries from the outbox, by endpoint count")
    ax.margins(y=0.15)
    ax.grid(axis="x", visible=False)
    ax.legend(loc="upper left")
    return save(figure, folder / "deliveries.png")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", type=Path, help="a JSON file written by bench/run.py --json")
    parser.add_argument("folder", type=Path)
    arguments = parser.parse_args()
    for path in draw(json.loads(arguments.results.read_text()), arguments.folder):
        print(path)
