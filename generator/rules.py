"""The alert-rule model content modules build: rule groups of alerting and recording rules."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["critical", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = ("critical", "warning", "info")


@dataclass(frozen=True)
class AlertingRule:
    """One Prometheus alert; `summary`/`description` may use $labels and $value templates."""

    alert: str
    expr: str
    severity: Severity
    summary: str
    description: str
    for_duration: str = ""  # empty: the settings' alerts.for_duration
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RecordingRule:
    """A precomputed series (level:metric:operations) that heavy panels and alerts read."""

    record: str
    expr: str
    labels: Mapping[str, str] = field(default_factory=dict)


Rule = AlertingRule | RecordingRule


@dataclass(frozen=True)
class RuleGroup:
    """Rules evaluated together; `interval` empty means Prometheus' global evaluation interval."""

    name: str
    rules: tuple[Rule, ...]
    interval: str = ""
