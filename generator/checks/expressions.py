"""Every PromQL expression in a document, with where it was found and what surrounds it.

Documents from users can be any shape: walking them tolerates missing keys and wrong types
(a later check reports those), so it never raises.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

ExpressionKind = Literal["panel", "variable", "alert", "record"]
Location = dict[str, str | int]


@dataclass(frozen=True)
class Expression:
    """One query: its text, its file and location, and the parts around it checks need."""

    text: str
    file: str
    location: Location
    kind: ExpressionKind
    legend: str = ""  # the panel target's legendFormat
    rule: dict[str, Any] = field(default_factory=dict, compare=False)  # the whole rule

    @property
    def templated(self) -> bool:
        """Dashboard queries may use Grafana variables; rule expressions may not."""
        return self.kind in ("panel", "variable")


def all_panels(panels: Any) -> Iterator[dict[str, Any]]:
    """Every panel, row panels' nested panels included, skipping anything not an object."""
    stack = list(reversed(panels)) if isinstance(panels, list) else []
    while stack:
        panel = stack.pop()
        if isinstance(panel, dict):
            yield panel
            nested = panel.get("panels")
            if isinstance(nested, list):
                stack.extend(reversed(nested))


def dashboard_panels(model: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel of a dashboard, including those of pre-5 `rows` dashboards."""
    yield from all_panels(model.get("panels"))
    rows = model.get("rows")
    for row in rows if isinstance(rows, list) else []:
        if isinstance(row, dict):
            yield from all_panels(row.get("panels"))


def dashboard_expressions(model: dict[str, Any], file: str) -> Iterator[Expression]:
    """Every target expression of every panel (Prometheus targets have `expr`)."""
    title = str(model.get("title", ""))
    for panel in dashboard_panels(model):
        targets = panel.get("targets")
        for target in targets if isinstance(targets, list) else []:
            if not isinstance(target, dict) or not isinstance(target.get("expr"), str):
                continue
            if not _is_prometheus(target.get("datasource"), panel.get("datasource")):
                continue
            location: Location = {
                "dashboard": title,
                "panel": str(panel.get("title", "")),
                "refId": str(target.get("refId", "")),
            }
            yield Expression(
                target["expr"],
                file,
                location,
                "panel",
                legend=str(target.get("legendFormat") or ""),
            )


def _is_prometheus(target_source: Any, panel_source: Any) -> bool:
    """False only for a datasource of a known other type (Loki, OpenSearch, ...)."""
    source = target_source if target_source not in (None, "", {}) else panel_source
    if isinstance(source, dict):
        kind = source.get("type")
        return kind in (None, "", "prometheus") or "$" in str(kind)
    return True


def rule_groups(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The groups of a rule file that are objects."""
    groups = document.get("groups")
    for group in groups if isinstance(groups, list) else []:
        if isinstance(group, dict):
            yield group


def group_rules(group: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The rules of a group that are objects."""
    rules = group.get("rules")
    for rule in rules if isinstance(rules, list) else []:
        if isinstance(rule, dict):
            yield rule


def rule_location(group: dict[str, Any], rule: dict[str, Any]) -> Location:
    """{"group": ..., "rule": ...} for messages."""
    name = rule.get("alert") or rule.get("record") or ""
    return {"group": str(group.get("name", "")), "rule": str(name)}


def rule_expressions(document: dict[str, Any], file: str) -> Iterator[Expression]:
    """Every rule expression of a Prometheus rule file."""
    for group in rule_groups(document):
        for rule in group_rules(group):
            kind: ExpressionKind = "alert" if "alert" in rule else "record"
            expr = rule.get("expr")
            text = expr if isinstance(expr, str) else "" if expr is None else str(expr)
            yield Expression(text, file, rule_location(group, rule), kind, rule=rule)
