"""grafanalib Dashboard -> normalized, deterministic Grafana JSON (DESIGN decision 1).

grafanalib emits an old schema: plain-string datasources, empty refIds, legacy target and
dashboard fields, null-filled panels. This pass fixes that once for every dashboard, so content
authors never work around it.
"""

from __future__ import annotations

import json
import string
from typing import Any

import grafanalib.core as G

from generator.errors import RenderError

SCHEMA_VERSION = 39
GRID_WIDTH = 24
DATASOURCE_REF = {"type": "prometheus", "uid": "${datasource}"}

# Fields grafanalib writes that current Grafana ignores or migrates away; dropping them keeps
# rendered files small and diffs meaningful.
_LEGACY_DASHBOARD_KEYS = (
    "rows",
    "style",
    "hideControls",
    "sharedCrosshair",
    "gnetId",
    "__inputs",
    "id",
    "version",
)
_LEGACY_PANEL_KEYS = (
    "cacheTimeout",
    "editable",
    "error",
    "height",
    "hideTimeOverride",
    "minSpan",
    "span",
    "maxDataPoints",
    "repeatDirection",
    "maxPerRow",
)
_LEGACY_TARGET_KEYS = ("query", "metric", "target", "step", "intervalFactor", "hide")
_LEGACY_HEATMAP_KEYS = (
    "cards",
    "color",
    "dataFormat",
    "heatmap",
    "hideZeroBuckets",
    "highlightCards",
    "legend",
    "tooltip",
    "xAxis",
    "yAxis",
    "xBucketNumber",
    "xBucketSize",
    "yBucketBound",
    "yBucketNumber",
    "yBucketSize",
    "reverseYBuckets",
)
_VARIABLE_KEEP = (
    "name",
    "label",
    "type",
    "query",
    "datasource",
    "current",
    "hide",
    "includeAll",
    "multi",
    "refresh",
    "sort",
    "regex",
    "allValue",
    "description",
)


def render_dashboard(dashboard: G.Dashboard, origin: str) -> dict[str, Any]:
    """Returns the normalized Grafana JSON model of `dashboard` (`origin` names its module)."""
    raw = _plain(dashboard)
    title = raw.get("title") or "(untitled)"
    if not raw.get("uid"):
        raise RenderError(
            f"{origin}: dashboard '{title}' has no uid; set a stable uid so "
            f"links and pushes keep pointing at it"
        )
    model: dict[str, Any] = raw
    for key in _LEGACY_DASHBOARD_KEYS:
        model.pop(key, None)
    model["schemaVersion"] = SCHEMA_VERSION
    model["annotations"] = {"list": [_builtin_annotation()]}
    model["templating"] = {
        "list": [_variable(v) for v in model.get("templating", {}).get("list", [])]
    }
    model["panels"] = _panels(model.get("panels", []), f"{origin}: dashboard '{title}'")
    return model


def _panels(panels: list[dict[str, Any]], where: str) -> list[dict[str, Any]]:
    next_id = 1
    result = []
    for panel in panels:
        nested = panel.get("panels", [])
        panel = _panel(panel, next_id, where)
        next_id += 1
        if panel["type"] == "row":
            panel["panels"] = []
            for child in nested:
                panel["panels"].append(_panel(child, next_id, where))
                next_id += 1
        result.append(panel)
    return result


def _panel(panel: dict[str, Any], panel_id: int, where: str) -> dict[str, Any]:
    for key in _LEGACY_PANEL_KEYS:
        panel.pop(key, None)
    panel["id"] = panel_id
    title = panel.get("title", "")
    grid = panel.get("gridPos")
    if not isinstance(grid, dict) or not all(
        isinstance(grid.get(k), int) for k in ("x", "y", "w", "h")
    ):
        raise RenderError(
            f"{where}, panel '{title}': no grid position; build panels with "
            f"generator.panels helpers or give a GridPos"
        )
    if grid["x"] < 0 or grid["w"] < 1 or grid["x"] + grid["w"] > GRID_WIDTH:
        raise RenderError(
            f"{where}, panel '{title}': gridPos x={grid['x']} w={grid['w']} "
            f"does not fit the {GRID_WIDTH}-column grid"
        )
    if panel.get("type") == "row":
        for key in (
            "datasource",
            "targets",
            "fieldConfig",
            "transformations",
            "links",
            "description",
            "interval",
            "timeFrom",
            "timeShift",
            "transparent",
        ):
            panel.pop(key, None)
        panel.setdefault("collapsed", False)
        return panel
    panel["datasource"] = dict(DATASOURCE_REF)
    panel["targets"] = [_target(t, i) for i, t in enumerate(panel.get("targets", []))]
    _normalize_thresholds(panel)
    if panel.get("type") == "heatmap":
        _modern_heatmap(panel)
    return panel


