"""Size limits that the schemas cannot express: the ConfigMap payload, the annotation budget
client-side `kubectl apply` spends, and the largest object etcd stores."""

from __future__ import annotations

import json
from typing import Any

from generator.checks.problem import Problem, Severity

CHECK = "kubernetes/size"
DOCS = "docs/checks.md#kubernetessize"
CONFIGMAP_LIMIT = 1_048_576  # bytes of data (+ binaryData) the API server accepts in a ConfigMap
ANNOTATIONS_LIMIT = 262_144  # bytes of all annotations of one object, keys included
OBJECT_LIMIT = 1_572_864  # etcd's default request limit (--max-request-bytes)
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
SERVER_SIDE = (
    "apply with `kubectl apply --server-side -k out/kubernetes`, which keeps no such annotation"
)


def configmap_data_bytes(document: dict[str, Any]) -> int:
    """Bytes the API server counts against a ConfigMap's limit: its data values, UTF-8."""
    return sum(len(value.encode("utf-8")) for value in document.get("data", {}).values())


def applied_json_bytes(document: dict[str, Any]) -> int:
    """Bytes of the object as kubectl sends it (compact JSON; Go escapes <, > and & as \\u003c)."""
    text = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
    return len(text.encode("utf-8")) + 5 * sum(text.count(c) for c in "<>&")


def annotation_bytes_with_last_applied(document: dict[str, Any]) -> int:
    """Bytes of the object's annotations once client-side `kubectl apply` adds a copy of the
    whole object as kubectl.kubernetes.io/last-applied-configuration."""
    annotations = document.get("metadata", {}).get("annotations", {})
    own = sum(len(k.encode("utf-8")) + len(v.encode("utf-8")) for k, v in annotations.items())
    return own + len(LAST_APPLIED) + applied_json_bytes(document)


def size_problems(
    document: dict[str, Any], file: str, location: dict[str, str | int]
) -> list[Problem]:
    """The limits `document` breaks: errors the API server would refuse, a warning for what
    only client-side apply refuses."""
    kind, name = document.get("kind", ""), document.get("metadata", {}).get("name", "")
    what = f"{kind} {name}"  # the location names the dashboard

    def problem(severity: Severity, message: str, hint: str) -> Problem:
        return Problem(CHECK, severity, message, file, dict(location), hint=hint, docs=DOCS)

    if kind == "ConfigMap" and (data := configmap_data_bytes(document)) > CONFIGMAP_LIMIT:
        return [
            problem(
                "error",
                f"{what} holds {data:,} bytes of data; the API server refuses a ConfigMap "
                f"over {CONFIGMAP_LIMIT:,} bytes",
                "split the dashboard or trim its descriptions, or deliver it with "
                "grafana-operator (kubernetes.grafana_operator, encoding: gzipJson) or "
                "Grafana's HTTP API",
            )
        ]
    if (total := applied_json_bytes(document)) > OBJECT_LIMIT:
        return [
            problem(
                "error",
                f"{what} is {total:,} bytes; etcd refuses objects over {OBJECT_LIMIT:,} bytes",
                "set kubernetes.grafana_operator.encoding: gzipJson, or split the content"
                if kind == "GrafanaDashboard"
                else "split the content into smaller objects",
            )
        ]
    if (annotations := annotation_bytes_with_last_applied(document)) > ANNOTATIONS_LIMIT:
        return [
            problem(
                "warning",
                f"client-side `kubectl apply` will fail on {what}: the "
                f"{LAST_APPLIED} annotation it adds brings the object's annotations to "
                f"{annotations:,} bytes, over the limit of {ANNOTATIONS_LIMIT:,}",
                SERVER_SIDE,
            )
        ]
    return []
