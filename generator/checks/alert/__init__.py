"""Checks of the alert/ family: one module per check, collected in CHECKS."""

from __future__ import annotations

from generator.checks.alert import (
    comparison,
    for_duration,
    labels,
    required_annotations,
    template,
)
from generator.checks.base import Check

CHECKS: tuple[Check, ...] = (
    labels.CHECK,
    required_annotations.CHECK,
    for_duration.CHECK,
    template.CHECK,
    comparison.CHECK,
)
