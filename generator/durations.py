"""Prometheus durations ("1h30m", "90s") as seconds and back: settings, rules and checks share
them."""

from __future__ import annotations

import re
from typing import Any

_DURATION = re.compile(
    r"(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?"
)
_DURATION_UNITS = (365 * 86400, 7 * 86400, 86400, 3600, 60, 1, 0.001)


def parse_duration(value: Any) -> float | None:
    """Seconds in a Prometheus duration ("1h30m", "90s", "0"), or None when it is not one."""
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(text, str) or not text:
        return None
    if text == "0":
        return 0.0
    match = _DURATION.fullmatch(text)
    if match is None:
        return None
    return sum(int(v) * unit for v, unit in zip(match.groups(), _DURATION_UNITS, strict=True) if v)


def format_duration(seconds: float) -> str:
    """90 -> "1m30s", 120 -> "2m", 0.5 -> "500ms"."""
    if seconds < 1:
        return f"{round(seconds * 1000)}ms"
    whole = int(seconds)
    parts = []
    for unit, size in (("h", 3600), ("m", 60), ("s", 1)):
        if whole >= size:
            parts.append(f"{whole // size}{unit}")
            whole %= size
    return "".join(parts)
