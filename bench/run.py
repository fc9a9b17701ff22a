"""`make bench`: times obsgen as whole processes, the way a user or CI runs it.

Every figure is the median of several runs after a warm-up. Results are printed as a table and
written to bench/results.json (one object per benchmark).
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import push_speed  # bench/ is on sys.path when this file runs as a script
import validate_speed

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results.json"
RUNS = 7
OBSGEN = [sys.executable, "-m", "generator"]

# The floor: a process that only writes the bytes obsgen writes (the build's own output).
FLOOR_SCRIPT = """
import json, pathlib, sys
source, target = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
blobs = {p.relative_to(source): p.read_bytes() for p in source.rglob("*") if p.is_file()}
for relative, data in blobs.items():
    path = target / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(json.dumps(json.loads(data)).encode() if relative.suffix == ".json" else data)
"""


def timed(command: list[str], runs: int = RUNS) -> dict[str, float]:
    """Median, min and max wall-clock seconds of `command`, after one warm-up run."""
    subprocess.run(command, check=True, capture_output=True, cwd=ROOT)
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, cwd=ROOT)
        samples.append(time.perf_counter() - started)
    return {"median": statistics.median(samples), "min": min(samples), "max": max(samples)}


def main() -> None:
    results = []
    with tempfile.TemporaryDirectory(prefix="obsgen-bench-") as scratch:
        fresh = Path(scratch) / "fresh"
        # A fresh output directory each run: every file is written, nothing is skipped.
        build_fresh = [*OBSGEN, "build", "--out", str(fresh)]
        cleanup = [sys.executable, "-c", f"import shutil; shutil.rmtree({str(fresh)!r}, True)"]
        samples = []
        subprocess.run(build_fresh, check=True, capture_output=True, cwd=ROOT)
        for _ in range(RUNS):
            subprocess.run(cleanup, check=True, cwd=ROOT)
            started = time.perf_counter()
            subprocess.run(build_fresh, check=True, capture_output=True, cwd=ROOT)
            samples.append(time.perf_counter() - started)
        build = {"median": statistics.median(samples), "min": min(samples), "max": max(samples)}
        floor = timed([sys.executable, "-c", FLOOR_SCRIPT, str(fresh), str(Path(scratch) / "f")])
        results.append(
            {
                "name": "build",
                "parameters": {"content": "bundled", "out": "empty"},
                **build,
                "unit": "s",
                "ratio": build["median"] / floor["median"],
                "compared_to": "floor: python writing the same bytes",
            }
        )
        results.append({"name": "build-floor", "parameters": {}, **floor, "unit": "s"})
        rebuild = timed([*OBSGEN, "build", "--out", str(fresh)])
        results.append(
            {"name": "build-unchanged", "parameters": {"out": "up to date"}, **rebuild, "unit": "s"}
        )
        results.append(
            {"name": "help", "parameters": {}, **timed([*OBSGEN, "--help"]), "unit": "s"}
        )
    validation = validate_speed.run()
    pushes = push_speed.run()
    machine = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    RESULTS.write_text(
        json.dumps({"machine": machine, "results": results + validation + pushes}, indent=2) + "\n"
    )
    print(f"{'benchmark':<18}{'median':>10}{'min':>10}{'max':>10}  ratio")
    for r in results:
        ratio = f"{r['ratio']:.2f}x floor" if "ratio" in r else ""
        print(f"{r['name']:<18}{r['median']:>9.3f}s{r['min']:>9.3f}s{r['max']:>9.3f}s  {ratio}")
    print()
    print(validate_speed.table(validation))
    print()
    print(push_speed.table(pushes))
    print(f"machine: {machine['cpus']} CPUs, Python {machine['python']}; -> {RESULTS}")
    shutil.rmtree(ROOT / "bench" / "__pycache__", ignore_errors=True)


if __name__ == "__main__":
    main()
