"""Content modules: discovery, a team's extra directories, and clean errors for broken modules."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from generator.content import discover

RAISES_HERE = "# <- raises here"


def dashboard_module(
    uid: str, title: str = "Team GPUs", metric: str = "DCGM_FI_DEV_GPU_UTIL"
) -> str:
    """A small valid dashboard module built with the authoring helpers."""
    return textwrap.dedent(
        f'''\
        """{title}: a team's own dashboard."""

        from generator.panels import Section, dashboard, query_variable, target, timeseries
        from generator.queries import Queries, aggregate, matcher


        def build(settings):
            q = Queries(settings)
            util = q.selector("{metric}", matcher("namespace", "$namespace"))
            panel = timeseries(
                "GPU utilisation",
                "Average GPU utilisation of the team's pods.",
                "percent",
                [target(aggregate("avg", util, ("gpu",)), "GPU {{{{gpu}}}}")],
                min_value=0,
                max_value=100,
            )
            return dashboard(
                settings,
                uid="{uid}",
                title="{title}",
                description="Team dashboard",
                variables=[query_variable("namespace", "Namespace",
                                          "label_values(up, namespace)")],
                sections=[Section("GPUs", [panel])],
            )
        '''
    )


def alert_module(
    group: str, alert: str = "TeamGpuHot", metric: str = "DCGM_FI_DEV_GPU_TEMP"
) -> str:
    """A small valid alert module returning one RuleGroup with one AlertingRule."""
    return textwrap.dedent(
        f'''\
        """A team's own alerts."""

        from generator.queries import Queries, aggregate
        from generator.rules import AlertingRule, RuleGroup


        def build(settings):
            q = Queries(settings).with_window("5m")
            temperature = aggregate("max", q.selector("{metric}"), ("Hostname", "gpu"))
            return RuleGroup(
                name="{group}",
                rules=(
                    AlertingRule(
                        alert="{alert}",
                        expr=f"{{temperature}} > 85",
                        severity="warning",
                        summary="GPU is hot",
                        description="A GPU of the team runs above 85 C.",
                    ),
                ),
            )
        '''
    )


def write_module(directory: Path, name: str, source: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(source, encoding="utf-8")
    return path


def manifest_of(out: Path) -> list[dict]:
    return json.loads((out / "manifest.json").read_text(encoding="utf-8"))["artifacts"]


# ---- discovery -----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["dashboards", "alerts"])
def test_discovery_finds_every_bundled_module(project_root: Path, kind: str) -> None:
    on_disk = sorted(p for p in (project_root / kind).glob("*.py") if not p.name.startswith("_"))
    assert on_disk, f"expected bundled {kind} modules"
    found = discover(kind)
    assert [m.path.resolve() for m in found] == [p.resolve() for p in on_disk]
    assert [m.name for m in found] == [p.stem for p in on_disk]
    assert [m.origin for m in found] == [f"{kind}/{p.name}" for p in on_disk]
    assert {m.kind for m in found} == {kind}


def test_a_build_runs_every_bundled_module(project_root: Path, run_cli, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run_cli("build", "--config", project_root / "obsgen.yaml", "--out", out)
    assert result.exit_code == 0, result.output
    expected = {
        f"{kind}/{p.name}"
        for kind in ("dashboards", "alerts")
        for p in (project_root / kind).glob("*.py")
        if not p.name.startswith("_")
    }
    content = [e for e in manifest_of(out) if e["kind"] in ("dashboard", "rules")]
    assert {entry["source"] for entry in content} == expected


def test_extra_directories_follow_the_bundled_modules_in_file_name_order(tmp_path: Path) -> None:
    team = tmp_path / "team"
    write_module(team, "zeta.py", dashboard_module("zeta"))
    write_module(team, "alpha.py", dashboard_module("alpha"))
    write_module(team, "_helpers.py", "raise RuntimeError('a helper must not be discovered')\n")
    write_module(team, "notes.txt", "not a module\n")
    found = discover("dashboards", [team])
    bundled = discover("dashboards")
    assert found[: len(bundled)] == bundled
    assert [m.origin for m in found[len(bundled) :]] == [
        str(team / "alpha.py"),
        str(team / "zeta.py"),
    ]


def test_team_directories_add_dashboards_and_alerts(
    project_root: Path, run_cli, tmp_path: Path
) -> None:
    first = write_module(tmp_path / "team-a", "gpus.py", dashboard_module("team-a-gpus", "A"))
    second = write_module(tmp_path / "team-b", "serving.py", dashboard_module("team-b-svc", "B"))
    alerts = write_module(tmp_path / "team-alerts", "team_gpu.py", alert_module("team-gpu"))
    out = tmp_path / "out"
    result = run_cli(
        "build",
        "--config",
        project_root / "obsgen.yaml",
        "--out",
        out,
        "--dashboards",
        first.parent,
        "--dashboards",
        second.parent,
        "--alerts",
        alerts.parent,
    )
    assert result.exit_code == 0, result.output
    dashboards, rule_files = len(discover("dashboards")) + 2, len(discover("alerts")) + 1
    assert f"{dashboards} dashboards, {rule_files} rule files" in result.output

    by_path = {entry["path"]: entry for entry in manifest_of(out)}
    for module, uid in ((first, "team-a-gpus"), (second, "team-b-svc")):
        path = f"dashboards/gpu-workloads/{uid}.json"
        assert by_path[path]["source"] == str(module)
        assert by_path[path]["uid"] == uid
        assert json.loads((out / path).read_text(encoding="utf-8"))["uid"] == uid
    rules = by_path["rules/team_gpu.rules.yaml"]
    assert rules["source"] == str(alerts)
    assert rules["groups"] == ["team-gpu"]
    assert "alert: TeamGpuHot" in (out / "rules/team_gpu.rules.yaml").read_text(encoding="utf-8")
    # The bundled content is still there beside the team's.
    assert "dashboards/gpu-workloads/ee6mbjghme96oc.json" in by_path
    assert "rules/gpu_health.rules.yaml" in by_path


def test_modules_starting_with_underscore_are_not_run(
    project_root: Path, run_cli, tmp_path: Path
) -> None:
    dashboards = tmp_path / "dashboards"
    alerts = tmp_path / "alerts"
    write_module(dashboards, "team.py", dashboard_module("team-gpus"))
    write_module(alerts, "team.py", alert_module("team-gpu"))
    for directory in (dashboards, alerts):
        write_module(
            directory,
            "_helpers.py",
            "raise RuntimeError('_helpers.py was run')\n\n\ndef build(settings):\n    return []\n",
        )
    out = tmp_path / "out"
    result = run_cli(
        "build",
        "--config",
        project_root / "obsgen.yaml",
        "--out",
        out,
        "--dashboards",
        dashboards,
        "--alerts",
        alerts,
    )
    assert result.exit_code == 0, result.output
    sources = {entry["source"] for entry in manifest_of(out)}
    assert str(dashboards / "team.py") in sources
    assert not any("_helpers" in source for source in sources)


def test_a_team_module_may_share_a_bundled_module_file_name(
    project_root: Path, run_cli, tmp_path: Path
) -> None:
    team = write_module(tmp_path / "team", "training.py", dashboard_module("team-training"))
    out = tmp_path / "out"
    result = run_cli(
        "build", "--config", project_root / "obsgen.yaml", "--out", out, "--dashboards", team.parent
    )
    assert result.exit_code == 0, result.output
    sources = {entry["uid"]: entry["source"] for entry in manifest_of(out) if "uid" in entry}
    assert sources["ee6mbjghme96oc"] == "dashboards/training.py"
    assert sources["team-training"] == str(team)


def test_a_missing_team_directory_is_reported(
    project_root: Path, cli_error, tmp_path: Path
) -> None:
    missing = tmp_path / "no-such-dir"
    message = cli_error(
        "build",
        "--config",
        project_root / "obsgen.yaml",
        "--out",
        tmp_path / "out",
        "--dashboards",
        missing,
    )
    assert f"{missing}: --dashboards directory not found" in message


# ---- broken modules ------------------------------------------------------------------------

# Each case: the kind of directory, the module's source, and fragments the message must contain.
# "{module}" is the module file's path, "{line}" the line marked with RAISES_HERE.
BROKEN_MODULES = [
    pytest.param(
        "dashboards",
        f'''\
