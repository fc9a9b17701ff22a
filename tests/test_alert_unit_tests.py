"""The promtool unit tests beside the alerts (alerts/tests/*.test.yaml): they pass against the
generated rule files, cover every bundled alert (firing in its scenario, silent in `healthy`)
and every recording rule, and they can fail. Needs the real `promtool`; set
REQUIRE_PROMETHEUS=1 to make its absence a failure instead of a skip (CI does)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_harness import require_binary

from generator.build import build
from generator.deliver.files import write_build
from generator.settings import Settings

UNIT_TEST_DIR = Path(__file__).resolve().parents[1] / "alerts" / "tests"
UNIT_TESTS = sorted(UNIT_TEST_DIR.glob("*.test.yaml"))
# The bundled rule files as the default settings render them: file name -> document.
RULE_FILES = {
    Path(a.path).name: a.document for a in build(Settings()).artifacts if a.kind == "rules"
}


def load(path: Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(document, dict), path
    return document


def rules_of(unit_test: dict[str, Any]) -> list[dict[str, Any]]:
    """Every rule of the generated files that a unit test's rule_files names."""
    return [
        rule
        for name in unit_test["rule_files"]
        for group in RULE_FILES[name]["groups"]
        for rule in group["rules"]
    ]


def alert_cases(unit_test: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(test name, alert_rule_test entry) for every alert expectation of a unit-test file."""
    return [
        (test.get("name", ""), case)
        for test in unit_test["tests"]
        for case in test.get("alert_rule_test", [])
    ]


@pytest.fixture(scope="module")
def rules_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default build written to disk, with every unit-test file copied next to its rules."""
    out = tmp_path_factory.mktemp("build")
    write_build(build(Settings()), out)
    for unit_test in UNIT_TESTS:
        shutil.copy(unit_test, out / "rules" / unit_test.name)
    return out / "rules"


def promtool_test(test_file: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [require_binary("promtool"), "test", "rules", str(test_file)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


# ---- the unit tests pass ---------------------------------------------------------------------


def test_there_is_a_unit_test_file_per_alert_module() -> None:
    assert [p.name for p in UNIT_TESTS] == [
        name.replace(".rules.yaml", ".test.yaml") for name in sorted(RULE_FILES)
    ]


@pytest.mark.parametrize("unit_test", UNIT_TESTS, ids=[p.name for p in UNIT_TESTS])
def test_promtool_unit_tests_pass(unit_test: Path, rules_dir: Path) -> None:
    outcome = promtool_test(rules_dir / unit_test.name)
    assert outcome.returncode == 0, outcome.stdout + outcome.stderr
    assert "SUCCESS" in outcome.stdout


@pytest.mark.parametrize("unit_test", UNIT_TESTS, ids=[p.name for p in UNIT_TESTS])
def test_rule_files_are_generated_files_named_by_base_name(unit_test: Path) -> None:
    names = load(unit_test)["rule_files"]
    assert names == [unit_test.name.replace(".test.yaml", ".rules.yaml")]
    assert set(names) <= set(RULE_FILES)


# ---- the unit tests cover every alert and recording rule -------------------------------------


def test_every_bundled_alert_fires_in_a_scenario_and_is_silent_in_healthy() -> None:
    alerts = {
        rule["alert"] for rule in rules_of({"rule_files": list(RULE_FILES)}) if "alert" in rule
    }
    firing: set[str] = set()
    annotated: set[str] = set()
    silent_in_healthy: set[str] = set()
    for unit_test in map(load, UNIT_TESTS):
        for test_name, case in alert_cases(unit_test):
            expected = case.get("exp_alerts") or []
            if expected:
                firing.add(case["alertname"])
            if any(alert.get("exp_annotations") for alert in expected):
                annotated.add(case["alertname"])
            if test_name == "healthy" and not expected:
                silent_in_healthy.add(case["alertname"])
    assert sorted(alerts - firing) == [], "alerts no unit test expects to fire"
    assert sorted(alerts - annotated) == [], "alerts no unit test checks the annotations of"
    assert sorted(alerts - silent_in_healthy) == [], "alerts the healthy test does not check"


@pytest.mark.parametrize("unit_test", UNIT_TESTS, ids=[p.name for p in UNIT_TESTS])
def test_every_expected_alert_exists_in_the_rule_files(unit_test: Path) -> None:
    """promtool passes `exp_alerts: []` for a misspelt alert name: the names must be real."""
    document = load(unit_test)
    alerts = {rule["alert"] for rule in rules_of(document) if "alert" in rule}
    named = {case["alertname"] for _, case in alert_cases(document)}
    assert sorted(named - alerts) == []


@pytest.mark.parametrize("unit_test", UNIT_TESTS, ids=[p.name for p in UNIT_TESTS])
def test_every_recording_rule_has_an_expression_test(unit_test: Path) -> None:
    document = load(unit_test)
    records = {rule["record"] for rule in rules_of(document) if "record" in rule}
    tested = {
        case["expr"] for test in document["tests"] for case in test.get("promql_expr_test", [])
    }
    assert sorted(records - tested) == []


def test_the_xid_recording_rule_is_checked() -> None:
    (gpu_health,) = [p for p in UNIT_TESTS if p.name == "gpu_health.test.yaml"]
    exprs = [
        case["expr"]
        for test in load(gpu_health)["tests"]
        for case in test.get("promql_expr_test", [])
    ]
    assert "gpu:DCGM_FI_DEV_XID_ERRORS:max" in exprs


# ---- negative controls: a wrong expectation makes promtool fail ------------------------------


def first_firing_case(document: dict[str, Any]) -> dict[str, Any]:
    return next(case for _, case in alert_cases(document) if case.get("exp_alerts"))


def expect_silence(case: dict[str, Any]) -> None:
    case["exp_alerts"] = []


def expect_other_severity(case: dict[str, Any]) -> None:
    labels = case["exp_alerts"][0]["exp_labels"]
    labels["severity"] = "warning" if labels["severity"] == "info" else "info"


def expect_other_summary(case: dict[str, Any]) -> None:
    case["exp_alerts"][0]["exp_annotations"]["summary"] += " (edited)"


MUTATIONS: dict[str, Callable[[dict[str, Any]], None]] = {
    "silent-where-it-fires": expect_silence,
    "wrong-severity": expect_other_severity,
    "wrong-summary": expect_other_summary,
}


@pytest.mark.parametrize("mutation", MUTATIONS.values(), ids=list(MUTATIONS))
@pytest.mark.parametrize("unit_test", UNIT_TESTS, ids=[p.name for p in UNIT_TESTS])
def test_a_wrong_expectation_makes_promtool_fail(
    unit_test: Path, mutation: Callable[[dict[str, Any]], None], rules_dir: Path
) -> None:
    document = load(unit_test)
    mutation(first_firing_case(document))
    mutated = rules_dir / f"mutated-{unit_test.name}"
    mutated.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    outcome = promtool_test(mutated)
    assert outcome.returncode != 0, outcome.stdout
    assert "FAILED" in outcome.stdout + outcome.stderr
