"""dashboard/no-targets: a panel that shows query results has at least one query.

Applies to Grafana's query-based panel types (timeseries, graph, stat, gauge, bargauge,
table, heatmap, barchart, piechart, histogram, state-timeline, status-history, logs, trend,
xychart, ...); text, news, dashlist, alertlist, row panels, library-panel references and
plugin panels obsgen does not know need none. A target counts as a query when it has a
non-empty `expr`, when its datasource is neither Prometheus nor Loki (other plugins keep their
query in other fields), or when it is a Grafana built-in (-- Dashboard -- reuses another
panel's query).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from generator.checks.base import Check, CheckContext
from generator.checks.dashboard._common import (
    QUERY_PANEL_TYPES,
    classify_datasource,
    non_empty_text,
    panel_label,
    panels_of_types,
    targets,
)
from generator.checks.problem import Problem

_PROMQL_TYPES = ("", "prometheus", "loki")


def run(context: CheckContext) -> Iterator[Problem]:
    for dashboard, panel, kind in panels_of_types(context, QUERY_PANEL_TYPES):
        found = targets(panel)
        if not found:
            message = f"{kind} panel '{panel_label(panel)}' has no targets, so it stays empty"
        elif not any(_has_query(t, panel.get("datasource")) for t in found):
            count = "its target has" if len(found) == 1 else f"all {len(found)} targets have"
            message = f"{kind} panel '{panel_label(panel)}' shows nothing: {count} an empty query"
        else:
            continue
        yield CHECK.problem(
            message,
            dashboard.file,
            dashboard.location(panel),
            hint="add a query (expr) to the panel, or remove the panel",
        )


def _has_query(target: dict[str, Any], panel_source: Any) -> bool:
    if non_empty_text(target.get("expr")):
        return True
    source = target.get("datasource")
    if source in (None, "", {}):
        source = panel_source
    kind, _ = classify_datasource(source)
    if kind == "builtin":
        return True  # -- Dashboard -- and -- Grafana -- queries have no expr
    source_type = source.get("type") if isinstance(source, dict) else ""
    if not isinstance(source_type, str) or "$" in source_type:
        source_type = ""
    return source_type not in _PROMQL_TYPES


CHECK = Check(
    "dashboard/no-targets",
    "error",
    "every query-based panel has at least one non-empty query",
    run,
)
