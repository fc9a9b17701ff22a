"""What a push would do to each dashboard, decided from generated and remote content alone (pure).

new        generated, not in Grafana
unchanged  in Grafana exactly as generated, in the configured folder: nothing to write
changed    in Grafana as obsgen last wrote it, but the generated content or folder differs
drifted    in Grafana, but edited there since obsgen wrote it, or never written by obsgen:
           only --force overwrites it
orphaned   carries obsgen's managed tag in the managed folder, but nothing generates it any
           more: only --prune deletes it (and --force too, when it was edited in Grafana)
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

from generator.deliver.grafana.state import (
    carries_managed_tag,
    content_hash,
    is_as_written,
    written_hash,
)

State = Literal["new", "unchanged", "changed", "drifted", "orphaned"]
STATES: tuple[State, ...] = ("new", "unchanged", "changed", "drifted", "orphaned")


@dataclass(frozen=True)
class DesiredDashboard:
    """A generated dashboard as obsgen writes it (managed tag and marker included)."""

    uid: str
    title: str
    source: str  # the content module
    dashboard: dict[str, Any] = field(repr=False)


@dataclass(frozen=True)
class RemoteDashboard:
    """A dashboard as Grafana returned it from GET /api/dashboards/uid/:uid."""

    uid: str
    title: str
    dashboard: dict[str, Any] = field(repr=False)
    folder_uid: str
    folder_title: str
    version: int
    updated: str = ""
    updated_by: str = ""
    provisioned: bool = False
    response: dict[str, Any] = field(default_factory=dict, repr=False)  # for backups

    @classmethod
    def from_response(cls, response: dict[str, Any]) -> RemoteDashboard:
        dashboard = response.get("dashboard") or {}
        meta = response.get("meta") or {}
        return cls(
            uid=str(dashboard.get("uid", "")),
            title=str(dashboard.get("title", "")),
            dashboard=dashboard,
            folder_uid=str(meta.get("folderUid") or ""),
            folder_title=str(meta.get("folderTitle") or "General"),
            version=int(dashboard.get("version") or meta.get("version") or 0),
            updated=str(meta.get("updated", "")),
            updated_by=str(meta.get("updatedBy", "")),
            provisioned=bool(meta.get("provisioned")),
            response=response,
        )

    def last_change(self) -> str:
        """'version 4, by admin at 2024-06-11T10:00:00Z' (what Grafana knows)."""
        by = f", by {self.updated_by}" if self.updated_by else ""
        at = f" at {self.updated}" if self.updated else ""
        return f"version {self.version}{by}{at}"


@dataclass(frozen=True)
class PlanItem:
    state: State
    uid: str
    title: str
    desired: DesiredDashboard | None = None
    remote: RemoteDashboard | None = None
    reasons: tuple[str, ...] = ()
    edited: bool = False  # the remote copy differs from what obsgen last wrote into it

    def name(self) -> str:
        """How messages name it: uid and title."""
        return f"dashboard '{self.uid}' ({self.title})"


@dataclass(frozen=True)
class Plan:
    items: tuple[PlanItem, ...]
    folder_uid: str | None  # None: the folder does not exist yet

    def counts(self) -> Counter[str]:
        return Counter(item.state for item in self.items)

    def has_changes(self) -> bool:
        """True when Grafana differs from the generated set (anything but unchanged)."""
        return any(item.state != "unchanged" for item in self.items)


def make_plan(
    desired: list[DesiredDashboard],
    remote: dict[str, RemoteDashboard | None],
    managed_in_folder: list[RemoteDashboard],
    folder_uid: str | None,
) -> Plan:
    """Classifies every generated dashboard (by its remote copy, None when missing) and every
    managed dashboard in the folder that nothing generates any more."""
    items = [_classify(d, remote.get(d.uid), folder_uid) for d in desired]
    generated = {d.uid for d in desired}
    for orphan in managed_in_folder:
        if orphan.uid in generated:
            continue
        edited = not is_as_written(orphan.dashboard)
        reasons = ["no module generates it any more"]
        if edited:
            reasons.append(_edit_reason(orphan))
        items.append(
            PlanItem("orphaned", orphan.uid, orphan.title, None, orphan, tuple(reasons), edited)
        )
    order = {state: i for i, state in enumerate(STATES)}
    items.sort(key=lambda item: (order[item.state], item.title.lower(), item.uid))
    return Plan(tuple(items), folder_uid)


def _classify(
    desired: DesiredDashboard, remote: RemoteDashboard | None, folder_uid: str | None
) -> PlanItem:
    def item(state: State, *reasons: str, edited: bool = False) -> PlanItem:
        return PlanItem(state, desired.uid, desired.title, desired, remote, reasons, edited)

    if remote is None:
        return item("new")
    same_content = content_hash(remote.dashboard) == content_hash(desired.dashboard)
    same_folder = remote.folder_uid == folder_uid
    if same_content and same_folder:
        return item("unchanged")
    notes = [] if same_folder else [f"moves from folder '{remote.folder_title}'"]
    if remote.provisioned:
        notes.append("provisioned from a file (e.g. by the sidecar): the API cannot save it")
    if written_hash(remote.dashboard) is None and not carries_managed_tag(
        remote.dashboard.get("tags")
    ):
        return item("drifted", "exists in Grafana but obsgen did not write it", *notes, edited=True)
    if not is_as_written(remote.dashboard):
        return item("drifted", _edit_reason(remote), *notes, edited=True)
    if not same_content:
        notes.insert(0, "the generated content differs")
    return item("changed", *notes)


def _edit_reason(remote: RemoteDashboard) -> str:
    return f"edited in Grafana since obsgen wrote it ({remote.last_change()})"
