"""dashboard/undefined-variable: every Grafana variable a dashboard uses is defined in it.

Looks at target expressions and legends, panel and row titles, panel `repeat` and variable
queries. A name is fine when templating.list defines it or Grafana provides it (every name that
starts with `__`: $__interval, $__rate_interval, $__range, $__from, ${__field...}, ...; Grafana
reserves that prefix). `$1`, `${2}` (regex captures in label_replace) and `$labels`, `$value`
(Prometheus template data) are not variables. Datasource fields are dashboard/datasource's.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from typing import Any

from generator.checks.base import Check, CheckContext
from generator.checks.dashboard._common import (
    Dashboard,
    dashboards,
    describe_places,
    panel_label,
    ref_id,
    referenced_variables,
    targets,
)
from generator.checks.expressions import Location
from generator.checks.problem import Problem

_NOT_VARIABLES = frozenset({"labels", "value", "externalLabels", "externalURL"})


def run(context: CheckContext) -> Iterator[Problem]:
    for dashboard in dashboards(context):
        defined = frozenset(dashboard.variable_types())
        for panel in dashboard.panels():
            uses = _panel_uses(panel)
            owner = f"panel '{panel_label(panel)}'"
            yield from _report(dashboard, dashboard.location(panel), owner, uses, defined)
        for variable in dashboard.variables():
            query_uses: dict[str, list[str]] = {}
            _collect(_variable_query(variable), "its query", query_uses)
            owner = f"variable '{variable.get('name', '')}'"
            yield from _report(dashboard, dashboard.location(), owner, query_uses, defined)


def _panel_uses(panel: dict[str, Any]) -> dict[str, list[str]]:
    """Variable name -> the places of the panel that use it."""
    uses: dict[str, list[str]] = {}
    _collect(panel.get("title"), "the title", uses)
    repeat = panel.get("repeat")
    if isinstance(repeat, str) and repeat.strip("$ "):  # a bare name; "$gpu" is tolerated
        uses.setdefault(repeat.strip("$ "), []).append("repeat")
    for target in targets(panel):
        name = ref_id(target) or "(no refId)"
        _collect(target.get("expr"), f"the query of target {name}", uses)
        _collect(target.get("legendFormat"), f"the legend of target {name}", uses)
    return uses


def _variable_query(variable: dict[str, Any]) -> Any:
    query = variable.get("query")
    if isinstance(query, dict):
        query = query.get("query")
    return query if isinstance(query, str) else variable.get("definition")


def _collect(text: Any, place: str, uses: dict[str, list[str]]) -> None:
    if not isinstance(text, str) or ("$" not in text and "[[" not in text):
        return
    for name in referenced_variables(text):
        if not name.startswith("__") and name not in _NOT_VARIABLES:
            uses.setdefault(name, []).append(place)


def _report(
    dashboard: Dashboard,
    location: Location,
    owner: str,
    uses: dict[str, list[str]],
    defined: frozenset[str],
) -> Iterator[Problem]:
    for name, places in uses.items():
        if name in defined:
            continue
        guess = difflib.get_close_matches(name, sorted(defined), n=1)
        hint = (
            f"did you mean ${guess[0]}? Otherwise define a templating variable named '{name}'"
            if guess
            else f"define a templating variable named '{name}' or remove the reference"
        )
        yield CHECK.problem(
            f"{owner} uses ${name} in {describe_places(places)}, but the dashboard defines "
            f"no variable named '{name}'",
            dashboard.file,
            location,
            hint=hint,
        )


CHECK = Check(
    "dashboard/undefined-variable",
    "error",
    "every $variable a dashboard uses is defined in its templating list or built into Grafana",
    run,
)
