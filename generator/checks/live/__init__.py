"""Checks of the live/ family: one module per check, collected in CHECKS."""

from __future__ import annotations

from generator.checks.base import Check

CHECKS: tuple[Check, ...] = ()
