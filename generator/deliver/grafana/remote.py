"""Reads what Grafana holds: each generated uid, and the managed dashboards in the folder."""

from __future__ import annotations

from dataclasses import dataclass

from generator.deliver.grafana.connection import GrafanaConnection
from generator.deliver.grafana.parallel import Advance, bounded_map
from generator.deliver.grafana.plan import DesiredDashboard, RemoteDashboard
from generator.deliver.grafana.state import MANAGED_TAG, carries_managed_tag


@dataclass(frozen=True)
class RemoteState:
    by_uid: dict[str, RemoteDashboard | None]  # each generated uid; None when missing
    managed_in_folder: list[RemoteDashboard]  # managed tag, in the managed folder


def read_remote(
    connection: GrafanaConnection,
    desired: list[DesiredDashboard],
    candidates: list[tuple[str, str]],
    folder_uid: str | None,
    concurrency: int,
    advance: Advance | None = None,
) -> RemoteState:
    """Every generated uid's remote copy, and those of the `candidates` (managed_hits) that
    carry obsgen's managed tag in folder `folder_uid`."""
    orphan_uids = orphans(desired, candidates)
    subjects = {d.uid: f"dashboard '{d.uid}' ({d.title})" for d in desired}
    subjects.update((uid, f"dashboard '{uid}' ({title})") for uid, title in candidates)
    uids = [d.uid for d in desired] + orphan_uids

    def read(uid: str) -> RemoteDashboard | None:
        response = connection.get_dashboard(uid, subjects[uid])
        return RemoteDashboard.from_response(response) if response else None

    found = dict(zip(uids, bounded_map(read, uids, concurrency, advance), strict=True))
    managed = [
        remote
        for uid, _ in candidates
        if (remote := found.get(uid)) is not None
        # Checked again on the full copy: prune must never touch anything else.
        and carries_managed_tag(remote.dashboard.get("tags"))
        and remote.folder_uid == folder_uid
    ]
    return RemoteState({d.uid: found[d.uid] for d in desired}, managed)


def orphans(desired: list[DesiredDashboard], candidates: list[tuple[str, str]]) -> list[str]:
    """The uids of the candidates that nothing generates any more."""
    generated = {d.uid for d in desired}
    return [uid for uid, _ in candidates if uid not in generated]


def managed_hits(connection: GrafanaConnection, folder_uid: str | None) -> list[tuple[str, str]]:
    """(uid, title) of the dashboards with the managed tag in the folder, per search; none
    while the folder does not exist (None)."""
    if folder_uid is None:
        return []
    hits = connection.search_dashboards(MANAGED_TAG, folder_uid)
    found = {
        str(hit["uid"]): str(hit.get("title", ""))
        for hit in hits
        if hit.get("type", "dash-db") == "dash-db"
        and carries_managed_tag(hit.get("tags"))
        and str(hit.get("folderUid") or "") == folder_uid
        and hit.get("uid")
    }
    return list(found.items())  # one each, even if pages overlapped
