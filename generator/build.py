"""Settings + content -> rendered artifacts and a manifest, all in memory (no disk writes)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from generator import __version__
from generator.checks.documents import Document
from generator.checks.problem import Problem
from generator.checks.runner import validate_documents
from generator.content import build_dashboards, build_rule_groups, discover
from generator.errors import RenderError
from generator.kubernetes.manifests import (
    DashboardSource,
    RuleSource,
    check_manifests,
    kubernetes_manifests,
)
from generator.render.alertmanager import render_alertmanager_config
from generator.render.dashboards import render_dashboard
from generator.render.rules import render_rule_groups
from generator.render.serialize import sha256_text, to_json, to_yaml
from generator.settings import Settings

MANIFEST_NAME = "manifest.json"
ALERTMANAGER_PATH = "alertmanager/alertmanager.yaml"
RULES_SUFFIX = ".rules.yaml"


@dataclass(frozen=True)
class Artifact:
    """One output file: its path under the output directory and its exact text."""

    kind: Literal["dashboard", "rules", "alertmanager", "kubernetes"]
    path: str
    text: str
    source: str
    document: dict[str, Any] = field(compare=False, repr=False)

    def as_document(self) -> Document | None:
        """The artifact as the validator sees it; None for what it does not check."""
        kind = self.kind
        if kind == "dashboard" or kind == "rules":
            return Document(kind, self.path, self.document)
        return None

    def manifest_entry(self) -> dict[str, Any]:
        """What manifest.json records about this artifact."""
        entry: dict[str, Any] = {
            "kind": self.kind,
            "path": self.path,
            "source": self.source,
            "sha256": sha256_text(self.text),
        }
        if self.kind == "dashboard":
            entry["uid"] = self.document["uid"]
            entry["title"] = self.document.get("title", "")
        elif self.kind == "rules":
            entry["groups"] = [g["name"] for g in self.document["groups"]]
        elif self.kind == "kubernetes":
            entry["object"] = kubernetes_object(self.document)
        else:
            entry["receivers"] = [r["name"] for r in self.document["receivers"]]
        return entry


@dataclass(frozen=True)
class BuildResult:
    artifacts: list[Artifact]
    problems: list[Problem]

    @property
    def manifest_text(self) -> str:
        """manifest.json: every artifact with kind, path, sha256 and its uid, group names,
        receivers or Kubernetes object."""
        entries = sorted((a.manifest_entry() for a in self.artifacts), key=lambda e: e["path"])
        return to_json({"generator": f"obsgen {__version__}", "artifacts": entries})

    def count(self, kind: str) -> int:
        """How many artifacts of `kind` were built."""
        return sum(1 for a in self.artifacts if a.kind == kind)

    def documents(self) -> list[Document]:
        """The dashboards and rule files, as the validator sees them."""
        return _documents(self.artifacts)


def kubernetes_object(document: dict[str, Any]) -> dict[str, str]:
    """apiVersion, kind, and name and namespace where the object has them."""
    identity = {"apiVersion": document["apiVersion"], "kind": document["kind"]}
    metadata = document.get("metadata", {})
    identity.update({k: metadata[k] for k in ("name", "namespace") if k in metadata})
    return identity


def folder_slug(folder: str) -> str:
    """'GPU Workloads' -> 'gpu-workloads': a directory name safe on every file system."""
    return re.sub(r"[^a-z0-9]+", "-", folder.lower()).strip("-") or "general"


def build(
    settings: Settings, dashboard_dirs: Sequence[Path] = (), alert_dirs: Sequence[Path] = ()
) -> BuildResult:
    """Runs every content module, renders its output, the Alertmanager configuration and the
    Kubernetes objects that deliver them, and checks every expression and object."""
    artifacts = _dashboard_artifacts(settings, dashboard_dirs)
    artifacts += _rule_artifacts(settings, alert_dirs)
    artifacts.append(_alertmanager_artifact(settings))
    manifests = kubernetes_manifests(
        settings,
        [DashboardSource(a.document, a.source) for a in artifacts if a.kind == "dashboard"],
        [
            RuleSource(Path(a.path).name.removesuffix(RULES_SUFFIX), a.document, a.source)
            for a in artifacts
            if a.kind == "rules"
        ],
    )
    artifacts += [
        Artifact("kubernetes", m.path, to_yaml(m.document), m.source, m.document) for m in manifests
    ]
    problems = validate_documents(_documents(artifacts), settings) + check_manifests(manifests)
    return BuildResult(artifacts=artifacts, problems=problems)


def _documents(artifacts: list[Artifact]) -> list[Document]:
    return [d for d in (a.as_document() for a in artifacts) if d is not None]


def _alertmanager_artifact(settings: Settings) -> Artifact:
    document = render_alertmanager_config(settings)
    return Artifact(
        "alertmanager", ALERTMANAGER_PATH, to_yaml(document), "settings: alertmanager", document
    )


def _dashboard_artifacts(settings: Settings, directories: Sequence[Path]) -> list[Artifact]:
    folder = folder_slug(settings.grafana.folder)
    owners: dict[str, str] = {}
    artifacts = []
    for module in discover("dashboards", directories):
        for dashboard in build_dashboards(module, settings):
            model = render_dashboard(dashboard, module.origin)
            uid = model["uid"]
            if uid in owners:
                raise RenderError(
                    f"dashboard uid '{uid}' is defined twice: in {owners[uid]} "
                    f"and in {module.origin}; uids must be unique"
                )
            owners[uid] = module.origin
            artifacts.append(
                Artifact(
                    "dashboard",
                    f"dashboards/{folder}/{uid}.json",
                    to_json(model),
                    module.origin,
                    model,
                )
            )
    return artifacts


def _rule_artifacts(settings: Settings, directories: Sequence[Path]) -> list[Artifact]:
    group_owners: dict[str, str] = {}
    file_owners: dict[str, str] = {}
    artifacts = []
    for module in discover("alerts", directories):
        if module.name in file_owners:
            raise RenderError(
                f"two alert modules are named '{module.name}': "
                f"{file_owners[module.name]} and {module.origin}; rename one"
            )
        file_owners[module.name] = module.origin
        groups = build_rule_groups(module, settings)
        for group in groups:
            if group.name in group_owners:
                raise RenderError(
                    f"rule group '{group.name}' is defined twice: in "
                    f"{group_owners[group.name]} and in {module.origin}"
                )
            group_owners[group.name] = module.origin
        document = render_rule_groups(groups, settings)
        artifacts.append(
            Artifact(
                "rules",
                f"rules/{module.name}{RULES_SUFFIX}",
                to_yaml(document),
                module.origin,
                document,
            )
        )
    return artifacts
