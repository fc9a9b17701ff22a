"""rules/duplicate: no rule or rule group is defined twice in the validated rule files.

Errors: two rules (alerting or recording) with the same name, expression (ignoring
whitespace) and labels: the second adds nothing but duplicate alerts or series; a group name
repeated in one file (Prometheus refuses to load the file). Warnings: the same group name or an
identical rule in two files (Prometheus loads both, but the same rules may be loaded twice; a
rule file next to the PrometheusRule made from it shows up this way); one recording rule name
with the same labels but different expressions: both write the same series name, so queries
read a mix of the two.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from generator.checks.base import Check, CheckContext
from generator.checks.expressions import group_rules, rule_groups, rule_location
from generator.checks.problem import Problem


@dataclass(frozen=True, eq=False)
class _Place:
    """Where a group or rule is: each one gets its own _Place, compared by identity."""

    document: int  # index of the rule document: one Prometheus rule file
    file: str
    group: str

    def describe(self, other: _Place) -> str:
        if self.document == other.document:
            return f"group '{self.group}' of this file"
        return f"group '{self.group}' of {self.file}"


def run(context: CheckContext) -> Iterator[Problem]:
    groups: dict[str, _Place] = {}
    rules: dict[tuple[str, str, str, tuple[tuple[str, str], ...]], _Place] = {}
    records: dict[tuple[str, tuple[tuple[str, str], ...]], tuple[str, _Place]] = {}
    for index, document in enumerate(context.rule_files):
        for group in rule_groups(document.data):
            name = group.get("name")
            group_name = name if isinstance(name, str) else ""
            place = _Place(index, document.file, group_name)
            if group_name:
                yield from _group_name(groups, place)
            for rule in group_rules(group):
                rule_place = _Place(index, document.file, group_name)
                yield from _rule(rules, records, rule_place, group, rule)


def _group_name(groups: dict[str, _Place], place: _Place) -> Iterator[Problem]:
    first = groups.setdefault(place.group, place)
    if first is place:
        return
    if first.document == place.document:
        message = (
            f"rule group '{place.group}' is defined twice in this file; "
            f"Prometheus refuses to load it"
        )
    else:
        message = f"rule group '{place.group}' is also defined in {first.file}"
    yield CHECK.problem(
        message,
        place.file,
        {"group": place.group},
        hint="rename one of the groups, or remove the copy",
        severity="error" if first.document == place.document else "warning",
    )


def _rule(
    rules: dict[tuple[str, str, str, tuple[tuple[str, str], ...]], _Place],
    records: dict[tuple[str, tuple[tuple[str, str], ...]], tuple[str, _Place]],
    place: _Place,
    group: dict[str, Any],
    rule: dict[str, Any],
) -> Iterator[Problem]:
    kind = "alert" if "alert" in rule else "record"
    name = rule.get(kind)
    if not isinstance(name, str) or not name:
        return
    expr = rule.get("expr")
    text = " ".join(expr.split()) if isinstance(expr, str) else str(expr)
    labels = _labels(rule.get("labels"))
    location = rule_location(group, rule)
    first = rules.setdefault((kind, name, text, labels), place)
    what = "alert" if kind == "alert" else "recording rule"
    if first is not place:
        yield CHECK.problem(
            f"{what} '{name}' is an exact copy of the one in {first.describe(place)} "
            f"(same name, expression and labels)",
            place.file,
            location,
            hint="remove one of the two copies",
            severity="error" if first.document == place.document else "warning",
        )
        return
    if kind != "record":
        return
    first_text, first_place = records.setdefault((name, labels), (text, place))
    if first_text != text:
        yield CHECK.problem(
            f"recording rule '{name}' is also defined in {first_place.describe(place)} with "
            f"the same labels but a different expression; both write series named '{name}'",
            place.file,
            location,
            hint="give one of them another name, or tell them apart with a static label",
            severity="warning",
        )


def _labels(value: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, dict):
        return ()
    return tuple(sorted((str(k), str(v)) for k, v in value.items()))


CHECK = Check(
    "rules/duplicate",
    "error",
    "no rule, recording rule name or rule group is defined twice",
    run,
)
