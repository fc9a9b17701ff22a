"""promql/deprecated-metric: no metric the configured exporter version has deprecated.

Shares its rules with promql/removed-metric; a removed metric is reported only there.
"""

from __future__ import annotations

from collections.abc import Iterator

from generator.checks.base import Check, CheckContext
from generator.checks.problem import Problem
from generator.checks.promql.removed_metric import report


def run(context: CheckContext) -> Iterator[Problem]:
    return report(context, CHECK, "deprecated")


CHECK = Check(
    "promql/deprecated-metric",
    "warning",
    "no metric the configured exporter version has deprecated",
    run,
)
