"""Backfill: turn an OpenMetrics history file into TSDB blocks with the real promtool.

Blocks written into a Prometheus data directory before Prometheus starts are loaded as they
are; Prometheus answers queries over them straight away.

A long history of a large fleet is written and backfilled in time slices (backfill_history):
promtool maps its whole input file into memory, so one file for the whole history costs as
much memory and disk as the history is large, while slices bound both; and promtool turns one
slice into blocks while the next slice is generated.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from generator.synthetic.openmetrics import HistoryStats, write_openmetrics
from generator.synthetic.simulation import Simulation


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
    command = ["tsdb", "create-blocks-from", "openmetrics", str(openmetrics_file), str(tsdb_dir)]
    return _promtool(command, Path(tsdb_dir), promtool, str(openmetrics_file))


def _promtool(arguments: list[str], tsdb: Path, promtool: str | None, what: str) -> BackfillStats:
    """Runs promtool with `arguments`; returns the blocks that appeared in `tsdb`."""
    binary = promtool or shutil.which("promtool")
    if binary is None:
        raise BackfillError(
            "promtool is not installed; install the Debian package 'prometheus' "
            "(apt-get install prometheus) or put promtool on PATH"
        )
    tsdb.mkdir(parents=True, exist_ok=True)
    before = {p.name for p in tsdb.iterdir()}
    began = time.perf_counter()
    result = subprocess.run([binary, *arguments], capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - began
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip()[-2000:]
        raise BackfillError(f"promtool could not backfill {what}: {detail}")
    blocks = tuple(sorted(p.name for p in tsdb.iterdir() if p.name not in before and p.is_dir()))
    return BackfillStats(blocks, seconds)


def backfill_history(
    simulation: Simulation,
    tsdb_dir: Path | str,
    end: float,
    *,
    scratch_dir: Path | str,
    slice_seconds: float | None = None,
    promtool: str | None = None,
) -> tuple[HistoryStats, BackfillStats]:
    """Writes the simulation's samples from its current tick through `end` as blocks in
    `tsdb_dir`, `slice_seconds` of history per OpenMetrics file in `scratch_dir` (None: one
    file), each file deleted once promtool has read it. Returns what was written (`series`:
    the most any slice held; `seconds`: generating and writing) and the blocks created
    (`seconds`: wall-clock time of the whole backfill). Raises BackfillError."""
    began = time.perf_counter()
    scratch = Path(scratch_dir)
    scratch.mkdir(parents=True, exist_ok=True)
    written: list[HistoryStats] = []
    pending: Future[BackfillStats] | None = None
    blocks: list[str] = []
    with ThreadPoolExecutor(max_workers=1) as promtool_runs:
        while True:
            if written:
                simulation.advance()  # the previous slice ends with the current tick
            slice_end = end if slice_seconds is None else min(end, simulation.time + slice_seconds)
            path = scratch / f"history-{len(written)}.om"
            written.append(write_openmetrics(simulation, path, end=slice_end))
            if pending is not None:
                blocks += pending.result().blocks
            pending = promtool_runs.submit(_create_and_remove, path, Path(tsdb_dir), promtool)
            if simulation.start + (simulation.tick + 1) * simulation.step > end:
                break
        blocks += pending.result().blocks
    history = HistoryStats(
        written[0].path,
        max(w.series for w in written),
        sum(w.samples for w in written),
        written[0].start,
        written[-1].end,
        sum(w.seconds for w in written),
    )
    return history, BackfillStats(tuple(sorted(blocks)), time.perf_counter() - began)


def _create_and_remove(path: Path, tsdb_dir: Path, promtool: str | None) -> BackfillStats:
    try:
        return create_blocks(path, tsdb_dir, promtool)
    finally:
        path.unlink(missing_ok=True)


def create_rule_blocks(
    rule_files: Sequence[Path | str],
    tsdb_dir: Path | str,
    url: str,
    start: float,
    end: float,
    interval_seconds: float,
    promtool: str | None = None,
) -> BackfillStats:
    """Runs `promtool tsdb create-blocks-from rules`: the recording rules of `rule_files`
    evaluated every `interval_seconds` from `start` to `end` (Unix seconds) against the
    Prometheus at `url`, written as blocks into `tsdb_dir`, where a running Prometheus finds
    them within a minute. Returns the new blocks; raises BackfillError."""
    command = [
        "tsdb",
        "create-blocks-from",
        "rules",
        f"--url={url}",
        f"--start={int(start)}",
        f"--end={int(end)}",
        f"--eval-interval={int(interval_seconds)}s",
        f"--output-dir={tsdb_dir}",
        *(str(f) for f in rule_files),
    ]
    return _promtool(command, Path(tsdb_dir), promtool, "the recording rules")
