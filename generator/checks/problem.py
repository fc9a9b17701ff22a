"""The one type every check reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Severity = Literal["error", "warning", "info"]
SEVERITY_RANK: dict[str, int] = {"info": 0, "warning": 1, "error": 2}
LOCATION_KEYS = ("dashboard", "panel", "refId", "group", "rule", "line", "column")


@dataclass(frozen=True)
class Problem:
    """A finding: which check, how bad, where, what is wrong and what to do about it."""

    check: str
    severity: Severity
    message: str
    file: str
    location: dict[str, str | int] = field(default_factory=dict)
    hint: str = ""
    docs: str = ""  # docs/checks.md#<check>

    def describe(self) -> str:
        """One line for people: file, location, severity, check id and message."""
        where = ", ".join(
            f"{k} {v!r}" if isinstance(v, str) else f"{k} {v}"
            for k, v in self.ordered_location().items()
        )
        place = f"{self.file} ({where})" if where else self.file
        text = f"{place}: {self.severity} [{self.check}] {self.message}"
        return f"{text}; {self.hint}" if self.hint else text

    def ordered_location(self) -> dict[str, str | int]:
        """The location keys in a fixed order (dashboard, panel, refId, group, rule, ...)."""
        return {k: self.location[k] for k in LOCATION_KEYS if k in self.location}

    def to_json(self) -> dict[str, Any]:
        """The JSON form: exactly check, severity, message, hint, file and location."""
        return {
            "check": self.check,
            "severity": self.severity,
            "message": self.message,
            "hint": self.hint,
            "file": self.file,
            "location": self.ordered_location(),
        }

    def sort_key(self) -> tuple[Any, ...]:
        """Stable report order: file, then position, then check."""
        loc = self.location
        return (
            self.file,
            str(loc.get("dashboard", "")),
            str(loc.get("group", "")),
            str(loc.get("panel", "")),
            str(loc.get("rule", "")),
            str(loc.get("refId", "")),
            int(loc.get("line", 0) or 0),
            int(loc.get("column", 0) or 0),
            self.check,
            self.message,
        )
