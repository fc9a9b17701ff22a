"""promql/deprecated-metric: no metric the configured exporter version has deprecated.

Shares its rules with promql/removed-metric; a removed metric is reported only there.
"""

from __future__ import annotations

from collections.abc import Iterator

from generator.checks.base import Check, CheckContext
from generator.checks.problem import Problem
from generator.checks.promql.removed_metric import findings, hint, version_text


def run(context: CheckContext) -> Iterator[Problem]:
    for parsed, selector, metric in findings(context, "deprecated"):
        removal = f", and is removed in {metric.removed_in}" if metric.removed_in else ""
        yield CHECK.at(
            parsed.source,
            f"metric '{selector.name}' is deprecated since "
            f"{version_text(context.settings, metric, metric.deprecated_in)}{removal}",
            hint=hint(selector.name, metric),
        )


CHECK = Check(
    "promql/deprecated-metric",
    "warning",
    "no metric the configured exporter version has deprecated",
    run,
)
