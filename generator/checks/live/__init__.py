"""Checks of the live/ family: one module per check, collected in CHECKS.

They run only with --prometheus URL, and only read: GET requests with timeouts, a bounded
number of them, within a bounded time."""

from __future__ import annotations

from generator.checks.base import Check
from generator.checks.live import metadata, series

CHECKS: tuple[Check, ...] = (series.CHECK, metadata.CHECK)
