"""Dashboards' default time ranges (time.from / time.to, e.g. "now-1h" .. "now") in seconds."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

DEFAULT_RANGE_SECONDS = 3600.0  # Grafana's own default, for dashboards without a time range
_RELATIVE = re.compile(r"^now(?:-(\d+)([smhdwMy]))?(?:/[smhdwMy])?$")
_UNIT_SECONDS = {
    "s": 1,
    "m": 60,
    "h": 3600,
    "d": 86400,
    "w": 7 * 86400,
    "M": 30 * 86400,
    "y": 365 * 86400,
}


def seconds_ago(relative: str) -> float | None:
    """Returns how many seconds before now a Grafana relative time lies ("now-6h" -> 21600,
    "now" -> 0; a trailing rounding such as "/d" is ignored), or None when it is not one."""
    match = _RELATIVE.match(relative.strip())
    if match is None:
        return None
    amount, unit = match.groups()
    return float(int(amount) * _UNIT_SECONDS[unit]) if amount else 0.0


def default_range(dashboard: Mapping[str, Any]) -> tuple[float, float]:
    """Returns the dashboard's default time range as (from, to) in seconds before now;
    an absent or absolute range counts as Grafana's default, the last hour."""
    time_range = dashboard.get("time")
    if isinstance(time_range, Mapping):
        start = seconds_ago(str(time_range.get("from", "")))
        end = seconds_ago(str(time_range.get("to", "now")))
        if start is not None and end is not None and start > end:
            return start, end
    return DEFAULT_RANGE_SECONDS, 0.0


def longest_default_range(dashboards: Iterable[Mapping[str, Any]]) -> float:
    """Returns how far back (seconds) the furthest-reaching default time range goes."""
    return max((default_range(d)[0] for d in dashboards), default=DEFAULT_RANGE_SECONDS)
