"""dashboard/duplicate-ids: panel ids, target refIds and dashboard uids are unique.

Two panels of one dashboard (rows' nested panels included) must not share an id: Grafana
links, repeats and edits address panels by id. Two targets of one panel must not share a
refId (missing or empty refIds count as the same value when there are several): expressions
and transformations address queries by refId. Two dashboards validated together must not
share a uid: the second would overwrite the first in Grafana.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

from generator.checks.base import Check, CheckContext
from generator.checks.dashboard._common import Dashboard, dashboards, panel_label, ref_id, targets
from generator.checks.problem import Problem


def run(context: CheckContext) -> Iterator[Problem]:
    owners: dict[str, Dashboard] = {}
    for dashboard in dashboards(context):
        yield from _panel_ids(dashboard)
        yield from _ref_ids(dashboard)
        uid = dashboard.model.get("uid")
        if not isinstance(uid, str) or not uid:
            continue
        first = owners.setdefault(uid, dashboard)
        if first is not dashboard:
            yield CHECK.problem(
                f"dashboard uid '{uid}' is also the uid of '{first.title}' in {first.file}; "
                f"one would overwrite the other in Grafana",
                dashboard.file,
                dashboard.location(),
                hint="give every dashboard its own uid",
            )


def _panel_ids(dashboard: Dashboard) -> Iterator[Problem]:
    first_with_id: dict[Any, dict[str, Any]] = {}
    for panel in dashboard.panels():
        panel_id = panel.get("id")
        if not isinstance(panel_id, int | str) or isinstance(panel_id, bool):
            continue
        first = first_with_id.setdefault(panel_id, panel)
        if first is panel:
            continue
        yield CHECK.problem(
            f"panel '{panel_label(panel)}' has id {panel_id!r}, already used by panel "
            f"'{panel_label(first)}'",
            dashboard.file,
            dashboard.location(panel),
            hint="give every panel, nested panels included, its own id",
        )


def _ref_ids(dashboard: Dashboard) -> Iterator[Problem]:
    for panel in dashboard.panels():
        found = targets(panel)
        if len(found) < 2:
            continue
        counts = Counter(ref_id(t) for t in found)
        for name, count in counts.items():
            if count < 2:
                continue
            what = f"refId '{name}'" if name else "an empty or missing refId"
            yield CHECK.problem(
                f"panel '{panel_label(panel)}' has {count} targets with {what}",
                dashboard.file,
                {**dashboard.location(panel), "refId": name},
                hint="give every target of the panel its own refId (A, B, C, ...)",
            )


CHECK = Check(
    "dashboard/duplicate-ids",
    "error",
    "panel ids, target refIds within a panel and dashboard uids are unique",
    run,
)
