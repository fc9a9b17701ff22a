"""The rule model -> Prometheus rule-file documents (DESIGN decision 2)."""

from __future__ import annotations

from typing import Any

from generator.rules import AlertingRule, RecordingRule, RuleGroup
from generator.settings import Settings


def render_rule_groups(groups: list[RuleGroup], settings: Settings) -> dict[str, Any]:
    """Returns a rule file ({"groups": [...]}) with the settings' labels and runbook links."""
    return {"groups": [_group(group, settings) for group in groups]}


def _group(group: RuleGroup, settings: Settings) -> dict[str, Any]:
    rendered: dict[str, Any] = {"name": group.name}
    if group.interval:
        rendered["interval"] = group.interval
    rendered["rules"] = [
        _alert(rule, settings) if isinstance(rule, AlertingRule) else _record(rule)
        for rule in group.rules
    ]
    return rendered


def runbook_url(pattern: str, alert: str) -> str:
    """The pattern with {alert} as the alert name and {alert_lower} as its GitHub anchor."""
    return pattern.replace("{alert_lower}", alert.lower()).replace("{alert}", alert)


def _alert(rule: AlertingRule, settings: Settings) -> dict[str, Any]:
    # The rule's own labels win over the settings' defaults; severity always comes from the rule.
    labels = {**settings.alerts.labels, **rule.labels, "severity": rule.severity}
    annotations = {
        "summary": rule.summary,
        "description": rule.description,
        "runbook_url": runbook_url(settings.alerts.runbook_url, rule.alert),
        **rule.annotations,
    }
    return {
        "alert": rule.alert,
        "expr": rule.expr,
        "for": rule.for_duration or settings.alerts.for_duration,
        "labels": dict(sorted(labels.items())),
        "annotations": dict(sorted(annotations.items())),
    }


def _record(rule: RecordingRule) -> dict[str, Any]:
    rendered: dict[str, Any] = {"record": rule.record, "expr": rule.expr}
    if rule.labels:
        rendered["labels"] = dict(sorted(rule.labels.items()))
    return rendered
