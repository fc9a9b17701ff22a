"""dashboard/units: every panel that draws numbers says what they measure.

Applies to timeseries, graph, stat, singlestat, gauge, bargauge, heatmap, barchart, histogram
and trend panels. Tables are left out (their columns mix label text and numbers, with units
set per column through overrides), and so is any panel with value mappings (it shows text).
The unit is fieldConfig.defaults.unit; a heatmap may set it in options.yAxis.unit, a legacy
graph in yaxes[0].format, a singlestat in format. "none" and "short" count as set.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from generator.checks.base import Check, CheckContext
from generator.checks.dashboard._common import (
    NUMERIC_PANEL_TYPES,
    non_empty_text,
    panel_label,
    panel_type,
    panels_of_types,
)
from generator.checks.problem import Problem


def run(context: CheckContext) -> Iterator[Problem]:
    for dashboard, panel, kind in panels_of_types(context, NUMERIC_PANEL_TYPES):
        defaults = _object(_object(panel.get("fieldConfig")).get("defaults"))
        if _has_unit(panel, defaults) or _has_mappings(defaults):
            continue
        yield CHECK.problem(
            f"{kind} panel '{panel_label(panel)}' has no unit, so its axis and values "
            f"are bare numbers",
            dashboard.file,
            dashboard.location(panel),
            hint="set fieldConfig.defaults.unit (e.g. percentunit, bytes, s, reqps; "
            "'short' or 'none' for plain counts)",
        )


def _has_unit(panel: dict[str, Any], defaults: dict[str, Any]) -> bool:
    if non_empty_text(defaults.get("unit")):
        return True
    kind = panel_type(panel)
    if kind == "heatmap":
        options = _object(panel.get("options"))
        return non_empty_text(_object(options.get("yAxis")).get("unit")) or non_empty_text(
            _object(panel.get("yAxis")).get("format")
        )
    if kind == "graph":
        axes = panel.get("yaxes")
        return (
            isinstance(axes, list) and bool(axes) and non_empty_text(_object(axes[0]).get("format"))
        )
    if kind == "singlestat":
        return non_empty_text(panel.get("format"))
    return False


def _has_mappings(defaults: dict[str, Any]) -> bool:
    mappings = defaults.get("mappings")
    return isinstance(mappings, list) and bool(mappings)


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


CHECK = Check(
    "dashboard/units",
    "warning",
    "every panel that shows numbers has a unit",
    run,
)
