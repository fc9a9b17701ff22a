"""Settings -> the PodMonitors and ServiceMonitor that make Prometheus scrape Ray, vLLM and
the DCGM exporter."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from generator.kubernetes.objects import metadata
from generator.kubernetes.schemas import MONITORING_V1
from generator.settings import Settings

# The DCGM exporter's Service, by how it is installed: its selector labels and port name.
DCGM_EXPORTERS: dict[str, tuple[dict[str, str], str]] = {
    "gpu-operator": ({"app": "nvidia-dcgm-exporter"}, "gpu-metrics"),
    "helm-chart": ({"app.kubernetes.io/name": "dcgm-exporter"}, "metrics"),
}
# Whether Prometheus keeps the exporter's own pod label, by the label the queries read:
# `pod` needs it kept; the default `exported_pod` is what Prometheus renames it to otherwise.
DCGM_HONOR_LABELS = {"pod": True, "exported_pod": False, "pod_name": True}


@dataclass(frozen=True)
class Monitor:
    """One monitor: its file name (without .yaml), the settings it comes from, the object."""

    name: str
    source: str
    document: dict[str, Any]


def monitors(settings: Settings) -> list[Monitor]:
    """The enabled monitors, in a fixed order."""
    config = settings.kubernetes.monitors
    found = []
    if config.ray.enabled:
        found.append(_ray(settings, "head", config.ray.head_selector, config.ray.head_extra_ports))
        found.append(_ray(settings, "workers", config.ray.worker_selector, ()))
    if config.vllm.enabled:
        endpoint = {"port": config.vllm.port, "path": config.vllm.path, **_interval(settings)}
        found.append(
            Monitor(
                "vllm",
                "settings: kubernetes.monitors.vllm",
                _pod_monitor(
                    settings, "vllm", config.vllm.namespaces, config.vllm.selector, [endpoint]
                ),
            )
        )
    if config.dcgm.enabled:
        found.append(_dcgm(settings))
    return found


def _ray(
    settings: Settings, role: str, selector: dict[str, str], extra_ports: tuple[str, ...]
) -> Monitor:
    ray = settings.kubernetes.monitors.ray
    endpoints = [
        {"port": port, **_interval(settings), "relabelings": [ray_cluster_relabeling()]}
        for port in (ray.port, *extra_ports)
    ]
    name = f"ray-{role}"
    document = _pod_monitor(settings, name, ray.namespaces, selector, endpoints)
    return Monitor(name, "settings: kubernetes.monitors.ray", document)


def _pod_monitor(
    settings: Settings,
    name: str,
    namespaces: tuple[str, ...],
    selector: dict[str, str],
    endpoints: list[dict[str, Any]],
) -> dict[str, Any]:
    return {
        "apiVersion": MONITORING_V1,
        "kind": "PodMonitor",
        "metadata": metadata(settings, name, settings.kubernetes.monitor_labels),
        "spec": {
            "namespaceSelector": namespace_selector(namespaces),
            "selector": {"matchLabels": dict(selector)},
            "podMetricsEndpoints": endpoints,
        },
    }


def _dcgm(settings: Settings) -> Monitor:
    dcgm = settings.kubernetes.monitors.dcgm
    selector, port = DCGM_EXPORTERS[dcgm.exporter]
    endpoint = {
        "port": port,
        "path": "/metrics",
        **_interval(settings),
        "honorLabels": DCGM_HONOR_LABELS[settings.exporters.dcgm.pod_label],
    }
    document = {
        "apiVersion": MONITORING_V1,
        "kind": "ServiceMonitor",
        "metadata": metadata(settings, "dcgm-exporter", settings.kubernetes.monitor_labels),
        "spec": {
            "namespaceSelector": namespace_selector(dcgm.namespaces),
            "selector": {"matchLabels": dict(selector)},
            "endpoints": [endpoint],
        },
    }
    return Monitor("dcgm-exporter", "settings: kubernetes.monitors.dcgm", document)


def ray_cluster_relabeling() -> dict[str, Any]:
    """KubeRay labels each pod with its cluster (ray.io/cluster); as KubeRay's docs do, the
    scrape copies it into ray_io_cluster, which tells clusters apart."""
    return {
        "action": "replace",
        "sourceLabels": ["__meta_kubernetes_pod_label_ray_io_cluster"],
        "targetLabel": "ray_io_cluster",
    }


def namespace_selector(namespaces: tuple[str, ...]) -> dict[str, Any]:
    """The namespaces to look in: these, or every namespace when none are named."""
    return {"matchNames": list(namespaces)} if namespaces else {"any": True}


def _interval(settings: Settings) -> dict[str, str]:
    # The scrape interval the dashboards' rate windows and the alerts' `for` assume.
    return {"interval": settings.prometheus.scrape_interval}