"""Raises inside build()."""


def panels():
    return {{}}


def build(settings):
    found = panels()
    return found["missing"]  {RAISES_HERE}
''',
        ["{module}:{line}:", "build() raised KeyError", "'missing'"],
        id="raises-in-build",
    ),
    pytest.param(
        "alerts",
        f'''\
"""Raises in a helper function that build() calls."""


def check(settings):
    raise ValueError("threshold too low")  {RAISES_HERE}


def build(settings):
    check(settings)
    return []
''',
        ["{module}:{line}:", "build() raised ValueError: threshold too low"],
        id="raises-in-helper",
    ),
    pytest.param(
        "dashboards",
        "def build(settings):\n    return {'uid': 'abc', 'title': 'A dict'}\n",
        ["{module}:", "must return a grafanalib Dashboard or a list of them", "got dict"],
        id="returns-dict",
    ),
    pytest.param(
        "alerts",
        "def build(settings):\n    return 'gpu-health'\n",
        ["{module}:", "must return a RuleGroup or a list of them", "got str"],
        id="returns-str",
    ),
    pytest.param(
        "dashboards",
        "from generator.rules import RuleGroup\n\n\n"
        "def build(settings):\n    return RuleGroup(name='wrong-kind', rules=())\n",
        ["{module}:", "must return a grafanalib Dashboard", "got RuleGroup"],
        id="returns-rule-group-from-dashboard-module",
    ),
    pytest.param(
        "dashboards",
        "def build(settings):\n    pass\n",
        ["{module}:", "must return a grafanalib Dashboard", "got NoneType"],
        id="returns-none",
    ),
    pytest.param(
        "alerts",
        "def build(settings):\n    return []\n",
        ["{module}:", "returned nothing", "return a RuleGroup"],
        id="returns-empty-list",
    ),
    pytest.param(
        "dashboards",
        f'''\
