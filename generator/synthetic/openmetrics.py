"""Text writers: an OpenMetrics history file for `promtool tsdb create-blocks-from openmetrics`,
and the Prometheus text format of the current values for a live /metrics page.

The history is computed tick by tick, but OpenMetrics wants every sample of a metric family
together: each family's lines go to its own temporary spool file while ticks are computed, and
the spools are joined into the output at the end, so memory stays flat however long the run.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from generator.synthetic.families import Family
from generator.synthetic.simulation import Simulation

TEXT_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_SPOOL_BUFFER = 256 * 1024


@dataclass(frozen=True)
class HistoryStats:
    """What `write_openmetrics` wrote: the file, its size in series and samples, its time range
    (Unix seconds, inclusive) and how long generating and writing took (seconds)."""

    path: Path
    series: int
    samples: int
    start: float
    end: float
    seconds: float


def format_value(value: float) -> str:
    """Returns a sample value as text: whole numbers without a fraction, others exactly."""
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if math.isnan(value):
        return "NaN"
    return repr(value)


def format_timestamp(seconds: float) -> str:
    """Returns an OpenMetrics timestamp (seconds, millisecond precision at most)."""
    milliseconds = round(seconds * 1000)
    whole, fraction = divmod(milliseconds, 1000)
    return str(whole) if fraction == 0 else f"{whole}.{fraction:03d}"


def _escape_help(text: str, openmetrics: bool) -> str:
    escaped = text.replace("\\", "\\\\").replace("\n", "\\n")
    return escaped.replace('"', '\\"') if openmetrics else escaped


def openmetrics_header(family: Family) -> str:
    """Returns the # TYPE and # HELP lines of `family` in OpenMetrics.

    OpenMetrics names a counter family without `_total`; dcgm-exporter's counters lack that
    suffix, so they are declared `unknown` (their samples and values stay the same)."""
    name, kind = family.name, str(family.kind)
    if kind == "counter":
        if name.endswith("_total"):
            name = name[: -len("_total")]
        else:
            kind = "unknown"
    return f"# TYPE {name} {kind}\n# HELP {name} {_escape_help(family.help, True)}\n"


def write_openmetrics(simulation: Simulation, path: Path | str, end: float) -> HistoryStats:
    """Writes the simulation's samples from its current tick through `end` to `path` as
    OpenMetrics (timestamps in seconds, `# EOF` last) and leaves the simulation at `end`.

    Returns what was written. Generation and writing are one pass, timed together."""
    began = time.perf_counter()
    path = Path(path)
    first = simulation.time
    families = list(simulation.families())
    counted: set[int] = set()
    samples = 0
    with tempfile.TemporaryDirectory(prefix="obsgen-openmetrics-") as spool_dir:
        spools = [
            open(  # noqa: SIM115 - closed below, one per family
                os.path.join(spool_dir, str(i)), "w", encoding="utf-8", buffering=_SPOOL_BUFFER
            )
            for i in range(len(families))
        ]
        try:
            while simulation.time <= end:
                stamp = " " + format_timestamp(simulation.time) + "\n"
                for family, spool in zip(families, spools, strict=True):
                    lines = _sample_lines(family, stamp)
                    if lines:
                        spool.write("".join(lines))
                        samples += len(lines)
                        series = family.series
                        if len(lines) == len(series):
                            counted.update(map(id, series))
                        else:
                            counted.update(id(s) for s in series if s.value is not None)
                if simulation.start + (simulation.tick + 1) * simulation.step > end:
                    break
                simulation.advance()
            last = simulation.time
            _join(families, spools, path)
        finally:
            for spool in spools:
                spool.close()
    seconds = time.perf_counter() - began
    return HistoryStats(path, len(counted), samples, first, last, seconds)


def _sample_lines(family: Family, stamp: str) -> list[str]:
    """Returns one line per series with a value, ending in `stamp`. format_value's common
    case is inlined: a call per sample was a third of the time of a large history."""
    return [
        f"{s.text} {int(v) if v.is_integer() and -1e15 < v < 1e15 else format_value(v)}{stamp}"
        for s in family.series
        if (v := s.value) is not None
    ]


def _join(families: Sequence[Family], spools: Sequence[IO[str]], path: Path) -> None:
    """Writes each family's header and spooled samples to `path`, then `# EOF`; the samples
    are copied as bytes, never decoded again."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        for family, spool in zip(families, spools, strict=True):
            if spool.tell() == 0:
                continue
            spool.flush()
            out.write(openmetrics_header(family).encode("utf-8"))
            with open(spool.name, "rb") as spooled:
                shutil.copyfileobj(spooled, out, 1024 * 1024)
        out.write(b"# EOF\n")


def render_text(families: Iterable[Family]) -> str:
    """Returns the current values in the Prometheus text format (version 0.0.4), without
    timestamps: the scraping Prometheus stamps them."""
    parts: list[str] = []
    for family in families:
        lines = [
            f"{s.text} {format_value(s.value)}\n" for s in family.series if s.value is not None
        ]
        if not lines:
            continue
        parts.append(f"# HELP {family.name} {_escape_help(family.help, False)}\n")
        parts.append(f"# TYPE {family.name} {family.kind}\n")
        parts.extend(lines)
    return "".join(parts)
