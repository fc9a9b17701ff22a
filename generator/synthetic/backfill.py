"""Backfill: turn an OpenMetrics history file into TSDB blocks with the real promtool.

Blocks written into a Prometheus data directory before Prometheus starts are loaded as they
are; Prometheus answers queries over them straight away.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path


class BackfillError(RuntimeError):
    """promtool is missing or refused the file; the message says which and why."""


@dataclass(frozen=True)
class BackfillStats:
    """The blocks promtool created (directory names) and how long it took (seconds)."""

    blocks: tuple[str, ...]
    seconds: float


def create_blocks(
    openmetrics_file: Path | str, tsdb_dir: Path | str, promtool: str | None = None
) -> BackfillStats:
    """Runs `promtool tsdb create-blocks-from openmetrics FILE DIR`; returns the new blocks.

    Raises BackfillError when promtool is not installed or fails."""
    binary = promtool or shutil.which("promtool")
    if binary is None:
        raise BackfillError(
            "promtool is not installed; install the Debian package 'prometheus' "
            "(apt-get install prometheus) or put promtool on PATH"
        )
    tsdb = Path(tsdb_dir)
    tsdb.mkdir(parents=True, exist_ok=True)
    before = {p.name for p in tsdb.iterdir()}
    began = time.perf_counter()
    result = subprocess.run(
        [binary, "tsdb", "create-blocks-from", "openmetrics", str(openmetrics_file), str(tsdb)],
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - began
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip()[-2000:]
        raise BackfillError(f"promtool could not backfill {openmetrics_file}: {detail}")
    blocks = tuple(sorted(p.name for p in tsdb.iterdir() if p.name not in before and p.is_dir()))
    return BackfillStats(blocks, seconds)
