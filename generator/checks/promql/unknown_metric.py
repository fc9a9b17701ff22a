"""promql/unknown-metric: every selected metric is in the catalog or recorded by a rule."""

from __future__ import annotations

import difflib
from collections.abc import Iterator

from generator.checks.base import Check, CheckContext
from generator.checks.problem import Problem
from generator.checks.promql._analysis import (
    catalog_form,
    exposed_form,
    is_substituted,
    selectors_by_name,
    series,
)

# Series Prometheus writes itself: per scrape target, and for alerting rules.
BUILTIN_SERIES = frozenset(
    {
        "up",
        "scrape_duration_seconds",
        "scrape_samples_scraped",
        "scrape_series_added",
        "scrape_samples_post_metric_relabeling",
        "scrape_timeout_seconds",
        "scrape_sample_limit",
        "scrape_body_size_bytes",
        "ALERTS",
        "ALERTS_FOR_STATE",
    }
)


def run(context: CheckContext) -> Iterator[Problem]:
    recorded = context.recorded_names
    for name, uses in selectors_by_name(context).items():
        if not name or name in BUILTIN_SERIES or name in recorded:
            continue
        known = series(context, name)
        if known.metric is not None or known.legacy_of is not None:
            continue
        reported: set[int] = set()
        for parsed, _, _ in uses:
            if id(parsed) in reported or is_substituted(parsed, name):
                continue
            reported.add(id(parsed))
            yield CHECK.at(
                parsed.source,
                f"metric '{name}' is not in the metric catalog, not recorded by a rule in the "
                f"validated files and not a Prometheus built-in series",
                hint=_hint(context, name),
            )


def _hint(context: CheckContext, name: str) -> str:
    hints: dict[str, str] = context.extra.setdefault("promql.unknown-metric.hints", {})
    if name not in hints:  # difflib is slow: once per distinct name
        hints[name] = _did_you_mean(context, name)
    return hints[name]


def _did_you_mean(context: CheckContext, name: str) -> str:
    prefix, plain = catalog_form(name)
    candidates = [*context.catalog.names(), *context.recorded_names]
    guesses = difflib.get_close_matches(plain, candidates, n=1, cutoff=0.75)
    if guesses:
        return f"did you mean '{exposed_form(guesses[0], prefix)}'?"
    return (
        "check the spelling; if the metric is real, add it to generator/catalog/metrics.yaml "
        "or validate the rule file that records it together with this file"
    )


CHECK = Check(
    "promql/unknown-metric",
    "warning",
    "every metric is in the catalog, recorded by a rule, or a Prometheus built-in",
    run,
)
