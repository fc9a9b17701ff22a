"""How `obsgen build` grows with the content: 100, 300 and 1,000 dashboards plus 5,000 rules.

The dashboards are team variants of the bundled ones and the rules team copies of the bundled
rules (bench/team_content.py), passed as `obsgen build --dashboards DIR --alerts DIR`. A build
renders everything and runs every offline check on it, so each figure is "built and
validated". Each size: wall-clock seconds and the process's peak resident memory, the median
of 5 runs after a warm-up, into an empty output directory each time.

Run: `python bench/scale.py` (add --json for machine-readable results).
"""

from __future__ import annotations

import json
import math
import re
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import measure

sys.path.insert(0, str(measure.ROOT))

from team_content import bundled_rule_count

from generator.content import discover
from generator.settings import load_settings

SIZES = (100, 300, 1000)
RULES = 5000
GOAL_SECONDS = 10.0  # 1,000 dashboards
GOAL_BYTES = 500 * 1024**2
_TEAM_DASHBOARD = (
    "from _team import team_dashboard\n\n\n"
    "def build(settings):\n    return team_dashboard(settings, {team})\n"
)
_TEAM_RULES = (
    "from _team import team_rule_groups\n\n\n"
    "def build(settings):\n    return team_rule_groups(settings, {team}, {limit})\n"
)
_SUMMARY = re.compile(r"obsgen: (\d+) dashboards, \d+ rule files \((\d+) rules\)")


def write_team_dashboards(directory: Path, teams: int) -> Path:
    """Writes one dashboard module per team into `directory`; returns it."""
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(Path(__file__).with_name("team_content.py"), directory / "_team.py")
    for team in range(teams):
        (directory / f"team_{team:04d}.py").write_text(_TEAM_DASHBOARD.format(team=team))
    return directory


def write_team_rules(directory: Path, rules: int, per_team: int) -> Path:
    """Writes alert modules, one per team, holding `rules` rules in all (each team at most
    `per_team`, the bundled rule count); returns `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(Path(__file__).with_name("team_content.py"), directory / "_team.py")
    for team in range(math.ceil(rules / per_team)):
        limit = min(per_team, rules - team * per_team)
        (directory / f"team_{team:04d}.py").write_text(_TEAM_RULES.format(team=team, limit=limit))
    return directory


def run(sizes: tuple[int, ...] = SIZES, rules: int = RULES) -> list[dict[str, Any]]:
    """Every figure of this benchmark, one result object each."""
    settings = load_settings(measure.ROOT / "obsgen.yaml")
    bundled_rules = bundled_rule_count(settings)
    bundled_dashboards = len(discover("dashboards"))
    results = []
    with tempfile.TemporaryDirectory(prefix="obsgen-bench-scale-") as scratch_name:
        scratch = Path(scratch_name)
        environment = measure.child_environment(scratch / "pycache")
        alerts = write_team_rules(scratch / "alerts", rules - bundled_rules, bundled_rules)
        out = scratch / "out"
        for size in sizes:
            teams = write_team_dashboards(scratch / f"dashboards-{size}", size - bundled_dashboards)
            command = [
                *[sys.executable, "-m", "generator", "build"],
                *["--dashboards", str(teams), "--alerts", str(alerts), "--out", str(out)],
            ]
            runs: list[measure.ProcessRun] = []

            def build(command: list[str] = command, runs: list[measure.ProcessRun] = runs) -> float:
                runs.append(measure.run_process(command, environment))
                return runs[-1].seconds

            seconds = measure.repeat(build, before_each=lambda: shutil.rmtree(out, True))
            built = _SUMMARY.search(runs[-1].stdout)
            assert built is not None, runs[-1].stdout[-500:]
            parameters = {"dashboards": int(built.group(1)), "rules": int(built.group(2))}
            peaks = [r.peak_bytes / 1024**2 for r in runs[1:]]
            results.append(
                measure.figure(
                    f"build + checks, {parameters['dashboards']:,} dashboards",
                    parameters,
                    seconds,
                    "s",
                    peak_memory_mib=statistics.median(peaks),
                    peak_memory_mib_max=max(peaks),
                )
            )
    _add_growth(results)
    return results


def _add_growth(results: list[dict[str, Any]]) -> None:
    """Adds to each larger size the seconds and MiB per dashboard beyond the smallest size:
    equal figures across sizes mean linear growth."""
    first = results[0]
    for result in results[1:]:
        extra = result["parameters"]["dashboards"] - first["parameters"]["dashboards"]
        result["seconds_per_extra_dashboard"] = (result["median"] - first["median"]) / extra
        result["mib_per_extra_dashboard"] = (
            result["peak_memory_mib"] - first["peak_memory_mib"]
        ) / extra


def table(results: list[dict[str, Any]]) -> str:
    lines = [
        f"{'benchmark':38} {'median':>8} {'min':>8} {'max':>8} {'peak MiB':>9}  "
        "s/extra dashboard  MiB/extra dashboard"
    ]
    for r in results:
        growth = ""
        if "seconds_per_extra_dashboard" in r:
            per_dashboard = r["seconds_per_extra_dashboard"] * 1000
            growth = f"{per_dashboard:14.2f} ms  {r['mib_per_extra_dashboard']:15.3f}"
        lines.append(
            f"{r['name']:38} {r['median']:7.2f}s {r['min']:7.2f}s {r['max']:7.2f}s "
            f"{r['peak_memory_mib']:9.0f}  {growth}"
        )
    largest = results[-1]
    met = largest["median"] < GOAL_SECONDS and largest["peak_memory_mib"] * 1024**2 < GOAL_BYTES
    lines.append(
        f"\n{largest['parameters']['rules']:,} rules in every build; goal for "
        f"{largest['parameters']['dashboards']:,} dashboards (< {GOAL_SECONDS:g} s, "
        f"< {GOAL_BYTES // 1024**2} MB): " + ("met" if met else "NOT met")
    )
    return "\n".join(lines)


if __name__ == "__main__":
    figures = run()
    print(json.dumps(figures, indent=2) if "--json" in sys.argv[1:] else table(figures))