"""A syntax error."""

import grafanalib.core as G


def build(settings)  {RAISES_HERE}
    return G.Dashboard(title="x", uid="x")
''',
        ["{module}:{line}:", "syntax error"],
        id="syntax-error",
    ),
    pytest.param(
        "dashboards",
        '"""Forgot the build function."""\n\nUID = "abc"\n',
        ["{module}:", "defines no build(settings) function"],
        id="no-build-function",
    ),
    pytest.param(
        "alerts",
        'build = "not a function"\n',
        ["{module}:", "defines no build(settings) function"],
        id="build-not-callable",
    ),
    pytest.param(
        "alerts",
        f'''\
"""Imports a package that is not installed."""

import obsgen_no_such_module  {RAISES_HERE}


def build(settings):
    return obsgen_no_such_module.rules()
''',
        ["{module}:{line}:", "import failed", "ModuleNotFoundError", "obsgen_no_such_module"],
        id="import-error",
    ),
    pytest.param(
        "dashboards",
        f'''\
"""Raises while it is imported."""

CLUSTERS = {{}}
DEFAULT = CLUSTERS["prod"]  {RAISES_HERE}


def build(settings):
    return []
''',
        ["{module}:{line}:", "import failed", "KeyError", "'prod'"],
        id="raises-at-import",
    ),
    pytest.param(
        "dashboards",
        "from generator.queries import Queries\n\n\n"
        "def build(settings):\n"
        "    return Queries(settings).vllm_names('DCGM_FI_DEV_GPU_UTIL')\n",
        ["{module}:", "'DCGM_FI_DEV_GPU_UTIL' is not a vLLM metric"],
        id="obsgen-error-in-build",
    ),
    pytest.param(
        "alerts",
        f'''\
"""Exits the interpreter from build()."""

import sys


def build(settings):
    sys.exit(3)  {RAISES_HERE}
