"""The `obsgen build` command: outputs, manifest, idempotent rewrites, stale files, entry point."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from generator import __version__

BUNDLED_OUTPUTS = {
    "dashboards/gpu-workloads/ee6mbjghme96oc.json",
    "dashboards/gpu-workloads/bec31e71-3ac5-4133-b2e3-b9f75c8ab56c.json",
    "dashboards/gpu-workloads/obsgen-gpu-fleet.json",
    "rules/fleet.rules.yaml",
    "rules/gpu_health.rules.yaml",
    "rules/inference.rules.yaml",
    "rules/training.rules.yaml",
    "alertmanager/alertmanager.yaml",
    "kubernetes/dashboards/ee6mbjghme96oc.yaml",
    "kubernetes/dashboards/bec31e71-3ac5-4133-b2e3-b9f75c8ab56c.yaml",
    "kubernetes/dashboards/obsgen-gpu-fleet.yaml",
    "kubernetes/rules/fleet.yaml",
    "kubernetes/rules/gpu-health.yaml",
    "kubernetes/rules/inference.yaml",
    "kubernetes/rules/training.yaml",
    "kubernetes/monitors/ray-head.yaml",
    "kubernetes/monitors/ray-workers.yaml",
    "kubernetes/monitors/vllm.yaml",
    "kubernetes/monitors/dcgm-exporter.yaml",
    "kubernetes/kustomization.yaml",
    "manifest.json",
}
DASHBOARD_FILES = sorted(p for p in BUNDLED_OUTPUTS if p.startswith("dashboards/"))
RULE_FILES = sorted(p for p in BUNDLED_OUTPUTS if p.startswith("rules/"))
SUMMARY = re.compile(
    r"^obsgen: (?P<dashboards>\d+) dashboards, (?P<rule_files>\d+) rule files "
    r"\((?P<rules>\d+) rules\), (?P<alertmanager>\d+) Alertmanager config "
    r"\((?P<receivers>\d+) receivers\), (?P<kubernetes>\d+) Kubernetes objects -> (?P<out>.+)/  "
    r"\[(?P<written>\d+) written, (?P<unchanged>\d+) unchanged, (?P<removed>\d+) removed\]",
    re.MULTILINE,
)

TEAM_DASHBOARD = """\
from generator.panels import Section, dashboard, target, timeseries
from generator.queries import Queries


def build(settings):
    q = Queries(settings)
    util = target(q.selector("DCGM_FI_DEV_GPU_UTIL"))
    panel = timeseries("GPU", "GPU utilisation", "percent", [util])
    return dashboard(
        settings, uid="team-extra", title="Team", description="", variables=[],
        sections=[Section("GPU", [panel])],
    )
"""
TEAM_ALERTS = """\
from generator.queries import Queries
from generator.rules import AlertingRule, RuleGroup


def build(settings):
    expr = Queries(settings).selector("DCGM_FI_DEV_GPU_TEMP") + " > 85"
    rule = AlertingRule(alert="TeamHot", expr=expr, severity="info", summary="s", description="d")
    return RuleGroup(name="team-extra", rules=(rule,))
