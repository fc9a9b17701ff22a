"""Rendered dashboards and rule files + settings -> every file of out/kubernetes/, and the
problems found in them (schemas, names, sizes)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from generator.checks.problem import Problem
from generator.errors import RenderError
from generator.kubernetes import objects
from generator.kubernetes.kustomization import FILE_NAME, kustomization
from generator.kubernetes.monitors import monitors
from generator.kubernetes.names import slug
from generator.kubernetes.schemas import schema_errors
from generator.kubernetes.sizes import size_problems
from generator.settings import Settings

DIRECTORY = "kubernetes"
SCHEMA_CHECK = "kubernetes/schema"
SCHEMA_DOCS = "docs/checks.md#kubernetesschema"


@dataclass(frozen=True)
class Manifest:
    """One file under out/kubernetes/: its path under out/, where it came from, the object."""

    path: str
    source: str
    document: dict[str, Any]
    location: dict[str, str | int] = field(default_factory=dict)  # for problems


@dataclass(frozen=True)
class DashboardSource:
    """A rendered dashboard model and the module it came from."""

    model: dict[str, Any]
    origin: str


@dataclass(frozen=True)
class RuleSource:
    """A rendered rule file, the name of its alert module and the module's origin."""

    module: str
    rule_file: dict[str, Any]
    origin: str


def kubernetes_manifests(
    settings: Settings, dashboards: Iterable[DashboardSource], rule_files: Iterable[RuleSource]
) -> list[Manifest]:
    """The enabled objects, one per file, and a kustomization.yaml listing them all."""
    kubernetes = settings.kubernetes
    found: list[Manifest] = []
    for dashboard in dashboards:
        uid, title = dashboard.model["uid"], str(dashboard.model.get("title", ""))
        where: dict[str, str | int] = {"dashboard": title}
        if kubernetes.sidecar:
            document = objects.dashboard_configmap(settings, dashboard.model)
            found.append(Manifest(_path("dashboards", uid), dashboard.origin, document, where))
        if kubernetes.grafana_operator.enabled:
            document = objects.grafana_dashboard(settings, dashboard.model)
            path = _path("grafana-operator", uid)
            found.append(Manifest(path, dashboard.origin, document, where))
    for rules in rule_files:
        document = objects.prometheus_rule(settings, rules.module, rules.rule_file)
        found.append(Manifest(_path("rules", rules.module), rules.origin, document))
    for monitor in monitors(settings):
        found.append(Manifest(_path("monitors", monitor.name), monitor.source, monitor.document))
    _refuse_clashes(found)
    resources = [m.path.removeprefix(f"{DIRECTORY}/") for m in found]
    found.append(
        Manifest(f"{DIRECTORY}/{FILE_NAME}", "settings: kubernetes", kustomization(resources))
    )
    return found


def check_manifests(manifests: Iterable[Manifest]) -> list[Problem]:
    """Every schema mistake and size limit broken in `manifests`."""
    problems = []
    for manifest in manifests:
        document = manifest.document
        name = document.get("metadata", {}).get("name", "")
        what = f"{document.get('kind')} {name}".strip()
        for error in schema_errors(document):
            problems.append(
                Problem(
                    SCHEMA_CHECK,
                    "error",
                    f"{what}: {error}",
                    manifest.path,
                    dict(manifest.location),
                    hint="change the setting or content that produced this value",
                    docs=SCHEMA_DOCS,
                )
            )
        problems += size_problems(document, manifest.path, manifest.location)
    return problems


def _path(directory: str, name: str) -> str:
    return f"{DIRECTORY}/{directory}/{slug(name)}.yaml"


def _refuse_clashes(manifests: list[Manifest]) -> None:
    """Two sources that would write one file or one object (uids 'A_b' and 'a-b', say)."""
    owners: dict[tuple[str, ...], Manifest] = {}
    for manifest in manifests:
        metadata = manifest.document["metadata"]
        for key in ((manifest.path,), (manifest.document["kind"], metadata["name"])):
            first = owners.setdefault(key, manifest)
            if first is not manifest:
                raise RenderError(
                    f"{first.source} and {manifest.source} both become {' '.join(key)} in "
                    f"out/kubernetes/ (names are lowercased, other characters become '-'); "
                    f"rename a dashboard uid or an alert module"
                )
