"""How obsgen recognises its own dashboards in Grafana and whether someone edited them since.

Every dashboard obsgen writes carries:
- the tag MANAGED_TAG ("obsgen-managed"): what --prune looks for, together with the folder;
- a top-level field MARKER_KEY ("obsgen"): {"sha256": <content hash>, "generator": "obsgen X"},
  the hash of exactly what obsgen wrote. Grafana stores a dashboard's JSON as given, so the
  field comes back on every read; Grafana's own editor does not keep fields it does not know.

A remote dashboard whose content hash equals its marker's is as obsgen wrote it; any other is
drifted (edited in Grafana, or never written by obsgen). The content hash ignores what the
server sets (id, version), what the UI bumps (iteration) and the marker itself, and compares
numbers as Grafana's Go JSON encoder writes them (2.0 comes back as 2).
"""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

from generator import __version__

MANAGED_TAG = "obsgen-managed"
MARKER_KEY = "obsgen"
IGNORED_KEYS = frozenset({"id", "version", "iteration", MARKER_KEY})


def canonical(value: Any) -> Any:
    """`value` with integral floats as integers, the way a Go JSON round trip leaves it."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return int(value)
    if isinstance(value, dict):
        return {k: canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        return [canonical(v) for v in value]
    return value


def comparable(dashboard: dict[str, Any]) -> dict[str, Any]:
    """The dashboard without the keys the comparison ignores, numbers canonical."""
    return {k: canonical(v) for k, v in dashboard.items() if k not in IGNORED_KEYS}


def content_hash(dashboard: dict[str, Any]) -> str:
    """sha256 of the comparable content: key order and server-set fields do not matter."""
    text = json.dumps(
        comparable(dashboard), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def managed_dashboard(document: dict[str, Any]) -> dict[str, Any]:
    """The rendered dashboard as obsgen writes it: managed tag added, marker set."""
    dashboard = copy.deepcopy(document)
    for key in IGNORED_KEYS:
        dashboard.pop(key, None)
    dashboard["tags"] = sorted({*dashboard.get("tags", []), MANAGED_TAG})
    dashboard[MARKER_KEY] = {
        "sha256": content_hash(dashboard),
        "generator": f"obsgen {__version__}",
    }
    return dashboard


def written_hash(dashboard: dict[str, Any]) -> str | None:
    """The hash obsgen recorded when it last wrote `dashboard`, or None if it never did."""
    marker = dashboard.get(MARKER_KEY)
    if isinstance(marker, dict) and isinstance(marker.get("sha256"), str):
        return str(marker["sha256"])
    return None


def is_as_written(dashboard: dict[str, Any]) -> bool:
    """True when the content is exactly what obsgen last wrote into it."""
    return written_hash(dashboard) == content_hash(dashboard)


def carries_managed_tag(tags: Any) -> bool:
    return isinstance(tags, list) and MANAGED_TAG in tags
