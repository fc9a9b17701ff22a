"""The one type every check reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["error", "warning", "info"]


@dataclass(frozen=True)
class Problem:
    """A finding: which check, how bad, where, what is wrong and what to do about it."""

    check: str
    severity: Severity
    message: str
    file: str
    location: dict[str, str | int] = field(default_factory=dict)
    hint: str = ""

    def describe(self) -> str:
        """One line for people: file, location, severity, check id and message."""
        where = ", ".join(
            f"{k} {v!r}" if isinstance(v, str) else f"{k} {v}" for k, v in self.location.items()
        )
        place = f"{self.file} ({where})" if where else self.file
        text = f"{place}: {self.severity} [{self.check}] {self.message}"
        return f"{text}; {self.hint}" if self.hint else text
