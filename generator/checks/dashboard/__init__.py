"""Checks of the dashboard/ family: one module per check, collected in CHECKS."""

from __future__ import annotations

from generator.checks.base import Check
from generator.checks.dashboard import (
    datasource,
    description,
    duplicate_ids,
    grid,
    no_targets,
    undefined_variable,
    units,
)

CHECKS: tuple[Check, ...] = (
    datasource.CHECK,
    undefined_variable.CHECK,
    units.CHECK,
    description.CHECK,
    no_targets.CHECK,
    grid.CHECK,
    duplicate_ids.CHECK,
)
