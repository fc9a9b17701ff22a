"""dashboard/description: every panel says what it shows and how to read it.

Every panel except rows and library-panel references (whose description lives in the
library) needs a non-empty description; Grafana shows it as the (i) tooltip.
"""

from __future__ import annotations

from collections.abc import Iterator

from generator.checks.base import Check, CheckContext
from generator.checks.dashboard._common import (
    dashboards,
    is_library_panel,
    is_row,
    non_empty_text,
    panel_label,
)
from generator.checks.problem import Problem


def run(context: CheckContext) -> Iterator[Problem]:
    for dashboard in dashboards(context):
        for panel in dashboard.panels():
            if is_row(panel) or is_library_panel(panel):
                continue
            if non_empty_text(panel.get("description")):
                continue
            yield CHECK.problem(
                f"panel '{panel_label(panel)}' has no description",
                dashboard.file,
                dashboard.location(panel),
                hint="add a description: what the panel shows, where the data comes from "
                "and what a bad value means",
            )


CHECK = Check(
    "dashboard/description",
    "warning",
    "every panel has a description",
    run,
)
