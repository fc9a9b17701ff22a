"""out/alertmanager/alertmanager.yaml: the real amtool accepts it and routes alerts where the
settings say, inhibit rules are scoped, and settings naming an undefined receiver are refused.
Tests that run amtool skip without it, or fail with REQUIRE_PROMETHEUS=1 (CI sets it)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_harness import require_binary

from generator.build import ALERTMANAGER_PATH, build
from generator.deliver.files import write_build
from generator.render.alertmanager import INHIBIT_PAIRS, render_alertmanager_config
from generator.settings import Settings, load_settings

UNIT_TEST_DIR = Path(__file__).resolve().parents[1] / "alerts" / "tests"
TEAMS = """\
alertmanager:
  receivers:
    default: ""
    gpu-oncall: https://pager.example.com/hooks/gpu
    ml-platform: http://alert-router.monitoring.svc:8080/ml-platform
    vision-oncall: ""
  team_receivers:
    vision: vision-oncall
    ml "core": ml-platform
"""
# Settings variants by name: the text of an obsgen.yaml.
VARIANTS = {
    "defaults": "",
    "multi-cluster": "cluster:\n  enabled: true\n  label: region\n",
    "teams": TEAMS,
    "team-label": TEAMS.replace("  team_receivers:", "  team_label: owner\n  team_receivers:"),
    "no-severity-routes": "alertmanager:\n  severity_receivers: {}\n",
}


def settings_for(variant: str, directory: Path) -> Settings:
    path = directory / f"{variant}.yaml"
    path.write_text(VARIANTS[variant], encoding="utf-8")
    return load_settings(path)


def write_config(variant: str, directory: Path) -> Path:
    """Builds with the variant's settings into `directory`; returns alertmanager.yaml's path."""
    write_build(build(settings_for(variant, directory)), directory / "out")
    return directory / "out" / ALERTMANAGER_PATH


def amtool(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [require_binary("amtool"), *(str(a) for a in args)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


# ---- amtool check-config -----------------------------------------------------------------------


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_amtool_accepts_the_generated_config(variant: str, tmp_path: Path) -> None:
    path = write_config(variant, tmp_path)
    checked = amtool("check-config", path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS" in checked.stdout
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert f" - {len(document['receivers'])} receivers" in checked.stdout
    assert f" - {len(INHIBIT_PAIRS)} inhibit rules" in checked.stdout


def test_amtool_rejects_a_config_naming_an_undefined_receiver(tmp_path: Path) -> None:
    """The harness can fail: amtool really checks what it is given."""
    path = write_config("defaults", tmp_path)
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    document["route"]["routes"][0]["receiver"] = "nobody"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    checked = amtool("check-config", path)
    assert checked.returncode != 0
    assert "nobody" in checked.stdout + checked.stderr


# ---- amtool config routes test ----------------------------------------------------------------

ROUTES = [
    ("defaults", ["severity=critical", "alertname=GpuTemperatureCritical"], "gpu-oncall"),
    ("defaults", ["severity=critical", "alertname=GpuXidHardwareError"], "gpu-oncall"),
    ("defaults", ["severity=warning", "alertname=GpuTemperatureHigh"], "ml-platform"),
    ("defaults", ["severity=warning", "alertname=VllmKvCacheSaturated"], "ml-platform"),
    ("defaults", ["severity=info", "alertname=TeamHot"], "default"),
    ("defaults", ["alertname=Watchdog"], "default"),
    ("defaults", ["severity=critical", "team=vision"], "gpu-oncall"),
    ("teams", ["severity=critical", "team=vision"], "vision-oncall"),
    ("teams", ["severity=info", "team=vision"], "vision-oncall"),
    ("teams", ["severity=critical", "team=speech"], "gpu-oncall"),
    ("teams", ["team=speech"], "default"),
    ("team-label", ["severity=warning", "owner=vision"], "vision-oncall"),
    ("team-label", ["severity=warning", "team=vision"], "ml-platform"),
    ("no-severity-routes", ["severity=critical", "alertname=GpuTemperatureCritical"], "default"),
    ("multi-cluster", ["severity=critical", "region=eu-1"], "gpu-oncall"),
]


@pytest.mark.parametrize(
    ("variant", "labels", "receiver"),
    ROUTES,
    ids=[f"{variant}-{'-'.join(labels)}" for variant, labels, _ in ROUTES],
)
def test_alerts_are_routed_to_the_receiver_the_settings_name(
    variant: str, labels: list[str], receiver: str, tmp_path: Path
) -> None:
    path = write_config(variant, tmp_path)
    routed = amtool("config", "routes", "test", f"--config.file={path}", *labels)
    assert routed.returncode == 0, routed.stdout + routed.stderr
    assert routed.stdout.strip() == receiver


# ---- the rendered document ---------------------------------------------------------------------


def config(variant: str, tmp_path: Path) -> dict[str, Any]:
    return render_alertmanager_config(settings_for(variant, tmp_path))


def test_the_route_tree_puts_teams_first_then_severities(tmp_path: Path) -> None:
    route = config("teams", tmp_path)["route"]
    assert route["receiver"] == "default"
    assert [(r["matchers"], r["receiver"], r["continue"]) for r in route["routes"]] == [
        (['team="ml \\"core\\""'], "ml-platform", False),
        (['team="vision"'], "vision-oncall", False),
        (['severity="critical"'], "gpu-oncall", False),
        (['severity="warning"'], "ml-platform", False),
    ]
    assert (route["group_wait"], route["group_interval"], route["repeat_interval"]) == (
        "30s",
        "5m",
        "4h",
    )


@pytest.mark.parametrize(
    ("variant", "group_by"),
    [
        ("defaults", ["alertname", "Hostname", "namespace", "model_name"]),
        ("multi-cluster", ["alertname", "Hostname", "namespace", "model_name", "region"]),
    ],
)
def test_grouping_adds_the_cluster_label_in_multi_cluster_mode(
    variant: str, group_by: list[str], tmp_path: Path
) -> None:
    assert config(variant, tmp_path)["route"]["group_by"] == group_by


def test_receivers_with_a_url_get_a_webhook_and_the_others_only_a_name(tmp_path: Path) -> None:
    assert config("teams", tmp_path)["receivers"] == [
        {"name": "default"},
        {
            "name": "gpu-oncall",
            "webhook_configs": [
                {"url": "https://pager.example.com/hooks/gpu", "send_resolved": True}
            ],
        },
        {
            "name": "ml-platform",
            "webhook_configs": [
                {
                    "url": "http://alert-router.monitoring.svc:8080/ml-platform",
                    "send_resolved": True,
                }
            ],
        },
        {"name": "vision-oncall"},
    ]


@pytest.mark.parametrize(
    ("variant", "extra"), [("defaults", []), ("multi-cluster", ["region"])], ids=["one", "multi"]
)
def test_inhibit_rules_are_scoped_by_alertname_and_equal_labels(
    variant: str, extra: list[str], tmp_path: Path
) -> None:
    rules = config(variant, tmp_path)["inhibit_rules"]
    assert rules == [
        {
            "source_matchers": ['alertname="GpuTemperatureCritical"'],
            "target_matchers": ['alertname="GpuTemperatureHigh"'],
            "equal": ["Hostname", "gpu", *extra],
        },
        {
            "source_matchers": ['alertname="GpuTemperatureCritical"'],
            "target_matchers": ['alertname="GpuThermalThrottling"'],
            "equal": ["Hostname", "gpu", *extra],
        },
        {
            "source_matchers": ['alertname="GpuXidHardwareError"'],
            "target_matchers": ['alertname="GpuXidError"'],
            "equal": ["Hostname", "gpu", *extra],
        },
        {
            "source_matchers": ['alertname="VllmTtftBudgetBurnPage"'],
            "target_matchers": ['alertname="VllmTtftBudgetBurnTicket"'],
            "equal": ["namespace", "model_name", *extra],
        },
        {
            "source_matchers": ['alertname="VllmE2eLatencyBudgetBurnPage"'],
            "target_matchers": ['alertname="VllmE2eLatencyBudgetBurnTicket"'],
            "equal": ["namespace", "model_name", *extra],
        },
    ]


def expected_alerts() -> list[tuple[str, dict[str, str]]]:
    """(alertname, exp_labels) of every alert the promtool unit tests expect to fire."""
    return [
        (case["alertname"], alert["exp_labels"])
        for path in sorted(UNIT_TEST_DIR.glob("*.test.yaml"))
        for test in yaml.safe_load(path.read_text(encoding="utf-8"))["tests"]
        for case in test.get("alert_rule_test", [])
        for alert in case.get("exp_alerts") or []
    ]


def test_every_bundled_alert_carries_the_labels_its_inhibit_rule_compares() -> None:
    """Alertmanager treats a label missing on both sides as equal; each paired alert has them,
    names an alert that exists, and a critical silences only a warning."""
    alerts = {
        rule["alert"]: rule["labels"]["severity"]
        for artifact in build(Settings()).artifacts
        if artifact.kind == "rules"
        for group in artifact.document["groups"]
        for rule in group["rules"]
        if "alert" in rule
    }
    for critical, warning, _ in INHIBIT_PAIRS:
        assert (alerts[critical], alerts[warning]) == ("critical", "warning")
    firing = expected_alerts()
    assert {name for name, _ in firing} == set(alerts)
    for name, labels in firing:
        for critical, warning, equal in INHIBIT_PAIRS:
            if name in (critical, warning):
                assert set(equal) <= set(labels), f"{name} lacks {sorted(set(equal) - set(labels))}"


def test_the_build_writes_the_config_and_lists_it_in_the_manifest(tmp_path: Path) -> None:
    path = write_config("teams", tmp_path)
    manifest = (tmp_path / "out" / "manifest.json").read_text(encoding="utf-8")
    (entry,) = [e for e in yaml.safe_load(manifest)["artifacts"] if e["kind"] == "alertmanager"]
    assert entry["path"] == ALERTMANAGER_PATH
    assert entry["receivers"] == ["default", "gpu-oncall", "ml-platform", "vision-oncall"]
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert document == render_alertmanager_config(settings_for("teams", tmp_path))


# ---- settings mistakes -------------------------------------------------------------------------

# Each case: the settings file's text and fragments of the one-line error ("{path}" is the file).
BAD_ALERTMANAGER_SETTINGS = [
    pytest.param(
        "alertmanager:\n  default_receiver: pager\n",
        [
            "{path}:2:3:",
            "'alertmanager.default_receiver' names receiver 'pager'",
            "'alertmanager.receivers' does not define",
            "(defined: default, gpu-oncall, ml-platform)",
        ],
        id="default-receiver",
    ),
    pytest.param(
        "alertmanager:\n  severity_receivers:\n    critical: pager\n",
        ["{path}:3:5:", "'alertmanager.severity_receivers.critical' names receiver 'pager'"],
        id="severity-receiver",
    ),
    pytest.param(
        "alertmanager:\n  team_receivers:\n    vision: vision-oncall\n",
        ["{path}:3:5:", "'alertmanager.team_receivers.vision' names receiver 'vision-oncall'"],
        id="team-receiver",
    ),
    pytest.param(
        "alertmanager:\n  receivers:\n    default: ''\n    pager: ''\n",
        [
            "'alertmanager.severity_receivers.critical' names receiver 'gpu-oncall'",
            "(defined: default, pager)",
        ],
        id="receivers-replaced",
    ),
    pytest.param(
        "alertmanager:\n  severity_receivers:\n    page: default\n",
        ["{path}:3:5:", "'alertmanager.severity_receivers.page' is not a severity"],
        id="unknown-severity",
    ),
    pytest.param(
        "alertmanager:\n  receivers:\n    default: ftp://hooks.example.com\n",
        ["{path}:3:5:", "'alertmanager.receivers.default'", "http:// or https:// URL"],
        id="webhook-not-http",
    ),
    pytest.param(
        "alertmanager:\n  receivers:\n    bad name: ''\n",
        ["{path}:3:5:", "'alertmanager.receivers.bad name' is not a valid receiver name"],
        id="receiver-name",
    ),
    pytest.param(
        "alertmanager:\n  group_by: [alertname, bad-label]\n",
        ["{path}:2:3:", "'alertmanager.group_by' holds 'bad-label', which is not a Prometheus"],
        id="group-by-label",
    ),
    pytest.param(
        "alertmanager:\n  team_receivers:\n    1: default\n",
        ["{path}:3:5:", "'alertmanager.team_receivers.1' needs a text key: quote it"],
        id="team-not-text",
    ),
    pytest.param(
        "alertmanager:\n  group_by: [alertname, gpu, alertname]\n",
        ["{path}:2:3:", "'alertmanager.group_by' lists alertname more than once"],
        id="group-by-repeated",
    ),
    pytest.param(
        "alertmanager:\n  repeat_interval: 0h\n",
        ["{path}:2:3:", "'alertmanager.repeat_interval' must be longer than zero"],
        id="zero-interval",
    ),
    pytest.param(
        "alertmanager:\n  group_wait: soon\n",
        ["{path}:2:3:", "'alertmanager.group_wait'", "duration such as 30s"],
        id="bad-duration",
    ),
]


@pytest.mark.parametrize(("text", "fragments"), BAD_ALERTMANAGER_SETTINGS)
def test_bad_alertmanager_settings_give_one_clean_message(
    tmp_path: Path, cli_error, text: str, fragments: list[str]
) -> None:
    path = tmp_path / "obsgen.yaml"
    path.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    message = cli_error("build", "--config", path, "--out", out)
    for fragment in fragments:
        assert fragment.replace("{path}", str(path)) in message
    assert not out.exists(), "nothing may be written when the settings are invalid"
