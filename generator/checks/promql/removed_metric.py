"""promql/removed-metric: no metric the configured exporter version has removed.

A metric is removed when the exporter version in settings is at or after its `removed_in`,
deprecated when at or after its `deprecated_in` (and not removed). Exporters without a
version in settings are taken as their newest release. Not reported: an old name joined by
`or` to its renamed_to name (what exporters.vllm.naming: either generates on purpose), and,
with naming: legacy, the deprecation of a renamed vLLM metric (that setting chooses the old
names). promql/deprecated-metric shares these rules.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

from generator.catalog import Metric
from generator.checks.base import Check, CheckContext, ParsedExpression
from generator.checks.problem import Problem
from generator.checks.promql._analysis import (
    Analysis,
    Selector,
    catalog_form,
    exposed_form,
    selectors_by_name,
    series,
    series_suffix,
    usage,
    version_tuple,
)
from generator.settings import Settings

Status = Literal["removed", "deprecated"]
_FINDINGS = "promql.removed-or-deprecated"
_EXPORTER_NAMES = {"vllm": "vLLM"}
_VERSION_KEYS = {
    "vllm": "exporters.vllm.version",
    "dcgm-exporter": "exporters.dcgm.version",
}


def exporter_version(settings: Settings, exporter: str) -> str:
    """The configured version of an exporter ('' when settings do not pin one: the newest)."""
    if exporter == "vllm":
        return settings.exporters.vllm.version
    if exporter == "dcgm-exporter":
        return settings.exporters.dcgm.version
    return ""


def status(settings: Settings, metric: Metric) -> Status | None:
    """Whether the configured exporter version has removed or deprecated this metric."""
    configured = exporter_version(settings, metric.exporter)
    current = version_tuple(configured) if configured else None
    if metric.removed_in and (current is None or current >= version_tuple(metric.removed_in)):
        return "removed"
    if metric.deprecated_in and (current is None or current >= version_tuple(metric.deprecated_in)):
        return "deprecated"
    return None


Finding = tuple[ParsedExpression, Selector, Metric]


def findings(context: CheckContext, wanted: Status) -> list[Finding]:
    """Each expression's selectors (one per name) of metrics with the `wanted` status."""
    cached: dict[Status, list[Finding]] | None = context.extra.get(_FINDINGS)
    if cached is None:
        cached = context.extra[_FINDINGS] = _all_findings(context)
    return cached[wanted]


def _all_findings(context: CheckContext) -> dict[Status, list[Finding]]:
    settings = context.settings
    legacy_naming = settings.exporters.vllm.naming == "legacy"
    found: dict[Status, list[Finding]] = {"removed": [], "deprecated": []}
    for name, uses in selectors_by_name(context).items():
        metric = series(context, name).metric if name else None
        state = status(settings, metric) if metric is not None else None
        if metric is None or state is None:
            continue
        # naming: legacy is the explicit choice of vLLM's old names; only removal matters.
        renamed_vllm = metric.exporter == "vllm" and bool(metric.renamed_to)
        if state == "deprecated" and legacy_naming and renamed_vllm:
            continue
        reported: set[int] = set()
        for parsed, analysis, selector in uses:
            if id(parsed) in reported:
                continue
            if _has_renamed_alternative(context, parsed, analysis, selector, metric):
                continue
            reported.add(id(parsed))
            found[state].append((parsed, selector, metric))
    return found


def _has_renamed_alternative(
    context: CheckContext,
    parsed: ParsedExpression,
    analysis: Analysis,
    selector: Selector,
    metric: Metric,
) -> bool:
    """True when the other side of an enclosing `or` selects this metric's new name."""
    if not any(op == "or" for _, op in analysis.binaries):
        return False
    targets = {metric.renamed_to, context.catalog.current_name(metric.name)} - {"", metric.name}
    if not targets:
        return False
    for or_node, side in usage(parsed, analysis, selector).or_path:
        for other in analysis.selectors:
            if other is selector or not other.name:
                continue
            other_path = usage(parsed, analysis, other).or_path
            if not any(node is or_node and s != side for node, s in other_path):
                continue
            other_metric = series(context, other.name).metric
            if other_metric is not None and other_metric.name in targets:
                return True
    return False


def version_text(settings: Settings, metric: Metric, version: str) -> str:
    """'vLLM 0.11 (exporters.vllm.version is 0.11)': the version and what it is compared with."""
    exporter = _EXPORTER_NAMES.get(metric.exporter, metric.exporter)
    key = _VERSION_KEYS.get(metric.exporter)
    if key:
        return f"{exporter} {version} ({key} is {exporter_version(settings, metric.exporter)})"
    return f"{exporter} {version} (no version in settings: taken as the newest release)"


def hint(name: str, metric: Metric) -> str:
    """What to query instead: the renamed series (in the query's prefix style) or the text."""
    if metric.renamed_to:
        prefix, _ = catalog_form(name)
        new = exposed_form(metric.renamed_to + series_suffix(metric, name), prefix)
        text = f"query '{new}' instead"
        if metric.exporter == "vllm":
            text += (
                "; obsgen's vLLM queries follow exporters.vllm.naming, and `naming: either` "
                "joins the new and old names with `or` while both are around"
            )
        return text
    if metric.replacement:
        return f"use {metric.replacement} instead"
    return "remove the query, or pin the exporter version that still exposes the metric"


def report(context: CheckContext, check: Check, wanted: Status) -> Iterator[Problem]:
    """`check`'s problem for each finding of the `wanted` status, with what to query instead."""
    settings = context.settings
    for parsed, selector, metric in findings(context, wanted):
        if wanted == "removed":
            message = (
                f"metric '{selector.name}' was removed in "
                f"{version_text(settings, metric, metric.removed_in)}"
            )
        else:
            removal = f", and is removed in {metric.removed_in}" if metric.removed_in else ""
            message = (
                f"metric '{selector.name}' is deprecated since "
                f"{version_text(settings, metric, metric.deprecated_in)}{removal}"
            )
        yield check.at(parsed.source, message, hint=hint(selector.name, metric))


def run(context: CheckContext) -> Iterator[Problem]:
    return report(context, CHECK, "removed")


CHECK = Check(
    "promql/removed-metric",
    "error",
    "no metric the configured exporter version has removed",
    run,
)
