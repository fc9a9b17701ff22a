"""How long `obsgen build` of the bundled content takes, against the floor.

The floor is a Python process that imports only json and os, reads the documents obsgen
wrote (one JSON input file), serializes them again and writes the same bytes to the same
paths: JSON files through json.dumps, YAML files as the text obsgen wrote (the floor cannot
serialize YAML without importing a YAML library). Both write into an empty directory each
run; the floor's output is compared byte for byte with obsgen's.

Also timed: `obsgen build` into an up-to-date output directory, and `obsgen --help`
(start-up and the CLI alone).

Run: `python bench/build_speed.py` (add --json for machine-readable results).
"""

from __future__ import annotations

import json
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import measure

RUNS = 7
GOAL_SECONDS = 0.6
GOAL_RATIO = 3.0
OBSGEN = [sys.executable, "-m", "generator"]

FLOOR_SCRIPT = """
import json, os, sys
with open(sys.argv[1], encoding="utf-8") as source:
    files = json.load(source)
target = sys.argv[2]
for relative, (kind, content) in files.items():
    path = os.path.join(target, relative)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if kind == "json":
        content = json.dumps(content, indent=2, sort_keys=True, ensure_ascii=False) + "\\n"
    with open(path, "w", encoding="utf-8") as out:
        out.write(content)
"""


def floor_input(built: Path, destination: Path) -> Path:
    """Writes the floor's input: every file obsgen built, JSON ones parsed, by path."""
    files: dict[str, Any] = {}
    for path in sorted(p for p in built.rglob("*") if p.is_file()):
        text = path.read_text(encoding="utf-8")
        relative = str(path.relative_to(built))
        files[relative] = ["json", json.loads(text)] if path.suffix == ".json" else ["text", text]
    destination.write_text(json.dumps(files), encoding="utf-8")
    return destination


def same_files(left: Path, right: Path) -> bool:
    """True when both trees hold the same files with the same bytes."""
    names = {p.relative_to(left) for p in left.rglob("*") if p.is_file()}
    if names != {p.relative_to(right) for p in right.rglob("*") if p.is_file()}:
        return False
    return all((left / n).read_bytes() == (right / n).read_bytes() for n in names)


def run(runs: int = RUNS) -> list[dict[str, Any]]:
    """Every figure of this benchmark, one result object each."""
    with tempfile.TemporaryDirectory(prefix="obsgen-bench-build-") as scratch_name:
        scratch = Path(scratch_name)
        environment = measure.child_environment(scratch / "pycache")
        out, floor_out = scratch / "out", scratch / "floor"

        def process(command: list[str]) -> float:
            return measure.run_process(command, environment).seconds

        build = [*OBSGEN, "build", "--out", str(out)]
        fresh = measure.repeat(
            lambda: process(build), runs, before_each=lambda: shutil.rmtree(out, True)
        )
        floor = [sys.executable, "-c", FLOOR_SCRIPT]
        floor += [str(floor_input(out, scratch / "floor-input.json")), str(floor_out)]
        floor_seconds = measure.repeat(
            lambda: process(floor), runs, before_each=lambda: shutil.rmtree(floor_out, True)
        )
        assert same_files(out, floor_out), "the floor must write exactly obsgen's bytes"
        unchanged = measure.repeat(lambda: process(build), runs)
        help_seconds = measure.repeat(lambda: process([*OBSGEN, "--help"]), runs)
        files = sum(1 for p in out.rglob("*") if p.is_file())
    floor_figure = measure.figure(
        "floor: python (json, os) writing the same bytes", {"files": files}, floor_seconds, "s"
    )
    return [
        measure.figure(
            "obsgen build (bundled content, empty --out)",
            {"files": files, "goal_seconds": GOAL_SECONDS, "goal_ratio": GOAL_RATIO},
            fresh,
            "s",
            ratio=statistics.median(fresh) / floor_figure["median"],
            compared_to=floor_figure["name"],
        ),
        floor_figure,
        measure.figure("obsgen build (output up to date)", {"files": files}, unchanged, "s"),
        measure.figure("obsgen --help", {}, help_seconds, "s"),
    ]


def table(results: list[dict[str, Any]]) -> str:
    lines = [f"{'benchmark':50} {'median':>8} {'min':>8} {'max':>8}  ratio"]
    for r in results:
        ratio = f"{r['ratio']:.1f}x floor" if "ratio" in r else ""
        lines.append(
            f"{r['name']:50} {r['median']:7.3f}s {r['min']:7.3f}s {r['max']:7.3f}s  {ratio}"
        )
    build = results[0]
    lines.append(
        f"\ngoal: median < {GOAL_SECONDS:g} s ("
        + ("met" if build["median"] < GOAL_SECONDS else "NOT met")
        + f"), within {GOAL_RATIO:g}x of the floor ("
        + ("met" if build["ratio"] <= GOAL_RATIO else "NOT met")
        + ")"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    figures = run()
    print(json.dumps(figures, indent=2) if "--json" in sys.argv[1:] else table(figures))
