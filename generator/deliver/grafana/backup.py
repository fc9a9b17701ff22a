"""Copies of remote dashboards, saved before obsgen overwrites or deletes them.

Each push that replaces something gets its own directory, DIR/<UTC time>/, holding one
<uid>.json per dashboard: Grafana's whole answer ({"dashboard": ..., "meta": ...}), so the
folder and version are kept too. Nothing is created when nothing is replaced.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from generator.deliver.atomic import write_atomically
from generator.errors import ObsgenError
from generator.render.serialize import to_json

DEFAULT_BACKUP_DIR = Path("out") / "backups"


class Backups:
    """Saves remote copies under `root`/<UTC time of the first save>/."""

    def __init__(self, root: Path, now: datetime | None = None) -> None:
        self.root = root
        self._stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
        self._lock = threading.Lock()
        self._directory: Path | None = None

    @property
    def directory(self) -> Path | None:
        """Where this push's copies went; None when nothing was saved."""
        return self._directory

    def save(self, uid: str, response: dict[str, Any]) -> Path:
        """Writes `response` to <uid>.json atomically and returns its path."""
        try:
            directory = self._ensure_directory()
            path = directory / f"{uid}.json"
            write_atomically(path, to_json(response).encode("utf-8"))
        except OSError as exc:
            raise ObsgenError(
                f"cannot save the backup of dashboard '{uid}' under {self.root}: "
                f"{exc.strerror or exc}; nothing was overwritten (choose --backup-dir)"
            ) from None
        return path

    def _ensure_directory(self) -> Path:
        with self._lock:
            if self._directory is None:
                self._directory = self._new_directory()
            return self._directory

    def _new_directory(self) -> Path:
        """A directory no earlier push used, even within the same second."""
        self.root.mkdir(parents=True, exist_ok=True)
        for attempt in range(1000):
            candidate = self.root / (self._stamp if attempt == 0 else f"{self._stamp}-{attempt}")
            try:
                candidate.mkdir()
            except FileExistsError:
                continue
            return candidate
        raise OSError(f"too many backup directories named {self._stamp}-N")