''',
        ["{module}:{line}:", "build() raised SystemExit"],
        id="exits-in-build",
    ),
]


@pytest.mark.parametrize(("kind", "source", "fragments"), BROKEN_MODULES)
def test_a_broken_module_gives_one_clean_message_naming_it(
    project_root: Path, cli_error, tmp_path: Path, kind: str, source: str, fragments: list[str]
) -> None:
    module = write_module(tmp_path / kind, "bad.py", source)
    marked = [n for n, line in enumerate(source.splitlines(), 1) if RAISES_HERE in line]
    out = tmp_path / "out"
    message = cli_error(
        "build", "--config", project_root / "obsgen.yaml", "--out", out, f"--{kind}", module.parent
    )
    for fragment in fragments:
        expected = fragment.replace("{module}", str(module))
        if "{line}" in expected:
            expected = expected.replace("{line}", str(marked[0]))
        assert expected in message
    assert not out.exists(), "nothing may be written when a module is broken"


@pytest.mark.parametrize("kind", ["dashboards", "alerts"])
def test_an_unknown_metric_names_the_module_and_the_metric(
    project_root: Path, cli_error, tmp_path: Path, kind: str
) -> None:
    source = (
        dashboard_module("team-typo", metric="DCGM_FI_DEV_GPU_UTILISATION")
        if kind == "dashboards"
        else alert_module("team-typo", metric="DCGM_FI_DEV_GPU_TEMPERATURE")
    )
    module = write_module(tmp_path / kind, "typo.py", source)
    message = cli_error(
        "build",
        "--config",
        project_root / "obsgen.yaml",
        "--out",
        tmp_path / "out",
        f"--{kind}",
        module.parent,
    )
    metric = (
        "DCGM_FI_DEV_GPU_UTILISATION" if kind == "dashboards" else "DCGM_FI_DEV_GPU_TEMPERATURE"
    )
    assert str(module) in message
    assert f"metric '{metric}' is not in the metric catalog" in message


# ---- duplicates across modules -------------------------------------------------------------


@pytest.mark.parametrize("with_bundled", [True, False], ids=["team-vs-bundled", "team-vs-team"])
def test_a_duplicate_dashboard_uid_names_both_modules(
    project_root: Path, cli_error, tmp_path: Path, with_bundled: bool
) -> None:
    team = tmp_path / "dashboards"
    if with_bundled:
        uid, first = "ee6mbjghme96oc", "dashboards/training.py"
    else:
        uid, first = "team-dup", str(write_module(team, "a_first.py", dashboard_module("team-dup")))
    second = write_module(team, "b_second.py", dashboard_module(uid, "Copy"))
    message = cli_error(
        "build",
        "--config",
        project_root / "obsgen.yaml",
        "--out",
        tmp_path / "out",
        "--dashboards",
        team,
    )
    assert f"dashboard uid '{uid}' is defined twice" in message
    assert first in message
    assert str(second) in message


@pytest.mark.parametrize("with_bundled", [True, False], ids=["team-vs-bundled", "team-vs-team"])
def test_a_duplicate_rule_group_names_both_modules(
    project_root: Path, cli_error, tmp_path: Path, with_bundled: bool
) -> None:
    team = tmp_path / "alerts"
    if with_bundled:
        group, first = "gpu-health", "alerts/gpu_health.py"
    else:
        group, first = "team-dup", str(write_module(team, "a_first.py", alert_module("team-dup")))
    second = write_module(team, "b_second.py", alert_module(group, alert="Other"))
    message = cli_error(
        "build",
        "--config",
        project_root / "obsgen.yaml",
        "--out",
        tmp_path / "out",
        "--alerts",
        team,
    )
    assert f"rule group '{group}' is defined twice" in message
    assert first in message
    assert str(second) in message


def test_two_alert_modules_with_one_file_name_are_refused(
    project_root: Path, cli_error, tmp_path: Path
) -> None:
    # Both would be written to rules/inference.rules.yaml.
    team = write_module(tmp_path / "alerts", "inference.py", alert_module("team-inference"))
    message = cli_error(
        "build",
        "--config",
        project_root / "obsgen.yaml",
        "--out",
        tmp_path / "out",
        "--alerts",
        team.parent,
    )
    assert "two alert modules are named 'inference'" in message
    assert "alerts/inference.py" in message
    assert str(team) in message
