"""live/metadata: the type Prometheus reports for a metric agrees with the catalog's.

The offline checks (rate over a gauge, a counter without rate) trust the catalog's types; a
disagreement means the exporter differs from what the catalog describes (another version, or
another program using the same name), so those checks cannot be trusted for that metric.
Prometheus keeps metadata per metric family: a histogram's _bucket/_sum/_count series are
reported under the base name, and an OpenMetrics counter x_total under x.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from functools import partial

from generator.catalog import Metric
from generator.checks.base import Check, CheckContext, ParsedExpression
from generator.checks.live.series import (
    LIVE_FILE,
    MAX_SELECTORS,
    budget_seconds,
    expression_selectors,
    incomplete,
)
from generator.checks.problem import Problem
from generator.prometheus_api import ApiError, PrometheusClient, connection, run_bounded

# Which types Prometheus may report for each catalog type without contradicting it.
AGREEING_TYPES: dict[str, frozenset[str]] = {
    "counter": frozenset({"counter"}),
    "gauge": frozenset({"gauge"}),
    "histogram": frozenset({"histogram", "gaugehistogram"}),
    "summary": frozenset({"summary"}),
    "info": frozenset({"info", "gauge"}),  # the text format has no info type
}
_UNTYPED = frozenset({"", "unknown", "untyped"})  # no TYPE line: nothing to compare
_SUFFIXES = {"histogram": ("_bucket", "_sum", "_count"), "summary": ("_sum", "_count")}


def family_names(series_name: str, metric: Metric) -> tuple[str, ...]:
    """The names Prometheus may keep the metadata of `series_name` under, most likely first."""
    for suffix in _SUFFIXES.get(metric.type, ()):
        if series_name.endswith(suffix):
            return (series_name.removesuffix(suffix),)
    if metric.type == "counter" and series_name.endswith("_total"):
        return (series_name, series_name.removesuffix("_total"))
    return (series_name,)


def reported_types(client: PrometheusClient, names: tuple[str, ...]) -> tuple[str, frozenset[str]]:
    """(family name, the types Prometheus reports for it); empty when it reports none."""
    for name in names:
        data = client.get("/api/v1/metadata", [("metric", name)])
        entries = data.get(name) if isinstance(data, dict) else None
        types = frozenset(
            str(entry.get("type", "")) for entry in entries or [] if isinstance(entry, dict)
        )
        if types - _UNTYPED:
            return name, types - _UNTYPED
    return names[0], frozenset()


def run(context: CheckContext) -> Iterator[Problem]:
    client = connection(context)
    if isinstance(client, str):
        return  # live/series reports the one connection problem
    uses: dict[tuple[str, ...], list[tuple[ParsedExpression, Metric]]] = {}
    for parsed in context.expressions:
        seen: set[tuple[str, ...]] = set()
        for selector in expression_selectors(parsed):
            metric = context.catalog.resolve(selector.name) if selector.name else None
            if metric is None or metric.type not in AGREEING_TYPES:
                continue
            names = family_names(selector.name, metric)
            if names not in seen:
                seen.add(names)
                uses.setdefault(names, []).append((parsed, metric))
    chosen = list(uses)[:MAX_SELECTORS]
    if len(uses) > MAX_SELECTORS:
        yield CHECK.problem(
            f"{len(uses)} distinct catalog metrics; only the first {MAX_SELECTORS} were looked up",
            LIVE_FILE,
            severity="info",
        )
    started = time.monotonic()
    answers, outcome = run_bounded(
        {names: partial(reported_types, client, names) for names in chosen},
        budget_seconds(context),
    )
    failed: list[Exception] = []
    for names in chosen:
        answer = answers.get(names)
        if isinstance(answer, Exception):
            failed.append(answer)
            continue
        if answer is None:
            continue
        family, types = answer
        for parsed, metric in uses[names]:
            if types and not types <= AGREEING_TYPES[metric.type]:
                yield _disagreement(parsed, family, types, metric)
    if failed or outcome.unanswered:
        yield _incomplete(len(chosen), failed, outcome.unanswered, time.monotonic() - started)


def _disagreement(
    parsed: ParsedExpression, family: str, types: frozenset[str], metric: Metric
) -> Problem:
    reported = " and ".join(sorted(types))
    return CHECK.at(
        parsed.source,
        f"Prometheus reports {family} as {reported}; the catalog says {metric.type} "
        f"({metric.exporter})",
        hint=f"checks that depend on the type (rate over a gauge, a counter without rate) "
        f"follow the catalog: is this {metric.exporter} the version obsgen.yaml names, or "
        "another program exporting the same name?",
    )


def _incomplete(asked: int, failed: list[Exception], unanswered: int, seconds: float) -> Problem:
    reasons = []
    if failed:
        kind = "refused" if isinstance(failed[0], ApiError) else "failed"
        reasons.append(f"{len(failed)} lookups {kind} ({failed[0]})")
    if unanswered:
        reasons.append(f"{unanswered} were not answered within {seconds:.0f}s")
    return incomplete(CHECK, f"{asked} metric types", reasons)


CHECK = Check(
    "live/metadata",
    "warning",
    "the metric types Prometheus reports agree with the catalog",
    run,
    live=True,
)