"""


@pytest.fixture
def build_cli(run_cli, project_root: Path):
    """build_cli(out, *more_args): `obsgen build` with the shipped settings; asserts success."""

    def run(out: Path, *args: str | Path):
        result = run_cli("build", "--config", project_root / "obsgen.yaml", "--out", out, *args)
        assert result.exit_code == 0, result.output
        assert result.exception is None
        return result

    return run


def files_under(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def summary(output: str) -> re.Match[str]:
    match = SUMMARY.search(output)
    assert match, f"no summary line in {output!r}"
    return match


# ---- help and version ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--help"], ["Usage:", "build", "Monitoring as code"]),
        (["-h"], ["Usage:", "build"]),
        (["build", "--help"], ["Usage:", "--config", "--out", "--dashboards", "--alerts"]),
        (["build", "-h"], ["--config", "OBSGEN_CONFIG", "--out", "--dashboards", "--alerts"]),
        (["--version"], [f"version {__version__}"]),
    ],
    ids=["help", "h", "build-help", "build-h", "version"],
)
def test_help_and_version(run_cli, args: list[str], expected: list[str]) -> None:
    result = run_cli(*args)
    assert result.exit_code == 0, result.output
    for fragment in expected:
        assert fragment in result.output


def test_an_unknown_command_is_a_usage_error(cli_error) -> None:
    assert "No such command 'biuld'" in cli_error("biuld")


# ---- what a build writes -------------------------------------------------------------------


def test_build_writes_the_bundled_artifacts_and_nothing_else(build_cli, tmp_path: Path) -> None:
    out = tmp_path / "out"
    build_cli(out)
    assert set(files_under(out)) == BUNDLED_OUTPUTS
    for path in BUNDLED_OUTPUTS:
        text = (out / path).read_text(encoding="utf-8")
        document = json.loads(text) if path.endswith(".json") else yaml.safe_load(text)
        assert document, path


def test_the_manifest_lists_every_artifact_with_its_hash(build_cli, tmp_path: Path) -> None:
    out = tmp_path / "out"
    build_cli(out)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["generator"] == f"obsgen {__version__}"
    entries = manifest["artifacts"]

    # Exactly the files on disk (apart from the manifest itself), each listed once.
    paths = [entry["path"] for entry in entries]
    assert sorted(paths) == sorted(BUNDLED_OUTPUTS - {"manifest.json"})
    assert len(set(paths)) == len(paths)

    for entry in entries:
        data = (out / entry["path"]).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest(), entry["path"]
        if entry["kind"] == "dashboard":
            model = json.loads(data)
            assert entry["uid"] == model["uid"]
            assert entry["path"] == f"dashboards/gpu-workloads/{model['uid']}.json"
            assert entry["title"] == model["title"]
        elif entry["kind"] == "rules":
            document = yaml.safe_load(data)
            assert entry["groups"] == [group["name"] for group in document["groups"]]
            assert entry["groups"]
        elif entry["kind"] == "kubernetes":
            document = yaml.safe_load(data)
            assert entry["path"].startswith("kubernetes/")
            identity = {"apiVersion": document["apiVersion"], "kind": document["kind"]}
            if entry["path"] == "kubernetes/kustomization.yaml":
                assert entry["object"] == identity
            else:
                assert entry["object"] == {
                    **identity,
                    "name": document["metadata"]["name"],
                    "namespace": "monitoring",
                }
        else:
            assert entry["kind"] == "alertmanager"
            assert entry["path"] == "alertmanager/alertmanager.yaml"
            document = yaml.safe_load(data)
            assert entry["receivers"] == [receiver["name"] for receiver in document["receivers"]]
            assert entry["receivers"]
    assert {e["uid"] for e in entries if e["kind"] == "dashboard"} == {
        "ee6mbjghme96oc",
        "bec31e71-3ac5-4133-b2e3-b9f75c8ab56c",
        "obsgen-gpu-fleet",
    }


def test_the_summary_names_the_counts(build_cli, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = build_cli(out)
    counts = summary(result.output)
    rule_count = sum(
        len(group["rules"])
        for path in RULE_FILES
        for group in yaml.safe_load((out / path).read_text(encoding="utf-8"))["groups"]
    )
    assert counts["dashboards"] == str(len(DASHBOARD_FILES))
    assert counts["rule_files"] == str(len(RULE_FILES))
    assert counts["rules"] == str(rule_count)
    assert (counts["alertmanager"], counts["receivers"]) == ("1", "3")
    # A ConfigMap per dashboard, a PrometheusRule per rule file, 3 PodMonitors, 1
    # ServiceMonitor (the kustomization is a file, not an object).
    assert counts["kubernetes"] == str(len(DASHBOARD_FILES) + len(RULE_FILES) + 4)
    assert counts["out"] == str(out)
    assert (counts["written"], counts["unchanged"], counts["removed"]) == (
        str(len(BUNDLED_OUTPUTS)),
        "0",
        "0",
    )
    # One line per artifact names the module it came from.
    assert "  rules/gpu_health.rules.yaml  <- alerts/gpu_health.py" in result.output
    assert "  dashboards/gpu-workloads/ee6mbjghme96oc.json  <- dashboards/training.py" in (
        result.output
    )
    assert "  alertmanager/alertmanager.yaml  <- settings: alertmanager" in result.output
    assert "  kubernetes/rules/gpu-health.yaml  <- alerts/gpu_health.py" in result.output
    assert "  kubernetes/monitors/ray-head.yaml  <- settings: kubernetes.monitors.ray" in (
        result.output
    )


# ---- rebuilding ----------------------------------------------------------------------------


def test_a_second_build_changes_nothing(build_cli, tmp_path: Path) -> None:
    out = tmp_path / "out"
    build_cli(out)
    before = files_under(out)
    stamps = {path: (out / path).stat().st_mtime_ns for path in before}

    counts = summary(build_cli(out).output)
    assert (counts["written"], counts["unchanged"], counts["removed"]) == (
        "0",
        str(len(BUNDLED_OUTPUTS)),
        "0",
    )
    assert files_under(out) == before
    assert {path: (out / path).stat().st_mtime_ns for path in before} == stamps


def test_builds_into_different_directories_are_byte_identical(build_cli, tmp_path: Path) -> None:
    build_cli(tmp_path / "one")
    build_cli(tmp_path / "two")
    assert files_under(tmp_path / "one") == files_under(tmp_path / "two")


def test_a_changed_setting_rewrites_only_the_files_it_changes(
    run_cli, write_settings, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    assert run_cli("build", "--config", write_settings(tmp_path, ""), "--out", out).exit_code == 0
    before = files_under(out)
    changed = write_settings(tmp_path, "alerts:\n  labels: {team: ml}\n", "team.yaml")
    result = run_cli("build", "--config", changed, "--out", out)
    assert result.exit_code == 0, result.output
    after = files_under(out)
    rewritten = {path for path in after if after[path] != before[path]}
    # Alert labels touch the rule files, the PrometheusRules made from them and therefore the
    # manifest; dashboards, their ConfigMaps, the monitors and the Alertmanager configuration
    # stay as they were.
    assert rewritten == {
        "rules/fleet.rules.yaml",
        "rules/gpu_health.rules.yaml",
        "rules/inference.rules.yaml",
        "rules/training.rules.yaml",
        "kubernetes/rules/fleet.yaml",
        "kubernetes/rules/gpu-health.yaml",
        "kubernetes/rules/inference.yaml",
        "kubernetes/rules/training.yaml",
        "manifest.json",
    }
    counts = summary(result.output)
    written = len(rewritten)
    assert (counts["written"], counts["unchanged"]) == (
        str(written),
        str(len(BUNDLED_OUTPUTS) - written),
    )


@pytest.mark.parametrize(
    ("kind", "source", "artifacts"),
    [
        (
            "dashboards",
            TEAM_DASHBOARD,
            ["dashboards/gpu-workloads/team-extra.json", "kubernetes/dashboards/team-extra.yaml"],
        ),
        ("alerts", TEAM_ALERTS, ["rules/team.rules.yaml", "kubernetes/rules/team.yaml"]),
    ],
    ids=["dashboard", "rules"],
)
def test_removing_a_module_removes_its_output_but_not_the_users_files(
    build_cli, tmp_path: Path, kind: str, source: str, artifacts: list[str]
) -> None:
    team = tmp_path / "team"
    team.mkdir()
    module = team / "team.py"
    module.write_text(source, encoding="utf-8")
    out = tmp_path / "out"
    build_cli(out, f"--{kind}", team)
    kustomization = out / "kubernetes/kustomization.yaml"
    for artifact in artifacts:
        assert (out / artifact).is_file()
    assert artifacts[1].removeprefix("kubernetes/") in kustomization.read_text(encoding="utf-8")

    # Files the user put in out/, even beside generated ones, are not the build's to remove.
    user_files = {
        "notes.txt": b"my notes\n",
        "dashboards/gpu-workloads/hand-made.json": b"{}\n",
        "rules/hand-made.rules.yaml": b"groups: []\n",
        "kubernetes/dashboards/hand-made.yaml": b"kind: ConfigMap\n",
    }
    for path, data in user_files.items():
        (out / path).write_bytes(data)

    module.unlink()
    counts = summary(build_cli(out, f"--{kind}", team).output)
    for artifact in artifacts:
        assert not (out / artifact).exists()
    assert counts["removed"] == "2"
    for path, data in user_files.items():
        assert (out / path).read_bytes() == data
    listed = {e["path"] for e in json.loads((out / "manifest.json").read_text())["artifacts"]}
    assert not listed & set(artifacts)
    assert set(files_under(out)) == BUNDLED_OUTPUTS | set(user_files)
    assert "team" not in kustomization.read_text(encoding="utf-8")


# ---- failures ------------------------------------------------------------------------------


def test_an_invalid_expression_fails_and_writes_nothing(
    project_root: Path, cli_error, tmp_path: Path
) -> None:
    team = tmp_path / "alerts"
    team.mkdir()
    (team / "broken.py").write_text(
        TEAM_ALERTS.replace('" > 85"', '" > "'),
        encoding="utf-8",
    )
    out = tmp_path / "out"
    message = cli_error(
        "build", "--config", project_root / "obsgen.yaml", "--out", out, "--alerts", team
    )
    assert "rules/broken.rules.yaml (group 'team-extra', rule 'TeamHot'" in message
    assert "promql/syntax" in message
    assert "1 error(s) in the generated output (see above); nothing was written" in message
    assert not out.exists()


@pytest.mark.parametrize(
    ("make_out", "expected"),
    [
        (lambda tmp: tmp / "file.txt", "is a file"),
        (lambda tmp: tmp / "file.txt" / "out", "cannot write output"),
    ],
    ids=["out-is-a-file", "out-below-a-file"],
)
def test_an_unusable_output_directory_gives_a_clean_message(
    project_root: Path, cli_error, tmp_path: Path, make_out, expected: str
) -> None:
    (tmp_path / "file.txt").write_text("not a directory\n", encoding="utf-8")
    out = make_out(tmp_path)
    message = cli_error("build", "--config", project_root / "obsgen.yaml", "--out", out)
    assert expected in message
    assert str(tmp_path / "file.txt") in message


# ---- the real entry point ------------------------------------------------------------------


def _run_module(project_root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "OBSGEN_CONFIG"}
    return subprocess.run(
        [sys.executable, "-m", "generator", *args],
        cwd=project_root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_python_m_generator_builds(project_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    completed = _run_module(project_root, "build", "--out", str(out))
    assert completed.returncode == 0, completed.stderr
    assert "Traceback" not in completed.stderr
    assert summary(completed.stdout)["dashboards"] == str(len(DASHBOARD_FILES))
    assert set(files_under(out)) == BUNDLED_OUTPUTS


def test_python_m_generator_reports_errors_without_a_traceback(
    project_root: Path, tmp_path: Path
) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("grafana:\n  refresh: soon\n", encoding="utf-8")
    completed = _run_module(project_root, "build", "--config", str(config), "--out", str(tmp_path))
    assert completed.returncode == 1
    assert "Traceback" not in completed.stderr
    assert completed.stderr.startswith(f"Error: {config}:2:3: 'grafana.refresh'")
