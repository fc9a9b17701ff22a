"""alert/labels: every alerting rule has a severity label of critical, warning or info.

Alertmanager routes on severity (critical pages, warning opens a ticket, info is not routed);
an alert without one, or with another value, reaches nobody or the wrong person.
"""

from __future__ import annotations

from collections.abc import Iterator

from generator.checks.alert._common import alerting_rules
from generator.checks.base import Check, CheckContext
from generator.checks.problem import Problem

SEVERITIES = ("critical", "warning", "info")
_HINT = "set labels.severity to critical (pages), warning (a ticket) or info (not routed)"


def run(context: CheckContext) -> Iterator[Problem]:
    for alert in alerting_rules(context):
        labels = alert.rule.get("labels")
        if labels is not None and not isinstance(labels, dict):
            message = f"alert '{alert.name}' has labels that are not a mapping"
        elif not isinstance(labels, dict) or "severity" not in labels:
            message = f"alert '{alert.name}' has no severity label"
        elif labels["severity"] not in SEVERITIES:
            message = (
                f"alert '{alert.name}' has severity {labels['severity']!r}; "
                f"it must be one of {', '.join(SEVERITIES)}"
            )
        else:
            continue
        yield CHECK.problem(message, alert.file, alert.location, hint=_HINT)


CHECK = Check(
    "alert/labels",
    "error",
    "every alert has a severity label: critical, warning or info",
    run,
)
