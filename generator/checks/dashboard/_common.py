"""What the dashboard/ checks share: panel names and locations, variables, datasource refs.

Dashboards come from users and can have any shape; every helper here tolerates missing keys
and wrong types and never raises.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from generator.checks.base import CheckContext
from generator.checks.documents import Document
from generator.checks.expressions import Location, all_panels
from generator.grafana_variables import REFERENCE

GRID_WIDTH = 24
# Grafana's own data sources: annotations & alerts, mixed panels, reuse of another panel's query.
BUILTIN_DATASOURCE_UIDS = frozenset({"-- Grafana --", "-- Mixed --", "-- Dashboard --"})
_GRAFANA_SOURCE_TYPES = frozenset({"grafana", "datasource", ""})  # types of uid "grafana"
_NAME = re.compile(r"\w+")
# Panel types that draw numbers, so a unit says what they measure.
NUMERIC_PANEL_TYPES = frozenset(
    {
        "timeseries",
        "graph",
        "stat",
        "singlestat",
        "gauge",
        "bargauge",
        "heatmap",
        "barchart",
        "histogram",
        "trend",
    }
)
# Panel types that show query results: the numeric ones and those that show text or shapes.
QUERY_PANEL_TYPES = NUMERIC_PANEL_TYPES | frozenset(
    {
        "table",
        "table-old",
        "piechart",
        "state-timeline",
        "status-history",
        "logs",
        "xychart",
        "candlestick",
        "geomap",
        "nodeGraph",
        "traces",
        "flamegraph",
    }
)


@dataclass(frozen=True)
class Dashboard:
    """One dashboard document: its model, file and title."""

    document: Document

    @property
    def model(self) -> dict[str, Any]:
        return self.document.data

    @property
    def file(self) -> str:
        return self.document.file

    @property
    def title(self) -> str:
        title = self.model.get("title")
        return title if isinstance(title, str) else ""

    def location(self, panel: dict[str, Any] | None = None) -> Location:
        """{"dashboard": ..., "panel": ...} for a problem in `panel` (or the dashboard)."""
        location: Location = {"dashboard": self.title}
        if panel is not None:
            location["panel"] = panel_label(panel)
        return location

    def panels(self) -> Iterator[dict[str, Any]]:
        """Every panel, rows' nested panels included."""
        return all_panels(self.model.get("panels"))

    def variables(self) -> list[dict[str, Any]]:
        """The templating variables that are objects."""
        templating = self.model.get("templating")
        found = templating.get("list") if isinstance(templating, dict) else None
        return [v for v in found if isinstance(v, dict)] if isinstance(found, list) else []

    def variable_types(self) -> dict[str, str]:
        """Variable name -> its type ("query", "datasource", "custom", ...)."""
        types: dict[str, str] = {}
        for variable in self.variables():
            name = variable.get("name")
            if isinstance(name, str) and name:
                kind = variable.get("type")
                types.setdefault(name, kind if isinstance(kind, str) else "")
        return types


def dashboards(context: CheckContext) -> Iterator[Dashboard]:
    """Every dashboard document of the run."""
    for document in context.dashboards:
        if isinstance(document.data, dict):
            yield Dashboard(document)


def panels_of_types(
    context: CheckContext, kinds: frozenset[str]
) -> Iterator[tuple[Dashboard, dict[str, Any], str]]:
    """(dashboard, panel, its type) for every panel whose type is in `kinds`, library-panel
    references left out (their model lives in the library)."""
    for dashboard in dashboards(context):
        for panel in dashboard.panels():
            kind = panel_type(panel)
            if kind in kinds and not is_library_panel(panel):
                yield dashboard, panel, kind


def panel_label(panel: dict[str, Any]) -> str:
    """The panel's title, or "#<id>" when it has none."""
    title = panel.get("title")
    if isinstance(title, str) and title.strip():
        return title
    panel_id = panel.get("id")
    return f"#{panel_id}" if panel_id is not None else "(untitled)"


def panel_type(panel: dict[str, Any]) -> str:
    kind = panel.get("type")
    return kind if isinstance(kind, str) else ""


def is_row(panel: dict[str, Any]) -> bool:
    return panel_type(panel) == "row"


def is_library_panel(panel: dict[str, Any]) -> bool:
    """A reference to a library panel: its model (targets, units, ...) lives in the library."""
    return isinstance(panel.get("libraryPanel"), dict)


def targets(panel: dict[str, Any]) -> list[dict[str, Any]]:
    """The panel's targets that are objects."""
    found = panel.get("targets")
    return [t for t in found if isinstance(t, dict)] if isinstance(found, list) else []


def ref_id(target: dict[str, Any]) -> str:
    value = target.get("refId")
    return value if isinstance(value, str) else ""


def non_empty_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


DatasourceKind = Literal["missing", "builtin", "variable", "hard-coded", "no-uid"]


def classify_datasource(source: Any) -> tuple[DatasourceKind, str]:
    """What a datasource reference is, and its variable name or hard-coded value.

    Accepts the current form ({"type": ..., "uid": ...}) and the legacy plain string (a
    datasource name, "$datasource" or "-- Mixed --").
    """
    if source is None or source in ("", {}):
        return "missing", ""
    if isinstance(source, str):
        uid, kind = source, ""
    elif isinstance(source, dict):
        raw_uid, raw_kind = source.get("uid"), source.get("type")
        kind = raw_kind if isinstance(raw_kind, str) else ""
        if raw_uid is None or raw_uid == "":
            return ("variable", _variable_name(kind)) if _variable_name(kind) else ("no-uid", kind)
        uid = raw_uid if isinstance(raw_uid, str) else str(raw_uid)
    else:
        return "hard-coded", str(source)
    if uid in BUILTIN_DATASOURCE_UIDS or (uid == "grafana" and kind in _GRAFANA_SOURCE_TYPES):
        return "builtin", uid
    name = _variable_name(uid)
    return ("variable", name) if name else ("hard-coded", uid)


def _variable_name(text: str) -> str:
    match = REFERENCE.search(text)
    if match is None:
        return ""
    return match.group(1) or match.group(2) or match.group(4) or ""


def referenced_variables(text: str) -> Iterator[str]:
    """Names of the Grafana variables `text` references: `$x`, `${x}`, `${x:fmt}`, `[[x]]`.

    `$1` (a regex capture in label_replace) and `[[:alpha:]]` (a regex class) are not names.
    """
    for match in REFERENCE.finditer(text):
        name = match.group(1) or match.group(2) or match.group(4) or ""
        if name and not name.isdigit() and _NAME.fullmatch(name):
            yield name


def describe_places(places: list[str]) -> str:
    """ "the panel datasource, target A and target B" from a list of places."""
    unique = list(dict.fromkeys(places))
    if len(unique) <= 1:
        return "".join(unique)
    return ", ".join(unique[:-1]) + " and " + unique[-1]
