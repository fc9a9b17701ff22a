"""Checks of the promql/ family: one module per check, collected in CHECKS."""

from __future__ import annotations

from generator.checks.base import Check
from generator.checks.promql import (
    counter_without_rate,
    deprecated_metric,
    histogram_quantile,
    lost_label,
    rate_interval,
    rate_on_gauge,
    removed_metric,
    target_version,
    unknown_metric,
)

CHECKS: tuple[Check, ...] = (
    unknown_metric.CHECK,
    removed_metric.CHECK,
    deprecated_metric.CHECK,
    rate_on_gauge.CHECK,
    counter_without_rate.CHECK,
    histogram_quantile.CHECK,
    rate_interval.CHECK,
    lost_label.CHECK,
    target_version.CHECK,
)
