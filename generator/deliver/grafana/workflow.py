"""`obsgen diff` and `obsgen push` from the built dashboards to a result the CLI prints.

connect (GET /api/frontend/settings) -> the folder (created on push) -> read the remote copies
-> plan -> diff, or carry the plan out.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generator.deliver.grafana.backup import DEFAULT_BACKUP_DIR, Backups
from generator.deliver.grafana.commit_message import commit_message
from generator.deliver.grafana.connection import GrafanaConnection
from generator.deliver.grafana.folders import ResolvedFolder, resolve_folder
from generator.deliver.grafana.parallel import Advance
from generator.deliver.grafana.plan import DesiredDashboard, Plan, make_plan
from generator.deliver.grafana.push import (
    NOT_WRITTEN,
    WRITES,
    WRITTEN,
    Outcome,
    decide,
    execute,
)
from generator.deliver.grafana.remote import managed_hits, orphans, read_remote
from generator.deliver.grafana.state import managed_dashboard
from generator.deliver.grafana.target import GrafanaTarget

# progress(label, total) -> a context manager yielding advance(n); the CLI draws a bar.
Progress = Callable[[str, int], AbstractContextManager[Advance]]


@dataclass(frozen=True)
class PushOptions:
    dry_run: bool = False
    force: bool = False
    prune: bool = False
    backup_root: Path = DEFAULT_BACKUP_DIR
    concurrency: int = 4
    message: str | None = None  # default: obsgen's version and the git commit


@dataclass(frozen=True)
class DeliveryResult:
    target: GrafanaTarget
    grafana_version: str
    folder: ResolvedFolder
    plan: Plan
    outcomes: list[Outcome] = field(default_factory=list)  # empty for diff and --dry-run
    backup_directory: Path | None = None
    retries: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True when nothing was refused, failed or left out."""
        return not self.not_written()

    def written(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.result in WRITTEN]

    def not_written(self) -> list[Outcome]:
        """What a push meant to write but did not: refused, failed, not attempted."""
        return [o for o in self.outcomes if o.result in NOT_WRITTEN]


def desired_dashboards(artifacts: Sequence[Any]) -> list[DesiredDashboard]:
    """The build's dashboard artifacts as obsgen writes them to Grafana."""
    return [
        DesiredDashboard(
            uid=a.document["uid"],
            title=str(a.document.get("title", "")),
            source=a.source,
            dashboard=managed_dashboard(a.document),
        )
        for a in artifacts
        if a.kind == "dashboard"
    ]


def diff_dashboards(
    target: GrafanaTarget,
    folder_path: str,
    desired: list[DesiredDashboard],
    *,
    concurrency: int = 4,
    progress: Progress | None = None,
) -> DeliveryResult:
    """What a push would do, per dashboard; writes nothing."""
    started = time.perf_counter()
    with GrafanaConnection(target) as connection:
        version, folder, plan = _prepare(
            connection,
            folder_path,
            desired,
            create=False,
            concurrency=concurrency,
            progress=progress,
        )
        seconds = time.perf_counter() - started
        return DeliveryResult(
            target, version, folder, plan, retries=connection.retries, seconds=seconds
        )


def push_dashboards(
    target: GrafanaTarget,
    folder_path: str,
    desired: list[DesiredDashboard],
    options: PushOptions,
    *,
    progress: Progress | None = None,
) -> DeliveryResult:
    """Creates the folder, then writes what changed and (with prune) deletes orphans."""
    started = time.perf_counter()
    with GrafanaConnection(target) as connection:
        version, folder, plan = _prepare(
            connection,
            folder_path,
            desired,
            create=not options.dry_run,
            concurrency=options.concurrency,
            progress=progress,
        )
        if options.dry_run:
            seconds = time.perf_counter() - started
            return DeliveryResult(
                target, version, folder, plan, retries=connection.retries, seconds=seconds
            )
        backups = Backups(options.backup_root)
        writes = sum(
            1
            for item in plan.items
            if decide(item, force=options.force, prune=options.prune)[0] in WRITES
        )
        with _progress(progress, "writing to Grafana", writes) as advance:
            outcomes = execute(
                connection,
                plan,
                force=options.force,
                prune=options.prune,
                message=options.message or commit_message(),
                backups=backups,
                concurrency=options.concurrency,
                advance=advance,
            )
        return DeliveryResult(
            target,
            version,
            folder,
            plan,
            outcomes,
            backup_directory=backups.directory,
            retries=connection.retries,
            seconds=time.perf_counter() - started,
        )


def _prepare(
    connection: GrafanaConnection,
    folder_path: str,
    desired: list[DesiredDashboard],
    *,
    create: bool,
    concurrency: int,
    progress: Progress | None,
) -> tuple[str, ResolvedFolder, Plan]:
    info = connection.check()
    folder = resolve_folder(connection, folder_path, create=create)
    candidates = managed_hits(connection, folder.uid)
    total = len(desired) + len(orphans(desired, candidates))
    with _progress(progress, "reading Grafana", total) as advance:
        remote = read_remote(connection, desired, candidates, folder.uid, concurrency, advance)
    plan = make_plan(desired, remote.by_uid, remote.managed_in_folder, folder.uid)
    return str(info.get("version", "")), folder, plan


@contextlib.contextmanager
def _progress(progress: Progress | None, label: str, total: int) -> Iterator[Advance]:
    if progress is None or total == 0:
        yield lambda n: None
        return
    with progress(label, total) as advance:
        yield advance
