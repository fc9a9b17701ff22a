"""The benchmark's helpers (bench/): team content, the build floor, panel costs, processes.

Timings are never asserted here; these tests check that the benchmarks measure what they say.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
sys.path.insert(0, str(BENCH))

import build_speed  # noqa: E402
import measure  # noqa: E402
import query_cost  # noqa: E402
import scale  # noqa: E402

from generator.build import Artifact, BuildResult  # noqa: E402
from generator.runtime import TargetQuery  # noqa: E402


def test_team_content_builds_distinct_dashboards_and_the_asked_number_of_rules(
    tmp_path: Path,
) -> None:
    dashboards = scale.write_team_dashboards(tmp_path / "dashboards", 4)
    alerts = scale.write_team_rules(tmp_path / "alerts", 25, 10)
    out = tmp_path / "out"
    completed = subprocess.run(
        [
            *[sys.executable, "-m", "generator", "build", "--out", str(out)],
            *["--dashboards", str(dashboards), "--alerts", str(alerts)],
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    team = [a for a in manifest["artifacts"] if a["kind"] == "dashboard" and "team" in a["title"]]
    assert len(team) == 4
    assert len({a["uid"] for a in team}) == 4
    assert all(len(a["uid"]) <= 40 for a in team)
    team_rules = sorted(out.glob("rules/team_*.rules.yaml"))
    assert len(team_rules) == 3  # 10 + 10 + 5
    summary = scale._SUMMARY.search(completed.stdout)
    assert summary is not None
    bundled = int(summary.group(2)) - 25
    assert bundled > 0


def test_the_floor_writes_exactly_the_bytes_it_was_given(tmp_path: Path) -> None:
    built = tmp_path / "built"
    (built / "dashboards").mkdir(parents=True)
    (built / "dashboards" / "a.json").write_text('{\n  "b": [\n    1,\n    "é"\n  ]\n}\n')
    (built / "rules.yaml").write_text("groups: []\n")
    source = build_speed.floor_input(built, tmp_path / "input.json")
    subprocess.run(
        [sys.executable, "-c", build_speed.FLOOR_SCRIPT, str(source), str(tmp_path / "floor")],
        check=True,
    )
    assert build_speed.same_files(built, tmp_path / "floor")
    (tmp_path / "floor" / "rules.yaml").write_text("groups: [x]\n")
    assert not build_speed.same_files(built, tmp_path / "floor")


def _query(panel_id: int, title: str, expr: str = "up") -> TargetQuery:
    return TargetQuery(panel_id, title, "A", expr, expr, 0.0, 3600.0, 30, False)


def test_panel_costs_sum_each_panels_queries_per_run() -> None:
    queries = [_query(1, "a"), _query(1, "a"), _query(2, "b")]
    seconds = [[0.1, 0.2], [0.3, 0.1], [0.05, 0.05]]
    costs = query_cost.panel_costs(queries, seconds)
    assert list(costs) == [(1, "a"), (2, "b")]
    assert costs[(1, "a")] == pytest.approx([0.4, 0.3])
    assert costs[(2, "b")] == pytest.approx([0.05, 0.05])


def test_reads_names_the_metrics_of_templated_and_broken_expressions() -> None:
    assert query_cost.reads('sum(rate(a_total{job=~"$job"}[$__rate_interval])) / b') == {
        "a_total",
        "b",
    }
    assert query_cost.reads("sum(") == set()


def test_reference_dashboards_are_skipped_when_the_directory_is_absent(tmp_path: Path) -> None:
    assert query_cost.reference_dashboards(tmp_path / "absent") is None
    (tmp_path / "one.json").write_text('{"title": "One", "panels": []}')
    [dashboard] = query_cost.reference_dashboards(tmp_path) or []
    assert (dashboard.source, dashboard.title) == ("reference", "One")


def test_run_process_reports_the_childs_own_peak_memory_and_failures(tmp_path: Path) -> None:
    grow = "b = bytearray(64 * 1024 * 1024); b[::4096] = b'x' * len(b[::4096]); print('ok')"
    big = measure.run_process([sys.executable, "-c", grow], cwd=tmp_path)
    small = measure.run_process([sys.executable, "-c", "print('ok')"], cwd=tmp_path)
    assert big.stdout == small.stdout == "ok\n"
    assert big.peak_bytes > small.peak_bytes + 48 * 1024 * 1024
    with pytest.raises(RuntimeError, match="exited 3"):
        measure.run_process([sys.executable, "-c", "raise SystemExit(3)"], cwd=tmp_path)


def test_repeat_warms_up_once_and_prepares_every_call() -> None:
    calls: list[str] = []
    values = iter([9.0, 1.0, 2.0, 3.0])
    samples = measure.repeat(
        lambda: calls.append("run") or next(values), 3, before_each=lambda: calls.append("prep")
    )
    assert samples == [1.0, 2.0, 3.0]
    assert calls == ["prep", "run"] * 4
    figure = measure.figure("x", {"n": 1}, samples, "s", ratio=2.0)
    assert figure["median"] == 2.0 and figure["parameters"] == {"runs": 3, "n": 1}


def test_recorded_series_read_are_the_recording_rules_a_dashboard_selects() -> None:
    rules = {
        "groups": [
            {
                "name": "g",
                "rules": [
                    {"record": "job:used:sum", "expr": "sum by (job) (used)"},
                    {"record": "job:unused:sum", "expr": "sum by (job) (unused)"},
                    {"alert": "High", "expr": "job:used:sum > 1"},
                ],
            }
        ]
    }
    target = {"refId": "A", "expr": 'job:used:sum{job=~"$job"} / on (job) total'}
    dashboard = {"uid": "d", "title": "d", "panels": [{"id": 1, "targets": [target]}]}
    content = BuildResult(
        [
            Artifact("rules", "rules/a.rules.yaml", "", "alerts/a.py", rules),
            Artifact("dashboard", "dashboards/d.json", "", "dashboards/d.py", dashboard),
        ],
        [],
    )
    assert query_cost.recorded_series(content) == {"job:used:sum", "job:unused:sum"}
    assert query_cost.recorded_series_read(content) == ["job:used:sum"]
