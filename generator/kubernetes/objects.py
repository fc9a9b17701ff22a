"""Rendered dashboards and rule files -> the Kubernetes objects that deliver them: sidecar
ConfigMaps, grafana-operator GrafanaDashboards and PrometheusRules."""

from __future__ import annotations

import base64
import gzip
import json
from typing import Any

from generator.kubernetes.names import slug
from generator.kubernetes.schemas import CORE_V1, GRAFANA_OPERATOR_V1BETA1, MONITORING_V1
from generator.settings import Settings

MANAGED_BY = "app.kubernetes.io/managed-by"
PART_OF = "app.kubernetes.io/part-of"


def metadata(
    settings: Settings,
    name: str,
    labels: dict[str, str],
    annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    """metadata with obsgen's common labels beside `labels`; the name carries the prefix."""
    kubernetes = settings.kubernetes
    common = {MANAGED_BY: "obsgen", PART_OF: kubernetes.part_of}
    result: dict[str, Any] = {
        "name": f"{kubernetes.name_prefix}{name}",
        "namespace": kubernetes.namespace,
        "labels": dict(sorted({**common, **labels}.items())),
    }
    if annotations:
        result["annotations"] = dict(sorted(annotations.items()))
    return result


def compact_json(model: dict[str, Any]) -> str:
    """The dashboard as the smallest stable JSON: no spaces, sorted keys."""
    return json.dumps(model, separators=(",", ":"), sort_keys=True)


def dashboard_name(uid: str) -> str:
    """The object name of a dashboard (before the prefix): from the uid, which never changes
    when the title does, so a renamed dashboard updates its object instead of adding one."""
    return f"dashboard-{slug(uid)}"


def dashboard_configmap(settings: Settings, model: dict[str, Any]) -> dict[str, Any]:
    """A ConfigMap the Grafana sidecar loads: its label, the folder annotation, <uid>.json."""
    kubernetes = settings.kubernetes
    return {
        "apiVersion": CORE_V1,
        "kind": "ConfigMap",
        "metadata": metadata(
            settings,
            dashboard_name(model["uid"]),
            {kubernetes.dashboard_label: kubernetes.dashboard_label_value},
            {kubernetes.folder_annotation: settings.grafana.folder},
        ),
        # No gzip: the sidecar writes the bytes as they are and Grafana reads only *.json.
        "data": {f"{model['uid']}.json": compact_json(model)},
    }


def grafana_dashboard(settings: Settings, model: dict[str, Any]) -> dict[str, Any]:
    """A grafana-operator GrafanaDashboard: instance selector, folder, json or gzipJson."""
    operator = settings.kubernetes.grafana_operator
    content = compact_json(model)
    spec: dict[str, Any] = {
        "instanceSelector": {"matchLabels": dict(operator.instance_selector)},
        "uid": model["uid"],
        "folder": settings.grafana.folder,
    }
    if operator.encoding == "gzipJson":
        # mtime 0: the same dashboard always compresses to the same bytes.
        packed = gzip.compress(content.encode("utf-8"), compresslevel=9, mtime=0)
        spec["gzipJson"] = base64.b64encode(packed).decode("ascii")
    else:
        spec["json"] = content
    return {
        "apiVersion": GRAFANA_OPERATOR_V1BETA1,
        "kind": "GrafanaDashboard",
        "metadata": metadata(settings, dashboard_name(model["uid"]), {}),
        "spec": spec,
    }


def rules_name(module: str) -> str:
    """The object name of an alert module's PrometheusRule (before the prefix)."""
    return f"rules-{slug(module)}"


def prometheus_rule(settings: Settings, module: str, rule_file: dict[str, Any]) -> dict[str, Any]:
    """A PrometheusRule with the rule file's groups and the rule selector's labels."""
    return {
        "apiVersion": MONITORING_V1,
        "kind": "PrometheusRule",
        "metadata": metadata(settings, rules_name(module), settings.kubernetes.rule_labels),
        "spec": {"groups": rule_file["groups"]},
    }
