"""The Grafana dashboard in docs/ reads only metrics the gateway exports."""

from __future__ import annotations

import json
import re

from tests.conftest import Gateway
from tests.processes import ROOT

PROMQL_WORDS = {"sum", "by", "rate", "max", "histogram_quantile", "le", "increase", "offset"}


async def test_every_metric_the_dashboard_reads_is_exported(gateway: Gateway) -> None:
    await gateway.place(item_id=1001)
    exported = (await gateway.call("GET", "/metrics", tenant=None)).body
    families = set(re.findall(r"^# TYPE (\w+) ", exported, re.M))
    dashboard = json.loads((ROOT / "docs" / "grafana-dashboard.json").read_text())
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    assert len(exprs) >= 12
    for expr in exprs:
        names = {
            n for n in re.findall(r"\b([a-z_]+)\b(?=[\[{(\s)]|$)", re.sub(r'"[^"]*"', "", expr))
            if "_" in n and n not in PROMQL_WORDS and n not in {"gateway", "process"}
        }  # fmt: skip
        assert names, expr
        for name in names:
            family = re.sub(r"_(total|bucket|count|sum)$", "", name)
            assert family in families or name in families, (name, expr)
