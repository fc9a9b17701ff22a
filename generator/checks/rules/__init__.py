"""Checks of the rules/ family: one module per check, collected in CHECKS."""

from __future__ import annotations

from generator.checks.base import Check
from generator.checks.rules import duplicate

CHECKS: tuple[Check, ...] = (duplicate.CHECK,)