def _target(target: dict[str, Any], index: int) -> dict[str, Any]:
    for key in _LEGACY_TARGET_KEYS:
        target.pop(key, None)
    target["refId"] = _ref_id(index)
    target["datasource"] = dict(DATASOURCE_REF)
    target["editorMode"] = "code"
    target["range"] = not target.get("instant", False)
    if not target.get("interval"):
        target.pop("interval", None)
    return target


def _ref_id(index: int) -> str:
    """A, B, ..., Z, AA, AB, ... like Grafana's own query editor."""
    letters = string.ascii_uppercase
    name = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        name = letters[remainder] + name
    return name


def _normalize_thresholds(panel: dict[str, Any]) -> None:
    defaults = panel.setdefault("fieldConfig", {}).setdefault("defaults", {})
    thresholds = defaults.setdefault("thresholds", {})
    thresholds["mode"] = "absolute"
    steps: list[dict[str, Any]] = []
    for step in thresholds.get("steps") or [{"color": "green"}]:
        value = step.get("value")
        steps.append(
            {
                "color": step.get("color", "green"),
                "value": None if not steps or value in ("null", None) else float(value),
            }
        )
    thresholds["steps"] = steps
    panel["fieldConfig"].setdefault("overrides", [])


def _modern_heatmap(panel: dict[str, Any]) -> None:
    unit = (panel.get("yAxis") or {}).get("format", "short")
    for key in _LEGACY_HEATMAP_KEYS:
        panel.pop(key, None)
    panel["options"] = {
        "calculate": False,
        "cellGap": 1,
        "color": {
            "mode": "scheme",
            "scheme": "Oranges",
            "steps": 64,
            "exponent": 0.5,
            "fill": "dark-orange",
            "reverse": False,
        },
        "filterValues": {"le": 1e-9},
        "legend": {"show": True},
        "rowsFrame": {"layout": "auto"},
        "tooltip": {"mode": "single", "yHistogram": True, "showColorScale": False},
        "yAxis": {"axisPlacement": "left", "unit": unit, "reverse": False},
        "cellValues": {},
        "showValue": "never",
        "exemplars": {"color": "rgba(255,0,255,0.7)"},
    }
    panel["fieldConfig"]["defaults"]["unit"] = unit


def _variable(variable: dict[str, Any]) -> dict[str, Any]:
    result = {k: variable[k] for k in _VARIABLE_KEEP if k in variable}
    if result.get("type") == "query":
        result["datasource"] = dict(DATASOURCE_REF)
        result["definition"] = result.get("query", "")
        result["options"] = []
        if result.get("includeAll") and "value" not in result.get("current", {}):
            result["current"] = {"selected": True, "text": ["All"], "value": ["$__all"]}
    if result.get("type") == "datasource":
        result.pop("datasource", None)
        result["options"] = []
    current = result.setdefault("current", {})
    current.pop("tags", None)  # a pre-8 field that grafanalib still writes
    result.setdefault("regex", "")
    return result


def _builtin_annotation() -> dict[str, Any]:
    return {
        "builtIn": 1,
        "datasource": {"type": "grafana", "uid": "-- Grafana --"},
        "enable": True,
        "hide": True,
        "iconColor": "rgba(0, 211, 255, 1)",
        "name": "Annotations & Alerts",
        "type": "dashboard",
    }


def _plain(value: Any) -> Any:
    """Returns the JSON data of a grafanalib object tree without nulls in objects, as
    json.loads(json.dumps(value, cls=DashboardEncoder)) would give it with the nulls then
    dropped, in one pass; every dict and list is a fresh one."""
    kind = type(value)
    if kind is dict:
        plain = {}
        for key, item in value.items():
            if item is not None and (item := _plain(item)) is not None:
                plain[key if type(key) is str else _json_key(key)] = item
        return plain
    if kind is list or kind is tuple:
        return [_plain(item) for item in value]
    if kind is str or kind is int or kind is float or kind is bool or value is None:
        return value
    if not isinstance(value, (str, int, float, list, tuple, dict)):
        to_json_data = getattr(value, "to_json_data", None)  # as grafanalib's DashboardEncoder
        if to_json_data:
            return _plain(to_json_data())
        raise TypeError(f"Object of type {kind.__name__} is not JSON serializable")
    # Subclasses of JSON's types, in the order json's encoder tries them.
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int.__index__(value)
    if isinstance(value, float):
        return float.__float__(value)
    return _plain(list(value) if isinstance(value, (list, tuple)) else dict(value))


def _json_key(key: Any) -> str:
    """Returns a non-string dict key as JSON writes it (1 -> "1", True -> "true")."""
    if isinstance(key, (bool, int, float)) or key is None:
        return str(json.loads(json.dumps({key: 0})).popitem()[0])
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")
