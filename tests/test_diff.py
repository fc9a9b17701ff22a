"""`obsgen diff`: what a push would change, per dashboard and per panel.

Grafana is represented by a double of its HTTP API (tests/grafana_double.py) on 127.0.0.1,
driven by the real grafana-client; no Grafana server can be installed here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from delivery_helpers import (
    BUNDLED_UIDS,
    TRAINING_UID,
    dashboard_module,
    edit_as_a_person,
    grafana_environment,
    write_module,
)
from grafana_double import GrafanaApiDouble

from generator.deliver.grafana.diffing import dashboard_diff

UTIL = ("GPU utilisation", "DCGM_FI_DEV_GPU_UTIL")
TEMPERATURE = ("GPU temperature", "DCGM_FI_DEV_GPU_TEMP")


@pytest.fixture
def grafana(monkeypatch: pytest.MonkeyPatch) -> Iterator[GrafanaApiDouble]:
    yield from grafana_environment(monkeypatch)


@pytest.fixture
def obsgen(
    run_cli: Callable[..., Result],
    project_root: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[..., Result]:
    monkeypatch.chdir(tmp_path)  # default backups (out/backups) never land in the checkout

    def run(command: str, *args: str | Path) -> Result:
        return run_cli(command, "--config", project_root / "obsgen.yaml", *args)

    return run


def test_every_state_with_a_per_panel_diff(
    grafana: GrafanaApiDouble, obsgen: Callable[..., Result], tmp_path: Path
) -> None:
    # content modules are imported once per process, so the changed module is a new file
    team, before, after = tmp_path / "team", tmp_path / "before", tmp_path / "after"
    for name in ("keep", "drift"):
        write_module(team, f"{name}.py", dashboard_module(name, name.title(), (UTIL,)))
    write_module(before, "change.py", dashboard_module("change", "Change", (UTIL,)))
    write_module(before, "gone.py", dashboard_module("gone", "Gone", (UTIL,)))
    assert obsgen("push", "--dashboards", team, "--dashboards", before).exit_code == 0
    write_module(after, "change.py", dashboard_module("change", "Change", (TEMPERATURE, UTIL)))
    write_module(after, "fresh.py", dashboard_module("fresh", "Fresh", (UTIL, TEMPERATURE)))

    def retitle(dashboard: dict[str, Any]) -> None:
        dashboard["panels"][1]["title"] = "Edited"

    edit_as_a_person(grafana, "drift", retitle)
    grafana.clear_log()

    result = obsgen("diff", "--dashboards", team, "--dashboards", after)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith(f"obsgen diff: Grafana 11.6.0 at {grafana.url}, folder ")

    def block(state: str, uid: str) -> list[str]:
        """The line of `uid` and its indented details."""
        start = next(i for i, line in enumerate(lines) if re.match(rf"{state}\s+{uid} ", line))
        end = next(
            (i for i in range(start + 1, len(lines)) if not lines[i].startswith("    ")),
            len(lines),
        )
        return lines[start:end]

    assert block("new", "fresh") == [
        'new        fresh "Fresh"',
        f"    + new dashboard with 3 panels, from {after / 'fresh.py'}",
    ]
    assert block("unchanged", "keep") == ['unchanged  keep "Keep"']
    change = block("changed", "change")
    assert change[0] == 'changed    change "Change": the generated content differs'
    assert change[1] == '    ~ panel 2 "GPU temperature"'
    assert any(re.search(r"targets\[A\]\.expr: \".*UTIL.*\" -> \".*TEMP.*\"", x) for x in change)
    assert '    + panel 3 "GPU utilisation" added' in change
    drift = block("drifted", "drift")
    assert re.match(
        r'drifted\s+drift "Drift": edited in Grafana since obsgen wrote it \(version 2, by '
        r"admin at \d{4}-\d\d-\d\dT",
        drift[0],
    )
    assert drift[1:] == [
        '    ~ panel 2 "GPU utilisation"',
        '        title: "Edited" -> "GPU utilisation"',
    ]
    assert block("orphaned", "gone") == [
        'orphaned   gone "Gone": no module generates it any more',
        "    - `obsgen push --prune` deletes it",
    ]
    unchanged = len(BUNDLED_UIDS) + 1  # the bundled dashboards and `keep`
    assert lines[-1] == f"summary: 1 new, {unchanged} unchanged, 1 changed, 1 drifted, 1 orphaned"
    assert grafana.writes() == []
    assert obsgen("diff", "--dashboards", team, "--dashboards", after, "--exit-code").exit_code == 2


def test_exit_code_0_when_grafana_holds_exactly_the_generated_dashboards(
    grafana: GrafanaApiDouble, obsgen: Callable[..., Result]
) -> None:
    assert obsgen("push").exit_code == 0
    result = obsgen("diff", "--exit-code")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == (
        f"summary: 0 new, {len(BUNDLED_UIDS)} unchanged, 0 changed, 0 drifted, 0 orphaned"
    )


def test_against_an_empty_grafana_everything_is_new_and_nothing_is_created(
    grafana: GrafanaApiDouble, obsgen: Callable[..., Result]
) -> None:
    result = obsgen("diff", "--exit-code")
    assert result.exit_code == 2, result.output
    assert "folder 'GPU Workloads' (not created yet)" in result.output
    assert f"summary: {len(BUNDLED_UIDS)} new" in result.output
    assert grafana.writes() == []
    assert grafana.folders() == {}


def test_a_dashboard_moved_out_of_the_folder_is_changed_and_push_moves_it_back(
    grafana: GrafanaApiDouble, obsgen: Callable[..., Result]
) -> None:
    assert obsgen("push").exit_code == 0
    folder = grafana.folder_of(TRAINING_UID)
    edit_as_a_person(grafana, TRAINING_UID, lambda d: None, folder_uid="")
    result = obsgen("diff")
    assert f"changed    {TRAINING_UID} \"GPU Training\": moves from folder 'General'" in (
        result.output
    )
    assert obsgen("push").exit_code == 0
    assert grafana.folder_of(TRAINING_UID) == folder


def test_errors_exit_1_even_with_exit_code(
    grafana: GrafanaApiDouble, obsgen: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRAFANA_TOKEN", "glsa_revoked")
    result = obsgen("diff", "--exit-code")
    assert result.exit_code == 1, result.output
    assert "rejected the service-account token from GRAFANA_TOKEN (401 Invalid API key)" in (
        result.output
    )
    assert "Traceback" not in result.output


# ---- the per-panel diff (pure) -------------------------------------------------------------


def board(*panels: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"uid": "u", "title": "Board", "panels": list(panels), **fields}


def panel(panel_id: int, title: str, *exprs: str, **fields: Any) -> dict[str, Any]:
    targets = [{"refId": chr(65 + i), "expr": e} for i, e in enumerate(exprs)]
    return {"id": panel_id, "type": "timeseries", "title": title, "targets": targets, **fields}


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            board(panel(1, "A", "up", "rate(x[5m])")),
            board(panel(1, "A", "up", "rate(x[1m])")),
            ['~ panel 1 "A"', '    targets[B].expr: "rate(x[5m])" -> "rate(x[1m])"'],
        ),
        (
            board(panel(1, "A", "up"), panel(2, "B", "up")),
            board(panel(2, "B", "up"), panel(1, "A", "up")),
            [],  # order alone: panels are matched by id
        ),
        (
            board(panel(1, "A", "up")),
            board(panel(1, "A", "up"), panel(2, "New", "x")),
            ['+ panel 2 "New" added'],
        ),
        (
            board(panel(1, "A", "up"), panel(2, "Old", "x")),
            board(panel(1, "A", "up")),
            ['- panel 2 "Old" removed'],
        ),
        (
            board(
                {
                    "id": 1,
                    "type": "row",
                    "title": "R",
                    "collapsed": True,
                    "panels": [panel(2, "Inside", "up")],
                },
            ),
            board(
                {
                    "id": 1,
                    "type": "row",
                    "title": "R",
                    "collapsed": True,
                    "panels": [panel(2, "Inside", "down")],
                },
            ),
            ['~ panel 2 "Inside"', '    targets[A].expr: "up" -> "down"'],
        ),
        (
            board(
                templating={"list": [{"name": "job", "query": "a"}, {"name": "ns", "query": "b"}]}
            ),
            board(
                templating={"list": [{"name": "ns", "query": "c"}, {"name": "job", "query": "a"}]}
            ),
            ['~ dashboard templating.list[ns].query: "b" -> "c"'],
        ),
        (
            board(tags=["a"], refresh="30s", id=4, version=9, iteration=123, obsgen={"x": 1}),
            board(tags=["a", "b"], refresh="30s"),
            ['~ dashboard tags: ["a"] -> ["a", "b"]'],
        ),
        (
            board(panel(1, "A", "up", fieldConfig={"defaults": {"max": 100.0}})),
            board(panel(1, "A", "up", fieldConfig={"defaults": {"max": 100}})),
            [],  # 100.0 comes back from Grafana as 100
        ),
        (
            board(panel(1, "A", "up")),
            board(panel(1, "A", "up", description="x" * 200)),
            ['~ panel 1 "A"', f'    description: (absent) -> "{"x" * 76}...'],
        ),
    ],
    ids=[
        "target-by-refid",
        "reordered",
        "added",
        "removed",
        "row-child",
        "variable-by-name",
        "ignored-fields",
        "numbers",
        "long-values",
    ],
)
def test_dashboard_diff(old: dict[str, Any], new: dict[str, Any], expected: list[str]) -> None:
    assert dashboard_diff(old, new) == expected
