"""The configured folder (settings.grafana.folder): "A/B" is folder B nested in A.

Each level has a stable uid derived from its path, so every push finds the folders it created.
A folder that already exists with the same title at the same level is used as it is.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from generator.errors import ObsgenError
from generator.settings import MAX_FOLDER_DEPTH

if TYPE_CHECKING:
    from generator.deliver.grafana.connection import GrafanaConnection

ROOT_NAMES = frozenset({"", "general"})  # Grafana's root "folder"


@dataclass(frozen=True)
class FolderLevel:
    title: str
    path: str  # "A/B"
    uid: str


@dataclass(frozen=True)
class ResolvedFolder:
    """Where the dashboards go: the folder's uid, or None while it does not exist yet."""

    path: str
    uid: str | None
    created: tuple[str, ...] = ()  # paths created by this run

    @property
    def exists(self) -> bool:
        return self.uid is not None

    def describe(self) -> str:
        if not self.path:
            return "the root folder (General)"
        state = f"uid {self.uid}" if self.uid is not None else "not created yet"
        return f"folder '{self.path}' ({state})"


def folder_uid(path: str) -> str:
    """A stable uid for folder `path`: readable slug plus a hash, at most 40 characters."""
    slug = re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-")[:22].strip("-")
    digest = hashlib.sha256(path.encode("utf-8")).hexdigest()[:8]
    return f"obsgen-{slug}-{digest}" if slug else f"obsgen-{digest}"


def folder_levels(path: str) -> list[FolderLevel]:
    """The folders from the top down; [] for the root (General)."""
    if path.strip().lower() in ROOT_NAMES:
        return []
    titles = [part.strip() for part in path.split("/")]
    if any(not title for title in titles):
        raise ObsgenError(
            f"grafana.folder {path!r} has an empty level; write nested folders as 'Parent/Child'"
        )
    if len(titles) > MAX_FOLDER_DEPTH:
        raise ObsgenError(
            f"grafana.folder {path!r} nests {len(titles)} levels; Grafana allows {MAX_FOLDER_DEPTH}"
        )
    return [
        FolderLevel(title, "/".join(titles[: i + 1]), folder_uid("/".join(titles[: i + 1])))
        for i, title in enumerate(titles)
    ]


def resolve_folder(connection: GrafanaConnection, path: str, *, create: bool) -> ResolvedFolder:
    """Finds every level of `path`; creates the missing ones when `create`."""
    levels = folder_levels(path)
    if not levels:
        return ResolvedFolder("", "")
    parent = ""
    created: list[str] = []
    for level in levels:
        subject = f"folder '{level.path}'"
        uid = _existing(connection, level, parent, subject)
        if uid is None:
            if not create:
                return ResolvedFolder(levels[-1].path, None)
            made = connection.create_folder(level.title, level.uid, parent, subject)
            if made is None and connection.get_folder(level.uid, subject) is None:
                raise ObsgenError(
                    f"cannot create {subject}: Grafana says uid {level.uid} is taken, but no "
                    "folder has it (a dashboard may use that uid)"
                )
            uid = level.uid
            created.append(level.path)
        parent = uid
    return ResolvedFolder(levels[-1].path, parent, tuple(created))


def _existing(
    connection: GrafanaConnection, level: FolderLevel, parent: str, subject: str
) -> str | None:
    """The uid of the folder for `level`: obsgen's own, else one with the same title there."""
    if connection.get_folder(level.uid, subject) is not None:
        return level.uid
    for folder in connection.list_folders(parent, subject):
        if folder.get("title") == level.title and folder.get("parentUid", "") == parent:
            return str(folder["uid"])
    return None
