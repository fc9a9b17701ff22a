"""Markdown tables of bench/results.json for the README's Performance section.

Run: `python bench/report.py` after `make bench`, and paste its output over the tables.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results.json"


def _rows(results: list[dict[str, Any]], benchmark: str) -> list[dict[str, Any]]:
    return [r for r in results if r.get("benchmark") == benchmark]


def _header(*columns: str) -> Iterator[str]:
    yield "| " + " | ".join(columns) + " |"
    yield "|" + " --- |" * len(columns)


def _seconds(value: float) -> str:
    return f"{value:.3f} s" if value < 10 else f"{value:.1f} s"


def machine_line(machine: dict[str, Any]) -> str:
    ran = machine.get("benchmarks_run", [])
    return (
        f"Measured on {machine['nproc']} CPUs ({machine['cpu']}), {machine['memory_gib']} GiB "
        f"of RAM, Python {machine['python']}, load average {machine['load_average_at_start']:.1f} "
        f"at the start and {machine['load_average_at_end']:.1f} at the end; the last run "
        f"({', '.join(ran) or 'every benchmark'}) took {machine['seconds'] / 60:.1f} min."
    )


def build_table(results: list[dict[str, Any]]) -> Iterator[str]:
    yield from _header("build", "median", "min", "max", "ratio")
    for r in _rows(results, "build"):
        ratio = f"{r['ratio']:.1f}x the floor" if "ratio" in r else ""
        yield (
            f"| {r['name']} | {_seconds(r['median'])} | {_seconds(r['min'])} | "
            f"{_seconds(r['max'])} | {ratio} |"
        )


def scale_table(results: list[dict[str, Any]]) -> Iterator[str]:
    yield from _header(
        "build + every offline check",
        "rules",
        "median",
        "min",
        "max",
        "peak memory",
        "per extra dashboard",
    )
    for r in _rows(results, "scale"):
        growth = ""
        if "seconds_per_extra_dashboard" in r:
            growth = (
                f"{r['seconds_per_extra_dashboard'] * 1000:.1f} ms, "
                f"{r['mib_per_extra_dashboard']:.2f} MiB"
            )
        yield (
            f"| {r['parameters']['dashboards']:,} dashboards | {r['parameters']['rules']:,} | "
            f"{_seconds(r['median'])} | {_seconds(r['min'])} | {_seconds(r['max'])} | "
            f"{r['peak_memory_mib']:.0f} MiB | {growth} |"
        )


def validate_table(results: list[dict[str, Any]]) -> Iterator[str]:
    yield from _header("validation of 10,000 expressions", "median", "min", "max", "vs promtool")
    for r in _rows(results, "validate"):
        ratio = f"{r['ratio']:.2f}x" if "ratio" in r else ""
        yield (
            f"| {r['name']} | {r['median']:,.0f} expr/s | {r['min']:,.0f} | {r['max']:,.0f} | "
            f"{ratio} |"
        )


def push_table(results: list[dict[str, Any]]) -> Iterator[str]:
    yield from _header(
        "push of 200 dashboards to the double of Grafana's API",
        "median",
        "min",
        "max",
        "dashboards/s",
    )
    for r in _rows(results, "push"):
        yield (
            f"| {r['name']} | {_seconds(r['median'])} | {_seconds(r['min'])} | "
            f"{_seconds(r['max'])} | {r['dashboards_per_second']:,.0f} |"
        )


def query_table(results: list[dict[str, Any]]) -> Iterator[str]:
    rows = _rows(results, "query")
    if not rows:
        yield "(query cost: skipped, Prometheus was not installed)"
        return
    yield from _header(
        "dashboard refresh",
        "queries",
        "median",
        "min",
        "max",
        "Prometheus evaluating",
        "slowest panel",
        "panels over 100 ms",
    )
    for r in rows[1:]:
        slowest = r["slowest_panel"]
        yield (
            f"| {r['name'].removeprefix('refresh: ')} | {r['parameters']['queries']} | "
            f"{_seconds(r['median'])} | {_seconds(r['min'])} | {_seconds(r['max'])} | "
            f"{_seconds(r['prometheus_eval_seconds'])} | {slowest['panel']} "
            f"({slowest['median_seconds'] * 1000:.0f} ms) | {len(r['heavy_panels'])} |"
        )


def main() -> None:
    document = json.loads(RESULTS.read_text())
    results = document["results"]
    print(machine_line(document["machine"]))
    for table in (build_table, scale_table, validate_table, push_table, query_table):
        print()
        print("\n".join(table(results)))


if __name__ == "__main__":
    main()
