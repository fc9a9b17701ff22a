"""Every check obsgen runs, in the order docs/checks.md introduces them."""

from __future__ import annotations

from generator.checks import alert, dashboard, live, promql, rules, syntax
from generator.checks.base import Check

ALL_CHECKS: tuple[Check, ...] = (
    syntax.CHECK,
    *promql.CHECKS,
    *dashboard.CHECKS,
    *alert.CHECKS,
    *rules.CHECKS,
    *live.CHECKS,
)


def check_ids() -> list[str]:
    """The id of every check."""
    return [check.id for check in ALL_CHECKS]
