"""dashboard/grid: every panel has a position on Grafana's 24-column grid, and none overlap.

A panel needs a gridPos with whole numbers x, y >= 0, w, h >= 1 and x + w <= 24. Rows take a
full-width band of height 1 at their y, whatever their gridPos says. Top-level panels and rows
must not overlap each other; the panels inside a row (a collapsed row keeps them nested) must
not overlap each other either.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from generator.checks.base import Check, CheckContext
from generator.checks.dashboard._common import (
    GRID_WIDTH,
    Dashboard,
    dashboards,
    is_row,
    panel_label,
)
from generator.checks.problem import Problem

_KEYS = ("x", "y", "w", "h")


@dataclass(frozen=True)
class _Box:
    x: int
    y: int
    w: int
    h: int
    panel: dict[str, Any]

    def describe(self) -> str:
        kind = "row" if is_row(self.panel) else "panel"
        return (
            f"{kind} '{panel_label(self.panel)}' (x={self.x}, y={self.y}, w={self.w}, h={self.h})"
        )


def run(context: CheckContext) -> Iterator[Problem]:
    for dashboard in dashboards(context):
        top = dashboard.model.get("panels")
        top = [p for p in top if isinstance(p, dict)] if isinstance(top, list) else []
        yield from _check_layer(dashboard, top, "")
        for row in top:
            nested = row.get("panels") if is_row(row) else None
            if isinstance(nested, list) and nested:
                panels = [p for p in nested if isinstance(p, dict)]
                yield from _check_layer(dashboard, panels, f" inside row '{panel_label(row)}'")


def _check_layer(
    dashboard: Dashboard, panels: list[dict[str, Any]], layer: str
) -> Iterator[Problem]:
    boxes: list[_Box] = []
    for panel in panels:
        box, problem = _box(dashboard, panel)
        if problem is not None:
            yield problem
        if box is not None:
            boxes.append(box)
    boxes.sort(key=lambda b: (b.y, b.x))
    # Panels above that still reach the current y; kept free of overlaps, so at most 24.
    active: list[_Box] = []
    for box in boxes:
        active = [a for a in active if a.y + a.h > box.y]
        other = next((a for a in active if a.x < box.x + box.w and box.x < a.x + a.w), None)
        if other is None:
            active.append(box)
            continue
        yield CHECK.problem(
            f"{box.describe()} overlaps {other.describe()}{layer}",
            dashboard.file,
            dashboard.location(box.panel),
            hint="move or resize one of them so they share no grid cell",
        )


def _box(dashboard: Dashboard, panel: dict[str, Any]) -> tuple[_Box | None, Problem | None]:
    name = panel_label(panel)
    grid = panel.get("gridPos")
    if not isinstance(grid, dict):
        kind = "row" if is_row(panel) else "panel"
        return None, _problem(dashboard, panel, f"{kind} '{name}' has no gridPos")
    values = {k: _whole(grid.get(k)) for k in _KEYS}
    if is_row(panel):
        row_y = values["y"]
        if row_y is None or row_y < 0:
            return None, _problem(
                dashboard, panel, f"row '{name}' has no valid gridPos.y (a whole number >= 0)"
            )
        return _Box(0, row_y, GRID_WIDTH, 1, panel), None
    numbers = [v for v in values.values() if v is not None]
    if len(numbers) != len(_KEYS):
        bad = ", ".join(k for k, v in values.items() if v is None)
        return None, _problem(
            dashboard, panel, f"panel '{name}' has a gridPos without whole-number {bad}"
        )
    x, y, w, h = numbers
    faults = []
    if x < 0 or y < 0:
        faults.append("x and y must be >= 0")
    if w < 1 or h < 1:
        faults.append("w and h must be >= 1")
    if x + w > GRID_WIDTH:
        faults.append(f"x + w = {x + w} is wider than the {GRID_WIDTH}-column grid")
    if faults:
        return None, _problem(
            dashboard,
            panel,
            f"panel '{name}' has gridPos x={x}, y={y}, w={w}, h={h}: {'; '.join(faults)}",
        )
    return _Box(x, y, w, h, panel), None


def _whole(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _problem(dashboard: Dashboard, panel: dict[str, Any], message: str) -> Problem:
    return CHECK.problem(
        message,
        dashboard.file,
        dashboard.location(panel),
        hint=f'give it a gridPos such as {{"x": 0, "y": 0, "w": 12, "h": 8}} '
        f"inside the {GRID_WIDTH}-column grid",
    )


CHECK = Check(
    "dashboard/grid",
    "error",
    "every panel has a valid gridPos inside 24 columns and no two panels overlap",
    run,
)
