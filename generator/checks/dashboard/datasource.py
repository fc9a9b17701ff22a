"""dashboard/datasource: every query goes through a datasource variable the dashboard defines.

A hard-coded datasource uid or name ties the dashboard to one Grafana; a reference to a
variable that is not a `datasource`-type variable of the dashboard (the reference GPU Training
dashboard uses `$datasource` without defining it) leaves its panels without data. Panels,
targets, query and ad hoc variables and annotations are checked; Grafana's built-in sources
(-- Grafana --, -- Mixed --, -- Dashboard --) are fine. This check owns every datasource
reference: dashboard/undefined-variable does not look at datasource fields.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from generator.checks.base import Check, CheckContext
from generator.checks.dashboard._common import (
    Dashboard,
    classify_datasource,
    dashboards,
    describe_places,
    is_library_panel,
    is_row,
    panel_label,
    ref_id,
    targets,
)
from generator.checks.expressions import Location
from generator.checks.problem import Problem

_QUERYING_VARIABLE_TYPES = ("query", "adhoc")
_HINT_VARIABLE = (
    'use the dashboard\'s datasource variable, e.g. {"type": "prometheus", "uid": "${datasource}"}'
)

# (what is wrong, the variable name or hard-coded value) -> places it occurs, in order
_Findings = dict[tuple[str, str], list[str]]


def run(context: CheckContext) -> Iterator[Problem]:
    for dashboard in dashboards(context):
        yield from _check_dashboard(dashboard)


def _check_dashboard(dashboard: Dashboard) -> Iterator[Problem]:
    types = dashboard.variable_types()
    queries = False
    for panel in dashboard.panels():
        if is_row(panel) or is_library_panel(panel):
            continue
        findings = _panel_findings(panel, types)
        if findings is None:
            continue
        queries = True
        owner = f"panel '{panel_label(panel)}'"
        yield from _report(dashboard, dashboard.location(panel), owner, findings)
    for variable in dashboard.variables():
        if variable.get("type") not in _QUERYING_VARIABLE_TYPES:
            continue
        queries = True
        name = variable.get("name")
        findings = {}
        _classify(variable.get("datasource"), "", types, findings)
        yield from _report(dashboard, dashboard.location(), f"variable '{name}'", findings)
    for annotation in _annotations(dashboard):
        if annotation.get("builtIn") == 1 or annotation.get("datasource") in (None, "", {}):
            continue
        findings = {}
        _classify(annotation.get("datasource"), "", types, findings)
        where = f"annotation '{annotation.get('name', '')}'"
        yield from _report(dashboard, dashboard.location(), where, findings)
    if queries and "datasource" not in types.values():
        yield CHECK.problem(
            f"dashboard '{dashboard.title}' defines no datasource variable, so its queries "
            f"cannot follow the data source chosen in Grafana",
            dashboard.file,
            dashboard.location(),
            hint="add a templating variable of type datasource named 'datasource' "
            "(query: prometheus) and use ${datasource} in every panel and target",
        )


def _panel_findings(panel: dict[str, Any], types: dict[str, str]) -> _Findings | None:
    """What is wrong with the panel's datasources, or None when the panel runs no query."""
    panel_targets = targets(panel)
    if not panel_targets:
        return None
    findings: _Findings = {}
    panel_source = panel.get("datasource")
    if panel_source not in (None, "", {}):
        _classify(panel_source, "the panel datasource", types, findings)
    for target in panel_targets:
        place = f"target {ref_id(target) or '(no refId)'}"
        source = target.get("datasource")
        if source in (None, "", {}):
            if panel_source in (None, "", {}):
                findings.setdefault(("missing", ""), []).append(place)
            continue  # inherits the panel's, checked above
        _classify(source, place, types, findings)
    return findings


def _classify(source: Any, place: str, types: dict[str, str], findings: _Findings) -> None:
    kind, value = classify_datasource(source)
    fault: str = kind
    if kind == "builtin":
        return
    if kind == "variable":
        variable_type = types.get(value)
        if variable_type == "datasource":
            return
        fault = "undefined" if variable_type is None else f"not-datasource:{variable_type}"
    findings.setdefault((fault, value), []).append(place)


def _report(
    dashboard: Dashboard, location: Location, owner: str, findings: _Findings
) -> Iterator[Problem]:
    for (kind, value), places in findings.items():
        where = describe_places([p for p in places if p])
        where = f" ({where})" if where else ""
        if kind == "hard-coded":
            message = f"{owner} uses the hard-coded datasource '{value}'{where}"
            hint = _HINT_VARIABLE
        elif kind == "undefined":
            message = (
                f"{owner} uses datasource variable ${value}{where}, but the dashboard "
                f"defines no variable named '{value}'"
            )
            hint = f"add a templating variable of type datasource named '{value}'"
        elif kind.startswith("not-datasource:"):
            variable_type = kind.partition(":")[2] or "untyped"
            message = (
                f"{owner} uses ${value} as its datasource{where}, but '{value}' is a "
                f"{variable_type} variable, not a datasource variable"
            )
            hint = f"make '{value}' a variable of type datasource, or {_HINT_VARIABLE}"
        elif kind == "no-uid":
            message = (
                f"{owner} names a datasource type ('{value}') but no uid{where}, "
                f"so Grafana picks its default datasource"
            )
            hint = _HINT_VARIABLE
        else:
            message = f"{owner} has no datasource{where}, so Grafana queries its default datasource"
            hint = _HINT_VARIABLE
        yield CHECK.problem(message, dashboard.file, location, hint=hint)


def _annotations(dashboard: Dashboard) -> list[dict[str, Any]]:
    annotations = dashboard.model.get("annotations")
    found = annotations.get("list") if isinstance(annotations, dict) else None
    return [a for a in found if isinstance(a, dict)] if isinstance(found, list) else []


CHECK = Check(
    "dashboard/datasource",
    "error",
    "every query uses a datasource variable the dashboard defines, never a hard-coded uid",
    run,
)
