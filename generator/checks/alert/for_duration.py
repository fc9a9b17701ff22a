"""alert/for: an alert's `for` is a valid duration that outlasts one collection of its data.

`for` must be a Prometheus duration (5m, 1h30m, 0s). A non-zero `for` shorter than two
collection intervals of the data the expression reads confirms nothing: a single sample, or a
single scrape glitch, fires the alert. The collection interval is the scrape interval in
settings (prometheus.scrape_interval), or the exporter's own sampling period when that is
longer (dcgm-exporter samples every 30 s), found through the metric catalog and through the
recording rules the expression reads. A missing or zero `for` is not reported: it says "fire on
the first sample", which is right for events such as XID errors.
"""

from __future__ import annotations

from collections.abc import Iterator

from generator.checks.alert._common import (
    AlertRule,
    alerting_rules,
    metric_names,
)
from generator.checks.base import Check, CheckContext
from generator.checks.problem import Problem
from generator.durations import format_duration, parse_duration

# Seconds between two samples an exporter takes itself, whatever the scrape interval.
EXPORTER_COLLECTION_SECONDS = {"dcgm-exporter": 30.0}
_DCGM_PREFIX = "DCGM_FI_"


def run(context: CheckContext) -> Iterator[Problem]:
    scrape = parse_duration(context.settings.prometheus.scrape_interval) or 0.0
    for alert in alerting_rules(context):
        raw = alert.rule.get("for")
        if raw is None:
            continue
        seconds = parse_duration(raw)
        if seconds is None:
            yield CHECK.problem(
                f"alert '{alert.name}' has for: {raw!r}, which is not a Prometheus duration",
                alert.file,
                alert.location,
                hint="write a duration such as 5m, 90s or 1h30m (units ms, s, m, h, d, w, y, "
                "largest first)",
            )
            continue
        if seconds == 0:
            continue
        interval, source = _collection_interval(context, alert, scrape)
        if seconds < 2 * interval:
            yield CHECK.problem(
                f"alert '{alert.name}' has for: {raw}, shorter than two collection intervals "
                f"({format_duration(2 * interval)}; {source}), so a single sample fires it",
                alert.file,
                alert.location,
                hint=f"set for to at least {format_duration(2 * interval)}, or to 0s if the "
                f"alert should fire on the first sample (an event such as an XID error)",
            )


def _collection_interval(
    context: CheckContext, alert: AlertRule, scrape: float
) -> tuple[float, str]:
    """The longest interval between two fresh samples of the alert's data, and why."""
    interval, source = scrape, f"Prometheus scrapes every {format_duration(scrape)}"
    if alert.ast is None:
        return interval, source
    for name in sorted(metric_names(context, alert.ast)):
        metric = context.catalog.resolve(name)
        exporter = metric.exporter if metric is not None else ""
        if not exporter and name.startswith(_DCGM_PREFIX):
            exporter = "dcgm-exporter"
        own = EXPORTER_COLLECTION_SECONDS.get(exporter, 0.0)
        if own > interval:
            interval = own
            source = f"{exporter} samples {name} every {format_duration(own)}"
    return interval, source


CHECK = Check(
    "alert/for",
    "warning",
    "an alert's for is a valid duration of at least two collection intervals (or 0)",
    run,
)
