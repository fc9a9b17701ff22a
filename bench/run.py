"""`make bench`: every benchmark, printed as tables and written to bench/results.json.

Each figure is the median of several runs after a warm-up, timed as whole processes where a
user runs a process (see each module's docstring for what exactly it times):

- build_speed: `obsgen build` of the bundled content against a Python floor;
- scale: 100, 300 and 1,000 dashboards plus 5,000 rules, time and peak memory;
- validate_speed: 10,000 expressions, obsgen's offline checks against `promtool check rules`;
- push_speed: 200 dashboards to a double of Grafana's HTTP API;
- query_cost: every bundled (and reference) dashboard refreshed against a real Prometheus
  holding a 1,024-GPU synthetic fleet.

`python bench/run.py [NAME ...]` runs only the named benchmarks and keeps the others' last
results in bench/results.json.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import build_speed  # bench/ is on sys.path when this file runs as a script
import measure
import push_speed
import query_cost
import scale
import validate_speed

RESULTS = measure.ROOT / "bench" / "results.json"
Benchmark = tuple[Callable[[], list[dict[str, Any]]], Callable[[list[dict[str, Any]]], str]]
BENCHMARKS: dict[str, Benchmark] = {
    "build": (build_speed.run, build_speed.table),
    "scale": (scale.run, scale.table),
    "validate": (validate_speed.run, validate_speed.table),
    "push": (push_speed.run, push_speed.table),
    "query": (query_cost.run, query_cost.table),
}


def machine() -> dict[str, Any]:
    """Returns what the figures were measured on."""
    cpu = ""
    memory = 0
    with open("/proc/cpuinfo", encoding="utf-8") as info:
        cpu = next((line.split(":", 1)[1].strip() for line in info if "model name" in line), "")
    with open("/proc/meminfo", encoding="utf-8") as info:
        memory = next((int(line.split()[1]) * 1024 for line in info if "MemTotal" in line), 0)
    return {
        "nproc": os.cpu_count(),
        "memory_gib": round(memory / 1024**3, 1),
        "cpu": cpu,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_at_start": os.getloadavg()[0],
    }


def main(names: list[str]) -> None:
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        sys.exit(f"unknown benchmark(s) {unknown}; choose from {list(BENCHMARKS)}")
    selected = names or list(BENCHMARKS)
    previous = json.loads(RESULTS.read_text()) if RESULTS.exists() and names else {}
    sections: dict[str, list[dict[str, Any]]] = {}
    for result in previous.get("results", []):
        sections.setdefault(result.get("benchmark", ""), []).append(result)
    about = machine()
    began = time.perf_counter()
    for name in selected:
        run, table = BENCHMARKS[name]
        started = time.perf_counter()
        sections[name] = [{"benchmark": name, **result} for result in run()]
        print(f"== {name} ({time.perf_counter() - started:.0f} s)\n{table(sections[name])}\n")
    about["load_average_at_end"] = os.getloadavg()[0]
    about["seconds"] = round(time.perf_counter() - began)
    about["benchmarks_run"] = selected
    results = [r for name in BENCHMARKS for r in sections.get(name, [])]
    RESULTS.write_text(json.dumps({"machine": about, "results": results}, indent=2) + "\n")
    print(
        f"machine: {about['nproc']} CPUs ({about['cpu']}), {about['memory_gib']} GiB, "
        f"Python {about['python']}; load average {about['load_average_at_start']:.1f} at the "
        f"start, {about['load_average_at_end']:.1f} at the end; {about['seconds']} s -> {RESULTS}"
    )
    shutil.rmtree(Path(__file__).parent / "__pycache__", ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1:])
