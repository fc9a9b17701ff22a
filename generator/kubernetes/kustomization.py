"""kustomization.yaml: every generated object, so `kubectl apply -k` applies them together."""

from __future__ import annotations

from typing import Any

from generator.kubernetes.schemas import KUSTOMIZE_V1BETA1

FILE_NAME = "kustomization.yaml"


def kustomization(resources: list[str]) -> dict[str, Any]:
    """A Kustomization listing `resources` (paths relative to it), sorted."""
    return {
        "apiVersion": KUSTOMIZE_V1BETA1,
        "kind": "Kustomization",
        "resources": sorted(resources),
    }
