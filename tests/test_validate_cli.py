"""`obsgen validate` end to end: inputs, report formats, exit codes and bad input.

Fixtures are the bundled build (which must validate clean) copied into files of every kind a
user may point the command at, with single faults planted where a test needs one.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from generator.checks import runner
from generator.checks.base import Check, CheckContext
from generator.checks.problem import LOCATION_KEYS, Problem

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CONFIG = PROJECT_ROOT / "obsgen.yaml"
TRAINING = "dashboards/gpu-workloads/ee6mbjghme96oc.json"
RULES = "rules/gpu_health.rules.yaml"
# The training dashboard reads series its rules record: it is clean validated with them.
TRAINING_RULES = "rules/training.rules.yaml"
JSON_KEYS = {"check", "severity", "message", "hint", "file", "location"}
ANNOTATION = re.compile(r"^::(error|warning|notice) (?P<properties>[^:]*)::(?P<message>.*)$")
SECONDS = 20  # any single validation here must finish well within this


def validate(*args: str | Path) -> Result:
    """`obsgen validate --config <shipped settings> ARGS` in-process."""
    from generator.cli import cli

    return CliRunner().invoke(cli, ["validate", "--config", str(CONFIG), *map(str, args)])


def clean_exit(result: Result, code: int) -> None:
    """The command ended with `code` through click, not with an uncaught exception."""
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"uncaught {result.exception!r}\n{result.output}"
    )
    assert "Traceback" not in result.output
    assert result.exit_code == code, result.output


def reported(*args: str | Path, code: int | None = None) -> list[dict[str, Any]]:
    """The problems of `validate --format json ARGS`, checked to be well formed."""
    result = validate("--format", "json", *args)
    clean_exit(result, code if code is not None else result.exit_code)
    assert result.exit_code in (0, 1), result.output
    problems: list[dict[str, Any]] = json.loads(result.stdout)
    assert isinstance(problems, list)
    for problem in problems:
        assert set(problem) == JSON_KEYS, problem
        assert set(problem["location"]) <= set(LOCATION_KEYS), problem
        assert problem["check"] != "obsgen/internal", problem
    return problems


@pytest.fixture(scope="module")
def bundled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh `obsgen build` of the bundled content."""
    from generator.cli import cli

    out = tmp_path_factory.mktemp("bundled")
    result = CliRunner().invoke(cli, ["build", "--config", str(CONFIG), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture
def training(bundled: Path) -> dict[str, Any]:
    """A copy of the bundled training dashboard model."""
    model: dict[str, Any] = json.loads((bundled / TRAINING).read_text(encoding="utf-8"))
    return model


@pytest.fixture
def training_rules(bundled: Path) -> Path:
    """The bundled rule file recording what the training dashboard reads."""
    return bundled / TRAINING_RULES


@pytest.fixture
def rules(bundled: Path) -> dict[str, Any]:
    """A copy of a bundled rule file."""
    document: dict[str, Any] = yaml.safe_load((bundled / RULES).read_text(encoding="utf-8"))
    return document


def write_json(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def write_yaml(path: Path, *documents: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump_all(documents, sort_keys=False), encoding="utf-8")
    return path


def break_first_target(model: dict[str, Any], expr: str = "sum(rate(x[5m])") -> dict[str, str]:
    """Plants `expr` in the first panel target; returns that target's location."""
    for panel in model["panels"]:
        for target in panel.get("targets", []):
            target["expr"] = expr
            return {"dashboard": model["title"], "panel": panel["title"], "refId": target["refId"]}
    raise AssertionError("no target")


def break_first_rule(document: dict[str, Any], expr: str = "sum(rate(x[5m])") -> dict[str, str]:
    group = document["groups"][0]
    rule = group["rules"][0]
    rule["expr"] = expr
    return {"group": group["name"], "rule": rule.get("alert") or rule["record"]}


def prometheus_rule(document: dict[str, Any], name: str = "gpu") -> dict[str, Any]:
    """A kube-prometheus-stack PrometheusRule manifest holding the groups of `document`."""
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": name, "namespace": "monitoring", "labels": {"release": "kps"}},
        "spec": {"groups": document["groups"]},
    }


def syntax_at(problems: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The locations (without line/column) of promql/syntax problems."""
    return [
        {k: v for k, v in p["location"].items() if k not in ("line", "column")}
        for p in problems
        if p["check"] == "promql/syntax"
    ]


# --- inputs -------------------------------------------------------------------------------


def test_no_path_validates_the_bundled_build() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "generator", "validate", "--config", str(CONFIG)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=PROJECT_ROOT,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "Traceback" not in completed.stderr
    assert re.search(r"^no problems in \d+ documents$", completed.stdout, re.MULTILINE), (
        completed.stdout
    )


def test_a_build_output_directory_is_checked_once_per_document(bundled: Path) -> None:
    # `obsgen build --out out && obsgen validate out`: ConfigMaps and PrometheusRules deliver
    # the same documents again and must not be reported as duplicates of themselves.
    manifest = json.loads((bundled / "manifest.json").read_text(encoding="utf-8"))
    listed = [a for a in manifest["artifacts"] if a["kind"] in ("dashboard", "rules")]
    result = validate(bundled)
    clean_exit(result, 0)
    assert f"no problems in {len(listed)} documents" in result.output, result.output
    assert validate(bundled / "kubernetes").exit_code == 0


def test_a_build_output_directory_reports_a_listed_file_that_is_gone(
    bundled: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "out"
    shutil.copytree(bundled, copy)
    (copy / RULES).unlink()
    problems = reported(copy, code=1)
    errors = [(p["check"], Path(p["file"]).name) for p in problems if p["severity"] == "error"]
    assert errors == [("input/unreadable", Path(RULES).name)]
    # Dashboards reading series the missing file records say so, as warnings.
    others = {(p["check"], p["severity"]) for p in problems if p["severity"] != "error"}
    assert others <= {("promql/unknown-metric", "warning")}


def test_bundled_copies_in_every_input_form_are_clean(bundled: Path, tmp_path: Path) -> None:
    dashboard = json.loads((bundled / TRAINING).read_text(encoding="utf-8"))
    rule_file = yaml.safe_load((bundled / RULES).read_text(encoding="utf-8"))
    recorded = [bundled / TRAINING_RULES]
    files = [
        [write_json(tmp_path / "bare.json", dashboard), *recorded],
        [
            write_json(tmp_path / "wrapped.json", {"dashboard": dashboard, "overwrite": True}),
            *recorded,
        ],
        [write_yaml(tmp_path / "rules.yaml", rule_file)],
        [write_yaml(tmp_path / "manifest.yaml", prometheus_rule(rule_file))],
    ]
    for file, *companions in files:
        result = validate(file, *companions)
        clean_exit(result, 0)
        documents = f"{1 + len(companions)} document{'s' if companions else ''}"
        assert f"no problems in {documents}" in result.output, (file.name, result.output)


@pytest.mark.parametrize("form", ["bare", "wrapped"])
def test_dashboard_json(training: dict[str, Any], tmp_path: Path, form: str) -> None:
    where = break_first_target(training)
    data = training if form == "bare" else {"dashboard": training, "folderUid": "x"}
    path = write_json(tmp_path / f"{form}.json", data)
    problems = reported(path, code=1)
    assert syntax_at(problems) == [where]
    assert {p["file"] for p in problems} == {str(path)}


def test_rule_file_syntax_error_has_line_and_column(rules: dict[str, Any], tmp_path: Path) -> None:
    where = break_first_rule(rules, "sum by (gpu) (\n  rate(x[5m]) +\n)")
    problems = reported(write_yaml(tmp_path / "r.rules.yml", rules), code=1)
    (problem,) = [p for p in problems if p["check"] == "promql/syntax"]
    # promtool 2.42 places it inside the expression: line 3, column 1 (the lone `)`).
    assert problem["location"] == {**where, "line": 3, "column": 1}
    assert problem["severity"] == "error"


def test_prometheus_rule_manifests(rules: dict[str, Any], tmp_path: Path) -> None:
    broken = copy.deepcopy(rules)
    where = break_first_rule(broken)
    path = write_yaml(
        tmp_path / "manifest.yaml",
        prometheus_rule(rules, "clean"),
        {"apiVersion": "v1", "kind": "ConfigMap", "data": {}},  # other kinds are skipped
        prometheus_rule(broken, "broken"),
    )
    result = validate("--format", "json", path)
    clean_exit(result, 1)
    assert syntax_at(json.loads(result.stdout)) == [where]
    assert "in 2 documents" in result.output


def test_directories_are_searched_recursively(
    training: dict[str, Any], rules: dict[str, Any], tmp_path: Path
) -> None:
    dashboard_at = break_first_target(training)
    rule_at = break_first_rule(rules)
    write_json(tmp_path / "a" / "b" / "c" / "training.json", training)
    write_yaml(tmp_path / "a" / "rules" / "gpu.rules.yaml", rules)
    write_yaml(tmp_path / "a" / "b" / "kube" / "rule.YML", prometheus_rule(rules))
    (tmp_path / "a" / "README.md").write_text("# not validated\n", encoding="utf-8")
    (tmp_path / "a" / "b" / "notes.txt").write_text("{", encoding="utf-8")
    result = validate("--format", "json", tmp_path / "a")
    clean_exit(result, 1)
    problems = json.loads(result.stdout)
    assert "in 3 documents" in result.output
    assert sorted(syntax_at(problems), key=str) == sorted([dashboard_at, rule_at, rule_at], key=str)
    files = {Path(p["file"]).name for p in problems}
    assert files == {"training.json", "gpu.rules.yaml", "rule.YML"}


# --- report formats ---------------------------------------------------------------------


def test_json_report_has_exactly_the_documented_keys(
    training: dict[str, Any], rules: dict[str, Any], tmp_path: Path
) -> None:
    break_first_target(training)
    break_first_rule(rules)
    paths = [
        write_json(tmp_path / "d.json", training),
        write_yaml(tmp_path / "r.yaml", rules),
        write_json(tmp_path / "not-a-dashboard.json", {"hello": "world"}),
    ]
    problems = reported(*paths, code=1)
    kinds = {frozenset(p["location"]) for p in problems}
    assert frozenset({"dashboard", "panel", "refId", "line", "column"}) in kinds
    assert frozenset({"group", "rule", "line", "column"}) in kinds
    assert frozenset() in kinds  # the unreadable file
    for problem in problems:
        assert problem["severity"] in ("error", "warning", "info")
        assert all(isinstance(v, str) for k, v in problem.items() if k != "location")


def test_empty_json_report_is_an_empty_list(bundled: Path) -> None:
    result = validate("--format", "json", bundled / TRAINING, bundled / TRAINING_RULES)
    clean_exit(result, 0)
    assert json.loads(result.stdout) == []


def test_github_annotations_escape_properties_and_messages(
    training: dict[str, Any], tmp_path: Path
) -> None:
    training["panels"][1]["title"] = "100% busy,\nreally: yes"
    training["panels"][1]["targets"][0]["expr"] = "sum(rate(x[5m])"
    path = write_json(tmp_path / "team, a:b.json", training)
    result = validate("--format", "github", path)
    clean_exit(result, 1)
    lines = result.stdout.splitlines()
    assert lines and len(lines) == result.stdout.count("\n")
    (line,) = [x for x in lines if "promql/syntax" in x]
    match = ANNOTATION.match(line)
    assert match, line
    properties = dict(item.split("=", 1) for item in match["properties"].split(","))
    assert properties["file"] == str(path).replace(":", "%3A").replace(",", "%2C")
    assert properties["title"] == "obsgen promql/syntax"
    # Positions count inside the expression, not the file: they go in the message.
    assert "line" not in properties and "col" not in properties
    assert "line 1, column 16" in match["message"]
    assert line.startswith("::error ")
    assert "100%25 busy,%0Areally: yes" in match["message"]


def test_github_levels(tmp_path: Path, fake_checks: Callable[..., None]) -> None:
    fake_checks(("warning", "careful"), ("info", "by the way"), ("error", "broken"))
    path = write_json(tmp_path / "d.json", {"title": "T", "panels": []})
    result = validate("--format", "github", path)
    clean_exit(result, 1)
    levels = sorted(line.split(" ", 1)[0] for line in result.stdout.splitlines())
    assert levels == ["::error", "::notice", "::warning"]


# --- exit codes ---------------------------------------------------------------------------


@pytest.fixture
def fake_checks(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """fake_checks((severity, message), ...) replaces every check by one reporting those."""

    def install(*findings: tuple[str, str]) -> None:
        def run(context: CheckContext) -> Iterator[Problem]:
            for document in context.documents:
                for severity, message in findings:
                    yield check.problem(message, document.file, severity=severity)  # type: ignore[arg-type]

        check = Check("test/fake", "warning", "a stand-in", run)
        monkeypatch.setattr(runner, "ALL_CHECKS", (check,))

    yield install


@pytest.mark.parametrize(
    ("severities", "fail_on", "code"),
    [
        ((), "error", 0),
        ((), "warning", 0),
        (("info",), "warning", 0),
        (("warning",), "error", 0),
        (("warning",), "warning", 1),
        (("warning", "info"), "error", 0),
        (("error",), "error", 1),
        (("error", "warning"), "warning", 1),
    ],
)
def test_fail_on_threshold(
    tmp_path: Path,
    fake_checks: Callable[..., None],
    severities: tuple[str, ...],
    fail_on: str,
    code: int,
) -> None:
    fake_checks(*((s, f"a {s}") for s in severities))
    path = write_json(tmp_path / "d.json", {"title": "T", "panels": []})
    clean_exit(validate("--fail-on", fail_on, path), code)


def test_a_real_warning_only_input(
    training: dict[str, Any], training_rules: Path, tmp_path: Path
) -> None:
    """The clean bundled dashboard with one panel description removed: a warning only."""
    panel = next(p for p in training["panels"] if p.get("description") and p.get("targets"))
    panel["description"] = ""
    path = write_json(tmp_path / "d.json", training)
    problems = reported(path, training_rules, code=0)
    assert [(p["check"], p["severity"]) for p in problems] == [("dashboard/description", "warning")]
    assert problems[0]["location"]["panel"] == panel["title"]
    clean_exit(validate("--fail-on", "warning", path, training_rules), 1)
    clean_exit(validate("--fail-on", "error", path, training_rules), 0)


@pytest.mark.parametrize(
    "args",
    [
        ["--format", "xml"],
        ["--fail-on", "info"],
        ["--timeout", "0"],
        ["--no-such-option"],
        ["--dashboards", "dashboards", "some.json"],
        ["--alerts", "alerts", "some.json"],
    ],
)
def test_usage_errors_exit_2(args: list[str]) -> None:
    result = validate(*args)
    clean_exit(result, 2)
    assert "Error" in result.output


@pytest.mark.parametrize(
    "settings_text",
    ["prometheus: [unclosed\n", "no_such_section: 1\n", "prometheus:\n  version: latest\n"],
)
def test_bad_settings_file_exits_2(tmp_path: Path, settings_text: str) -> None:
    from generator.cli import cli

    config = tmp_path / "obsgen.yaml"
    config.write_text(settings_text, encoding="utf-8")
    result = CliRunner().invoke(cli, ["validate", "--config", str(config)])
    clean_exit(result, 2)
    assert "Error: " in result.output and str(config) in result.output


def test_missing_settings_file_exits_2(tmp_path: Path) -> None:
    from generator.cli import cli

    result = CliRunner().invoke(cli, ["validate", "--config", str(tmp_path / "none.yaml")])
    clean_exit(result, 2)


# --- bad input ----------------------------------------------------------------------------


def _invalid_utf8(path: Path) -> Path:
    path.write_bytes(b'{"title": "caf\xe9", "panels": []}')
    return path


def _broken_symlink(path: Path) -> Path:
    path.symlink_to(path.parent / "nowhere.json")
    return path


def _non_json(path: Path) -> Path:
    path.write_text("{'title': 'single quotes', panels: []", encoding="utf-8")
    return path


def _json_not_dashboard(path: Path) -> Path:
    path.write_text('[{"title": "a list", "panels": []}]', encoding="utf-8")
    return path


def _json_scalar(path: Path) -> Path:
    path.write_text("42", encoding="utf-8")
    return path


def _deep_json(path: Path) -> Path:
    path.write_text("[" * 200_000 + "]" * 200_000, encoding="utf-8")
    return path


def _empty(path: Path) -> Path:
    path.write_text("", encoding="utf-8")
    return path


def _bad_yaml(path: Path) -> Path:
    path.write_text("groups:\n  - name: x\n    rules: [\n", encoding="utf-8")
    return path


def _deep_yaml(path: Path) -> Path:
    path.write_text("a: " + "[" * 50_000 + "]" * 50_000 + "\n", encoding="utf-8")
    return path


def _ten_megabytes_of_junk(path: Path) -> Path:
    path.write_bytes(bytes(range(256)) * 40_960)  # 10 MiB
    return path


@pytest.mark.parametrize(
    ("name", "make", "message"),
    [
        ("latin1.json", _invalid_utf8, "cannot read"),
        ("gone.json", _broken_symlink, "no such file"),
        ("quotes.json", _non_json, "not valid JSON"),
        ("list.json", _json_not_dashboard, "neither a Grafana dashboard"),
        ("scalar.json", _json_scalar, "neither a Grafana dashboard"),
        ("deep.json", _deep_json, ""),
        ("empty.json", _empty, "not valid JSON"),
        ("empty.yaml", _empty, "neither a Prometheus rule file"),
        ("bad.yaml", _bad_yaml, "not valid YAML"),
        ("deep.yaml", _deep_yaml, ""),
        ("junk.json", _ten_megabytes_of_junk, "cannot read"),
    ],
)
def test_bad_files_give_one_clear_problem(
    tmp_path: Path, name: str, make: Callable[[Path], Path], message: str
) -> None:
    path = make(tmp_path / name)
    started = time.monotonic()
    problems = reported(path, code=1)
    assert time.monotonic() - started < SECONDS
    (problem,) = problems
    assert (problem["check"], problem["severity"]) == ("input/unreadable", "error")
    assert problem["file"] == str(path)
    assert message in problem["message"]


def test_a_directory_named_like_a_file_is_searched_not_read(tmp_path: Path) -> None:
    (tmp_path / "dir.json").mkdir()
    _invalid_utf8(tmp_path / "dir.json" / "inner.json")
    problems = reported(tmp_path / "dir.json", code=1)
    assert [Path(p["file"]).name for p in problems] == ["inner.json"]


def test_bad_files_do_not_hide_good_ones(bundled: Path, tmp_path: Path) -> None:
    _non_json(tmp_path / "bad.json")
    (tmp_path / "good.json").write_bytes((bundled / TRAINING).read_bytes())
    (tmp_path / "good.rules.yaml").write_bytes((bundled / TRAINING_RULES).read_bytes())
    result = validate("--format", "json", tmp_path)
    clean_exit(result, 1)
    assert [Path(p["file"]).name for p in json.loads(result.stdout)] == ["bad.json"]
    assert "in 2 documents" in result.output


def test_a_ten_megabyte_dashboard(
    training: dict[str, Any], training_rules: Path, tmp_path: Path
) -> None:
    training["description"] = "GPU " * 2_621_440  # 10 MiB of text
    path = write_json(tmp_path / "big.json", training)
    assert path.stat().st_size > 10 * 1024 * 1024
    started = time.monotonic()
    problems = reported(path, training_rules, code=0)
    assert time.monotonic() - started < SECONDS
    assert problems == []


def test_a_dashboard_with_thousands_of_panels(training: dict[str, Any], tmp_path: Path) -> None:
    template = next(p for p in training["panels"] if p.get("targets"))
    panels = []
    for index in range(3000):
        panel = copy.deepcopy(template)
        panel["id"] = index + 1
        panel["title"] = f"GPU {index}"
        panel["gridPos"] = {"x": 0, "y": index * 8, "w": 24, "h": 8}
        panels.append(panel)
    training["panels"] = panels
    started = time.monotonic()
    problems = reported(write_json(tmp_path / "many.json", training))
    assert time.monotonic() - started < SECONDS
    assert all(p["severity"] != "error" for p in problems), problems[:3]


DEEP = {
    "parens": "(" * 1000 + "up" + ")" * 1000,
    "unary": "-" * 1000 + "1",
    "binary": "a+" * 1000 + "a",
    "functions": "abs(" * 1000 + "up" + ")" * 1000,
    "unclosed": "(" * 1000 + "up",
    "long": "up + " * 2_000 + "up",
}
# promql-parser 0.12 overflows its native stack (SIGSEGV, the whole process dies) from about
# 5,000 nested levels, after seconds of quadratic parsing; base.parse_expression refuses such
# input first. A child process runs them, so a regression cannot take pytest down with it.
TOO_DEEP = {
    "binary": "a+" * 8_000 + "a",
    "functions": "abs(" * 6_000 + "up" + ")" * 6_000,
    "parens": "(" * 12_000 + "up" + ")" * 12_000,
}


@pytest.mark.parametrize("kind", list(DEEP))
def test_deeply_nested_expressions_in_a_rule_file(tmp_path: Path, kind: str) -> None:
    rule = {"record": "deep:expression", "expr": DEEP[kind]}
    path = write_yaml(tmp_path / "deep.rules.yaml", {"groups": [{"name": "deep", "rules": [rule]}]})
    started = time.monotonic()
    problems = reported(path)
    assert time.monotonic() - started < SECONDS
    for problem in problems:  # a clean result or clear problems, at the rule
        assert problem["location"].get("rule") == "deep:expression", problem


@pytest.mark.parametrize("kind", list(DEEP))
def test_deeply_nested_expressions_in_a_dashboard(
    training: dict[str, Any], training_rules: Path, tmp_path: Path, kind: str
) -> None:
    where = break_first_target(training, DEEP[kind])
    started = time.monotonic()
    problems = reported(write_json(tmp_path / "deep.json", training), training_rules)
    assert time.monotonic() - started < SECONDS
    for problem in problems:
        assert problem["location"].get("panel") == where["panel"], problem


def test_unclosed_nesting_is_a_syntax_error(tmp_path: Path) -> None:
    rule = {"record": "deep:expression", "expr": DEEP["unclosed"]}
    path = write_yaml(tmp_path / "deep.rules.yaml", {"groups": [{"name": "deep", "rules": [rule]}]})
    problems = reported(path, code=1)
    assert [p["check"] for p in problems] == ["promql/syntax"]


@pytest.mark.parametrize("kind", list(TOO_DEEP))
def test_very_deep_expressions_do_not_crash_the_process(tmp_path: Path, kind: str) -> None:
    rule = {"record": "deep:expression", "expr": TOO_DEEP[kind]}
    path = write_yaml(tmp_path / "deep.rules.yaml", {"groups": [{"name": "deep", "rules": [rule]}]})
    completed = subprocess.run(
        [sys.executable, "-m", "generator", "validate", "--config", str(CONFIG), str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode in (0, 1), (completed.returncode, completed.stderr[-500:])
    assert "Traceback" not in completed.stderr
    if completed.returncode:
        assert "(group 'deep', rule 'deep:expression'): error" in completed.stdout


def test_a_long_regex_matcher_is_not_too_deep(tmp_path: Path) -> None:
    models = "|".join(f"team-{i}-llama-3-8b-instruct-.*" for i in range(40))
    expr = f'sum by (model_name) (rate(vllm:prompt_tokens_total{{model_name=~"{models}"}}[5m]))'
    rule = {"record": "team:prompt_tokens:rate5m", "expr": expr}
    path = write_yaml(tmp_path / "regex.rules.yaml", {"groups": [{"name": "g", "rules": [rule]}]})
    assert reported(path) == []


def test_subprocess_reports_bad_input_without_traceback(tmp_path: Path) -> None:
    _non_json(tmp_path / "bad.json")
    _invalid_utf8(tmp_path / "latin1.json")
    completed = subprocess.run(
        [sys.executable, "-m", "generator", "validate", "--config", str(CONFIG), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 1
    assert "Traceback" not in completed.stdout + completed.stderr
    assert "[input/unreadable]" in completed.stdout
    assert "2 problems (2 errors) in 0 documents" in completed.stdout
