"""alert/template: label and annotation templates parse and use labels the result has.

Each label and annotation value is a Go template: every `{{` needs its `}}`, actions cannot
nest or be empty, and a `}}` without `{{` is a typo. `$labels.x`, `.Labels.x` and
`index $labels "x"` read the labels of the series that fired. A label the expression's result
certainly lacks (see generator.checks.labels, the inference promql/lost-label uses: outside an
aggregation's `by (...)`, in its `without (...)`, any label after one with no grouping)
renders as an empty string. Plain selectors keep labels obsgen cannot know, so nothing is
reported for them. $labels never holds the rule's own labels (severity, ...) or alertname.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from generator.checks.alert._common import AlertRule, alerting_rules
from generator.checks.base import Check, CheckContext
from generator.checks.labels import ANY, Labels, output_labels
from generator.checks.problem import Problem

_LABEL_READ = re.compile(
    r"(?:\$labels|\.Labels)\.([A-Za-z_][A-Za-z0-9_]*)"
    r"|index\s+(?:\$labels|\.Labels)\s+\"([^\"]*)\""
)
_TRIM = " \t\r\n-"


def run(context: CheckContext) -> Iterator[Problem]:
    for alert in alerting_rules(context):
        known = output_labels(context, alert.parsed) if alert.parsed is not None else ANY
        for field in ("labels", "annotations"):
            for key, text in alert.text_fields(field).items():
                if "{" not in text and "}" not in text:
                    continue
                actions, fault = _actions(text)
                where = f"{field[:-1]} '{key}'"
                if fault:
                    yield CHECK.problem(
                        f"alert '{alert.name}' {where}: {fault}",
                        alert.file,
                        alert.location,
                        hint="close every {{ with }}; write a literal brace with "
                        '{{ "{{" }} if you need one',
                    )
                yield from _missing_labels(alert, where, actions, known)


def _actions(text: str) -> tuple[list[str], str]:
    """The text inside each {{ }} action, and the first fault in the template ("" if none)."""
    actions: list[str] = []
    position = 0
    while True:
        start = text.find("{{", position)
        stray = text.find("}}", position)
        if stray != -1 and (start == -1 or stray < start):
            return actions, f"'}}}}' at column {stray + 1} closes no '{{{{'"
        if start == -1:
            return actions, ""
        end = text.find("}}", start + 2)
        if end == -1:
            return actions, f"'{{{{' at column {start + 1} is never closed with '}}}}'"
        inner = text[start + 2 : end]
        if "{{" in inner:
            nested = start + 2 + inner.index("{{")
            return actions, (
                f"'{{{{' at column {start + 1} is not closed before the next "
                f"'{{{{' at column {nested + 1}"
            )
        if not inner.strip(_TRIM):
            return actions, f"the action at column {start + 1} is empty"
        actions.append(inner)
        position = end + 2


def _missing_labels(
    alert: AlertRule, where: str, actions: list[str], known: Labels
) -> Iterator[Problem]:
    own = alert.text_fields("labels")
    reported: set[str] = set()
    for action in actions:
        for match in _LABEL_READ.finditer(action):
            label = match.group(1) or match.group(2) or ""
            if not label or known.has(label) or label in reported:
                continue
            reported.add(label)
            kept = known.describe()
            if label in own or label == "alertname":
                why = (
                    f"$labels holds the labels of the result series ({kept}), "
                    f"not the rule's own labels"
                )
                hint = f"write the value of '{label}' directly instead of $labels.{label}"
            else:
                why = f"the expression's result keeps {'' if known.open else 'only '}{kept}"
                hint = (
                    f"keep '{label}' in the aggregation, e.g. by (..., {label}), "
                    f"or stop using it in the template"
                )
            yield CHECK.problem(
                f"alert '{alert.name}' {where} uses $labels.{label}, which is always empty: {why}",
                alert.file,
                alert.location,
                hint=hint,
            )


CHECK = Check(
    "alert/template",
    "error",
    "alert templates are balanced and only use labels the expression keeps",
    run,
)
