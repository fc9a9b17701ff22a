"""How the benchmarks measure: whole processes, a warm-up first, then the median of the runs.

Child processes get the environment a user's installed obsgen has: compiled bytecode is
cached (in a scratch directory given by PYTHONPYCACHEPREFIX, so the source tree stays clean),
even when the calling shell sets PYTHONDONTWRITEBYTECODE. The warm-up run fills that cache.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RUNS = 5


@dataclass(frozen=True)
class ProcessRun:
    """One finished child process: wall-clock seconds, peak resident memory, its output."""

    seconds: float
    peak_bytes: int
    stdout: str


def child_environment(pycache: Path) -> dict[str, str]:
    """Returns the environment for timed children: bytecode cached under `pycache`."""
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    environment["PYTHONPYCACHEPREFIX"] = str(pycache)
    return environment


# Runs the command in a grandchild and reports its own wall time and peak memory. Linux keeps
# the largest memory a process had before exec in its maximum, and a child started from a
# large benchmark process would report that process's size; this small launcher is its parent.
LAUNCHER = """
import json, os, sys, time
began = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
seconds = time.perf_counter() - began
with open(sys.argv[1], "w") as report:
    json.dump({"seconds": seconds, "maxrss": usage.ru_maxrss}, report)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run_process(
    command: Sequence[str], environment: Mapping[str, str] | None = None, cwd: Path = ROOT
) -> ProcessRun:
    """Runs `command` to completion; raises RuntimeError when it fails. Seconds run from
    starting the command to its exit; peak memory is the command's own maximum resident set
    size (see LAUNCHER)."""
    with tempfile.TemporaryDirectory(prefix="obsgen-bench-run-") as scratch:
        report = Path(scratch) / "report.json"
        completed = subprocess.run(
            [sys.executable, "-c", LAUNCHER, str(report), *command],
            cwd=cwd,
            env=dict(environment) if environment is not None else None,
            capture_output=True,
            text=True,
            check=False,
        )
        if completed.returncode != 0:
            raise RuntimeError(
                f"{' '.join(command)} exited {completed.returncode}: {completed.stderr[-2000:]}"
            )
        measured = json.loads(report.read_text())
    return ProcessRun(measured["seconds"], measured["maxrss"] * _MAXRSS_UNIT, completed.stdout)


_MAXRSS_UNIT = 1 if sys.platform == "darwin" else 1024  # Linux counts kilobytes


def repeat(
    function: Callable[[], float],
    runs: int = RUNS,
    before_each: Callable[[], None] | None = None,
) -> list[float]:
    """Returns what `function` measured on each of `runs` calls after one warm-up call;
    `before_each` runs untimed before every call (e.g. emptying an output directory)."""
    samples = []
    for attempt in range(runs + 1):
        if before_each is not None:
            before_each()
        value = function()
        if attempt:
            samples.append(value)
    return samples


def wall_seconds(function: Callable[[], Any]) -> Callable[[], float]:
    """Returns a function that calls `function` and gives back the seconds it took."""

    def timed() -> float:
        started = time.perf_counter()
        function()
        return time.perf_counter() - started

    return timed


def figure(
    name: str, parameters: Mapping[str, Any], samples: Sequence[float], unit: str, **extra: Any
) -> dict[str, Any]:
    """Returns one benchmark's result object: name, parameters, median, min, max, unit and
    any extra fields (ratio, compared_to, ...)."""
    return {
        "name": name,
        "parameters": {"runs": len(samples), **parameters},
        "median": statistics.median(samples),
        "min": min(samples),
        "max": max(samples),
        "unit": unit,
        **extra,
    }
