"""Settings -> the Alertmanager configuration document (Alertmanager 0.25 syntax).

Routing: team routes first, then one route per severity, and the default receiver at the root.
Inhibition: a critical alert silences the warnings about the same GPU, or the same model.
"""

from __future__ import annotations

from typing import Any

from generator.rules import SEVERITIES
from generator.settings import Settings

# Each critical alert silences only the warning it supersedes, for the same GPU: a hot GPU must
# not hide a new XID. Named alerts, because Alertmanager treats a label missing on both sides
# as equal and an unscoped rule would silence unrelated warnings.
# A latency SLO page silences its own ticket for the same model: one problem, one notification.
INHIBIT_PAIRS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("GpuTemperatureCritical", "GpuTemperatureHigh", ("Hostname", "gpu")),
    ("GpuTemperatureCritical", "GpuThermalThrottling", ("Hostname", "gpu")),
    # GpuXidError already leaves hardware XIDs out; this covers an application XID that a
    # hardware one follows within minutes on the same GPU.
    ("GpuXidHardwareError", "GpuXidError", ("Hostname", "gpu")),
    ("VllmTtftBudgetBurnPage", "VllmTtftBudgetBurnTicket", ("namespace", "model_name")),
    ("VllmE2eLatencyBudgetBurnPage", "VllmE2eLatencyBudgetBurnTicket", ("namespace", "model_name")),
)


def render_alertmanager_config(settings: Settings) -> dict[str, Any]:
    """Returns alertmanager.yaml as a document: route tree, receivers and inhibit rules."""
    receivers = settings.alertmanager.receivers
    return {
        "route": _route(settings),
        "receivers": [_receiver(name, receivers[name]) for name in sorted(receivers)],
        "inhibit_rules": [_inhibit_rule(settings, *pair) for pair in INHIBIT_PAIRS],
    }


def matcher(label: str, operator: str, value: str) -> str:
    """Returns one Alertmanager matcher, e.g. severity="critical", with the value escaped."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'{label}{operator}"{escaped}"'


def _route(settings: Settings) -> dict[str, Any]:
    config = settings.alertmanager
    routes = [
        _child(receiver, matcher(config.team_label, "=", team))
        for team, receiver in sorted(config.team_receivers.items())
    ]
    routes += [
        _child(config.severity_receivers[severity], matcher("severity", "=", severity))
        for severity in SEVERITIES
        if severity in config.severity_receivers
    ]
    route: dict[str, Any] = {
        "receiver": config.default_receiver,
        "group_by": list(_with_cluster(config.group_by, settings)),
        "group_wait": config.group_wait,
        "group_interval": config.group_interval,
        "repeat_interval": config.repeat_interval,
    }
    if routes:
        route["routes"] = routes
    return route


def _child(receiver: str, condition: str) -> dict[str, Any]:
    # The first matching route wins: a team's alerts never also reach the severity receivers.
    return {"receiver": receiver, "matchers": [condition], "continue": False}


def _receiver(name: str, webhook_url: str) -> dict[str, Any]:
    if not webhook_url:
        return {"name": name}
    return {"name": name, "webhook_configs": [{"url": webhook_url, "send_resolved": True}]}


def _inhibit_rule(
    settings: Settings, critical: str, warning: str, equal: tuple[str, ...]
) -> dict[str, Any]:
    return {
        "source_matchers": [matcher("alertname", "=", critical)],
        "target_matchers": [matcher("alertname", "=", warning)],
        "equal": list(_with_cluster(equal, settings)),
    }


def _with_cluster(labels: tuple[str, ...], settings: Settings) -> tuple[str, ...]:
    """`labels`, plus the cluster label when multi-cluster is on (the same GPU name or model
    can exist in two clusters)."""
    cluster = settings.cluster
    if cluster.enabled and cluster.label not in labels:
        return (*labels, cluster.label)
    return labels
