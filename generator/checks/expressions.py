"""Every PromQL expression in rendered documents, with where it was found."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Expression:
    """One query: its text, the file it lives in, and its location inside that file."""

    text: str
    file: str
    location: dict[str, str | int]
    templated: bool  # True for dashboard queries, which may use Grafana variables


def dashboard_expressions(model: dict[str, Any], file: str) -> Iterator[Expression]:
    """Every target expression of every panel, nested row panels included."""
    title = model.get("title", "")
    for panel in _all_panels(model.get("panels", [])):
        for target in panel.get("targets", []):
            expr = target.get("expr")
            if isinstance(expr, str):
                location: dict[str, str | int] = {
                    "dashboard": title,
                    "panel": panel.get("title", ""),
                    "refId": target.get("refId", ""),
                }
                yield Expression(expr, file, location, templated=True)


def rule_expressions(document: dict[str, Any], file: str) -> Iterator[Expression]:
    """Every rule expression of a Prometheus rule file."""
    for group in document.get("groups", []):
        for rule in group.get("rules", []):
            name = rule.get("alert") or rule.get("record") or ""
            location: dict[str, str | int] = {"group": group.get("name", ""), "rule": name}
            yield Expression(str(rule.get("expr", "")), file, location, templated=False)


def _all_panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _all_panels(panel.get("panels", []))
