"""Carries out a plan: creates, updates and deletes dashboards, a bounded number at a time.

Every write is conditional: an update sends the version obsgen compared against, so a
dashboard edited in the meantime is refused by Grafana (412) instead of overwritten. The
remote copy is backed up before any overwrite or delete. A failure stops nothing but itself,
except 401/403, which would fail every further request the same way.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from generator.deliver.grafana.backup import Backups
from generator.deliver.grafana.connection import GrafanaApiError, GrafanaConnection
from generator.deliver.grafana.parallel import Advance, bounded_map
from generator.deliver.grafana.plan import Plan, PlanItem, RemoteDashboard
from generator.deliver.grafana.state import content_hash
from generator.errors import ObsgenError

Decision = Literal["create", "update", "delete", "none", "keep", "refuse"]
Result = Literal[
    "created", "updated", "deleted", "unchanged", "kept", "refused", "failed", "not attempted"
]
WRITTEN: frozenset[str] = frozenset({"created", "updated", "deleted"})
NOT_WRITTEN: frozenset[str] = frozenset({"refused", "failed", "not attempted"})
_DONE: dict[Decision, Result] = {"create": "created", "update": "updated", "delete": "deleted"}
WRITES: frozenset[str] = frozenset(_DONE)


@dataclass(frozen=True)
class Outcome:
    item: PlanItem
    decision: Decision
    result: Result
    detail: str = ""  # why it was refused, failed or kept
    backup: Path | None = None


def decide(item: PlanItem, *, force: bool, prune: bool) -> tuple[Decision, str]:
    """What a push does with `item`, and why when it does not do the obvious."""
    if item.state == "new":
        return "create", ""
    if item.state == "unchanged":
        return "none", ""
    if item.state == "changed":
        return "update", ""
    reasons = "; ".join(item.reasons)
    if item.state == "drifted":
        if force:
            return "update", ""
        return "refuse", (
            f"{reasons}. `obsgen diff` shows the difference; `obsgen push --force` overwrites "
            "it (the remote copy is backed up first)"
        )
    if not prune:
        return "keep", f"{reasons}; `obsgen push --prune` deletes it"
    if item.edited and not force:
        return "refuse", (
            f"{reasons}. `obsgen push --prune --force` deletes it (the remote copy is backed "
            "up first)"
        )
    return "delete", ""


def execute(
    connection: GrafanaConnection,
    plan: Plan,
    *,
    force: bool,
    prune: bool,
    message: str,
    backups: Backups,
    concurrency: int,
    advance: Advance | None = None,
) -> list[Outcome]:
    """Performs every decided write; an outcome per plan item, in the plan's order."""
    decisions = {item.uid: decide(item, force=force, prune=prune) for item in plan.items}
    writes = [i for i in plan.items if decisions[i.uid][0] in _DONE]
    stop = threading.Event()

    def write(item: PlanItem) -> Outcome:
        decision = decisions[item.uid][0]
        if stop.is_set():
            return Outcome(item, decision, "not attempted", "not attempted after the error above")
        backup = None
        try:
            if item.remote is not None:
                backup = backups.save(item.uid, item.remote.response)
            if decision == "delete":
                connection.delete_dashboard(item.uid, item.name())
            else:
                _save(connection, item, plan.folder_uid or "", message)
        except GrafanaApiError as error:
            if error.stops_everything:
                stop.set()
            return Outcome(item, decision, "failed", str(error), backup)
        except ObsgenError as error:  # the backup could not be written: nothing was sent
            return Outcome(item, decision, "failed", str(error))
        return Outcome(item, decision, _DONE[decision], "", backup)

    written = {o.item.uid: o for o in bounded_map(write, writes, concurrency, advance)}
    outcomes = []
    for item in plan.items:
        decision, why = decisions[item.uid]
        if item.uid in written:
            outcomes.append(written[item.uid])
        elif decision == "none":
            outcomes.append(Outcome(item, decision, "unchanged"))
        elif decision == "keep":
            outcomes.append(Outcome(item, decision, "kept", why))
        else:
            outcomes.append(Outcome(item, decision, "refused", why))
    return outcomes


def _save(connection: GrafanaConnection, item: PlanItem, folder_uid: str, message: str) -> None:
    assert item.desired is not None
    dashboard = {**item.desired.dashboard, "uid": item.uid}
    if item.remote is not None:
        dashboard["version"] = item.remote.version  # refused if edited since we read it
    body = {"dashboard": dashboard, "folderUid": folder_uid, "message": message, "overwrite": False}
    subject = item.name()
    try:
        connection.save_dashboard(body, subject)
    except GrafanaApiError as error:
        # A retried save whose first attempt did land finds its own version: that is success.
        if error.api_status != "version-mismatch" or not _is_in_place(connection, item, folder_uid):
            raise


def _is_in_place(connection: GrafanaConnection, item: PlanItem, folder_uid: str) -> bool:
    """True when Grafana already holds exactly the generated dashboard, in the folder."""
    assert item.desired is not None
    response = connection.get_dashboard(item.uid, item.name())
    if response is None:
        return False
    current = RemoteDashboard.from_response(response)
    return (
        content_hash(current.dashboard) == content_hash(item.desired.dashboard)
        and current.folder_uid == folder_uid
    )
