"""obsgen.yaml loading: defaults, valid values, and a clean message for every kind of mistake."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.cli import cli
from generator.errors import SettingsError
from generator.settings import Settings, load_settings


def test_shipped_settings_equal_the_dataclass_defaults(project_root: Path) -> None:
    path = project_root / "obsgen.yaml"
    loaded = load_settings(path)
    assert loaded.source == str(path)
    assert dataclasses.replace(loaded, source=Settings().source) == Settings()


@pytest.mark.parametrize(
    "text",
    ["", "# every key left out\n", "---\n# every key left out\n", "{}\n"],
    # A lone `---` is what yamllint's default document-start rule asks for: still no keys.
    ids=["empty", "comment-only", "document-start-marker", "empty-mapping"],
)
def test_a_settings_file_without_keys_gives_the_defaults(tmp_path: Path, text: str) -> None:
    path = tmp_path / "obsgen.yaml"
    path.write_text(text, encoding="utf-8")
    loaded = load_settings(path)
    assert loaded == dataclasses.replace(Settings(), source=str(path))


@pytest.mark.parametrize(
    ("text", "read", "expected"),
    [
        ("cluster:\n  enabled: true\n", lambda s: s.cluster.enabled, True),
        (
            "thresholds:\n  ttft_target_seconds: 5\n",
            lambda s: s.thresholds.ttft_target_seconds,
            5.0,
        ),
        (
            "thresholds:\n  kv_cache_usage_ratio: 1\n",
            lambda s: s.thresholds.kv_cache_usage_ratio,
            1.0,
        ),
        ("exporters:\n  vllm:\n    naming: either\n", lambda s: s.exporters.vllm.naming, "either"),
        ("grafana:\n  tags: [a, b]\n", lambda s: s.grafana.tags, ("a", "b")),
        ("grafana:\n  refresh: 1h30m\n", lambda s: s.grafana.refresh, "1h30m"),
        (
            "alerts:\n  labels: {team: ml, tier: gpu}\n",
            lambda s: s.alerts.labels,
            {"team": "ml", "tier": "gpu"},
        ),
        (
            "kubernetes:\n  rule_labels:\n    release: '1'\n    app.kubernetes.io/part-of: obs\n",
            lambda s: s.kubernetes.rule_labels,
            {"app.kubernetes.io/part-of": "obs", "release": "1"},
        ),
    ],
    ids=["bool", "int-for-float", "ratio-upper-bound", "enum", "tags", "duration", "labels", "rl"],
)
def test_valid_values_are_loaded(tmp_path: Path, text: str, read, expected) -> None:
    path = tmp_path / "obsgen.yaml"
    path.write_text(text, encoding="utf-8")
    value = read(load_settings(path))
    assert value == expected
    assert type(value) is type(expected)


def test_the_loader_raises_settings_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "obsgen.yaml"
    path.write_text("grafana:\n  refresh: soon\n", encoding="utf-8")
    with pytest.raises(SettingsError, match=r"obsgen\.yaml:2:3: 'grafana\.refresh'"):
        load_settings(path)


# Each case: the file's text (None: the file does not exist) and fragments the one-line error
# must contain; "{path}" stands for the settings file's path.
BAD_SETTINGS = [
    pytest.param(
        None,
        ["{path}: settings file not found", "--config", "OBSGEN_CONFIG"],
        id="missing-file",
    ),
    pytest.param(
        "grafana:\n  folder: GPU\n  refresh: 30s: x\n",
        ["{path}:3:15:", "invalid YAML"],
        id="yaml-syntax",
    ),
    pytest.param(
        "grafana:\n  folder: GPU\n  tags: [a, b\n",
        ["{path}:4:", "invalid YAML"],
        id="yaml-unclosed-list",
    ),
    pytest.param(
        "grafana:\n\tfolder: GPU\n",
        ["{path}:2:1:", "invalid YAML"],
        id="yaml-tab-indent",
    ),
    pytest.param(
        "thresholds_:\n  gpu_busy_ratio: 0.5\n",
        ["{path}:1:1:", "unknown key 'thresholds_'", "did you mean 'thresholds'?"],
        id="unknown-top-key-suffix",
    ),
    pytest.param(
        "datasource:\n  default: Prometheus\ntreshold:\n  gpu_busy_ratio: 0.5\n",
        ["{path}:3:1:", "unknown key 'treshold'", "did you mean 'thresholds'?"],
        id="unknown-top-key-typo",
    ),
    pytest.param(
        "zzz: 1\n",
        ["{path}:1:1:", "unknown key 'zzz'", "known keys: datasource, cluster, exporters"],
        id="unknown-top-key-no-guess",
    ),
    pytest.param(
        "exporters:\n  vllm:\n    prefx: 'vllm:'\n",
        ["{path}:3:5:", "unknown key 'exporters.vllm.prefx'", "did you mean 'prefix'?"],
        id="unknown-nested-key",
    ),
    pytest.param(
        "thresholds:\n  ttft_target_seconds: fast\n",
        ["{path}:2:3:", "'thresholds.ttft_target_seconds'", "must be a number", "'fast'"],
        id="wrong-type",
    ),
    pytest.param(
        "thresholds:\n  waiting_requests: 2.5\n",
        ["{path}:2:3:", "'thresholds.waiting_requests'", "whole number", "2.5"],
        id="float-for-int",
    ),
    pytest.param(
        "cluster:\n  enabled: 1\n",
        ["{path}:2:3:", "'cluster.enabled'", "true or false", "got 1"],
        id="bool-as-number",
    ),
    pytest.param(
        "thresholds:\n  kv_cache_usage_ratio: 1.5\n",
        ["{path}:2:3:", "'thresholds.kv_cache_usage_ratio'", "between 0 and 1", "1.5"],
        id="out-of-range",
    ),
    pytest.param(
        "exporters:\n  vllm:\n    naming: newest\n",
        ["{path}:3:5:", "'exporters.vllm.naming'", "'current' | 'legacy' | 'either'", "newest"],
        id="invalid-enum",
    ),
    pytest.param(
        "grafana:\n  refresh: soon\n",
        ["{path}:2:3:", "'grafana.refresh'", "duration such as 30s", "'soon'"],
        id="invalid-duration",
    ),
    pytest.param(
        "prometheus:\n  version: latest\n",
        ["{path}:2:3:", "'prometheus.version'", "a version such as", "'latest'"],
        id="invalid-version",
    ),
    pytest.param(
        'cluster:\n  label: "bad-label"\n',
        ["{path}:2:3:", "'cluster.label'", "label name", "'bad-label'"],
        id="invalid-label-name",
    ),
    pytest.param(
        "alerts:\n  labels:\n    bad-name: x\n",
        ["{path}:3:5:", "'alerts.labels.bad-name'", "not a valid label name"],
        id="invalid-label-key",
    ),
    pytest.param(
        "grafana:\n  folder: A\n  folder: B\n",
        ["{path}:3:3:", "duplicate key 'grafana.folder'"],
        id="duplicate-key",
    ),
    pytest.param(
        "- datasource\n- cluster\n",
        ["{path}", "top level must be a mapping"],
        id="top-level-list",
    ),
    pytest.param(
        "grafana: 3\n",
        ["{path}:1:1:", "'grafana' must be a mapping", "got 3"],
        id="section-not-a-mapping",
    ),
    pytest.param(
        "grafana:\n  tags: obsgen\n",
        ["{path}:2:3:", "'grafana.tags'", "list of strings"],
        id="tags-not-a-list",
    ),
    pytest.param(
        "grafana:\n  folder:\n",
        ["{path}:2:3:", "'grafana.folder'", "a string", "None"],
        id="null-string",
    ),
    pytest.param(
        "thresholds:\n  gpu_temperature_warning_celsius: 95\n",
        [
            "{path}:2:3:",
            "'thresholds.gpu_temperature_warning_celsius' (95) must be below "
            "'thresholds.gpu_temperature_critical_celsius' (90)",
        ],
        id="warning-above-critical",
    ),
    pytest.param(
        "thresholds:\n  gpu_temperature_warning_celsius: 80\n"
        "  gpu_temperature_critical_celsius: 80\n",
        ["{path}:2:3:", "(80) must be below", "'thresholds.gpu_temperature_critical_celsius'"],
        id="warning-equals-critical",
    ),
    pytest.param(
        "alerts:\n  runbook_url: https://runbooks.example.com/gpu\n",
        ["{path}:2:3:", "'alerts.runbook_url' must contain {alert}"],
        id="runbook-url-without-placeholder",
    ),
    pytest.param(
        "thresholds:\n  ttft_target_seconds: 2\n",
        [
            "{path}:2:3:",
            "'thresholds.ttft_target_seconds' (2) is not a bucket bound of "
            "vllm:time_to_first_token_seconds in vLLM 0.11",
            "use one of 0.001,",
            " 1, 2.5, 5, ",
        ],
        id="latency-target-between-buckets",
    ),
    pytest.param(
        'exporters:\n  vllm: {version: "0.7.3"}\nthresholds:\n  e2e_target_seconds: 120\n',
        ["{path}:4:3:", "'thresholds.e2e_target_seconds' (120)", "vLLM 0.7.3", ", 50, 60"],
        id="latency-target-above-the-v0-buckets",
    ),
    pytest.param(
        "thresholds:\n  inter_token_target_seconds: 0.25\n",
        ["{path}:2:3:", "'thresholds.inter_token_target_seconds' (0.25)", "0.2, 0.3"],
        id="inter-token-target-between-buckets",
    ),
    pytest.param(
        "kubernetes:\n  rule_labels:\n    release: 1\n",
        ["{path}:3:5:", "'kubernetes.rule_labels.release'", "string"],
        id="non-string-label-value",
    ),
    pytest.param(
        "thresholds:\n  ttft_target_seconds: .nan\n",
        ["{path}:2:3:", "'thresholds.ttft_target_seconds'", "a finite number"],
        id="not-a-number",
    ),
    pytest.param(
        "alerts:\n  labels: {severity: page}\n",
        ["{path}:2:12:", "'alerts.labels.severity'", "remove the key"],
        id="severity-for-every-alert",
    ),
    pytest.param(
        "grafana: &loop\n  tags: [*loop]\n",
        ["{path}:", "an alias (*name) refers to itself"],
        id="alias-refers-to-itself",
    ),
    pytest.param(
        "? [grafana]\n: {folder: x}\n",
        ["{path}:1:3:", "a key must be a plain name"],
        id="list-as-key",
    ),
    pytest.param(
        'grafana:\n  folder: "Platform//GPU"\n',
        ["{path}:2:3:", "'grafana.folder'", "none empty"],
        id="folder-with-an-empty-level",
    ),
    pytest.param(
        'grafana:\n  folder: "a/b/c/d/e"\n',
        ["{path}:2:3:", "'grafana.folder'", "at most 4 levels"],
        id="folder-nested-too-deep",
    ),
]


@pytest.mark.parametrize(("text", "fragments"), BAD_SETTINGS)
def test_bad_settings_give_one_clean_message(
    tmp_path: Path, cli_error, text: str | None, fragments: list[str]
) -> None:
    config = tmp_path / "bad.yaml"
    if text is not None:
        config.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    message = cli_error("build", "--config", config, "--out", out)
    for fragment in fragments:
        assert fragment.replace("{path}", str(config)) in message
    assert not out.exists(), "nothing may be written when the settings are invalid"


def test_a_file_that_is_not_utf8_gives_a_clean_message(tmp_path: Path, cli_error) -> None:
    config = tmp_path / "bad.yaml"
    config.write_bytes(b"grafana:\n  folder: \xff\xfe\n")
    message = cli_error("build", "--config", config, "--out", tmp_path / "out")
    assert f"{config}: cannot read" in message


# ---- which settings file a build uses ------------------------------------------------------


def _folder_settings(directory: Path, folder: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "obsgen.yaml"
    path.write_text(f"grafana:\n  folder: {folder}\n", encoding="utf-8")
    return path


def _dashboard_folders(out: Path) -> list[str]:
    return sorted(p.name for p in (out / "dashboards").iterdir())


def test_obsgen_config_is_used_when_config_is_absent(
    tmp_path: Path, run_cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _folder_settings(tmp_path / "env", "Team From Env")
    monkeypatch.setenv("OBSGEN_CONFIG", str(config))
    out = tmp_path / "out"
    result = run_cli("build", "--out", out)
    assert result.exit_code == 0, result.output
    assert _dashboard_folders(out) == ["team-from-env"]
    assert (out / "dashboards/team-from-env/ee6mbjghme96oc.json").is_file()


def test_config_option_wins_over_obsgen_config(
    tmp_path: Path, run_cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OBSGEN_CONFIG", str(_folder_settings(tmp_path / "env", "From Env")))
    explicit = _folder_settings(tmp_path / "explicit", "From Option")
    out = tmp_path / "out"
    result = run_cli("build", "--config", explicit, "--out", out)
    assert result.exit_code == 0, result.output
    assert _dashboard_folders(out) == ["from-option"]


def test_a_missing_obsgen_config_file_is_reported(
    tmp_path: Path, cli_error, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "nowhere.yaml"
    monkeypatch.setenv("OBSGEN_CONFIG", str(missing))
    message = cli_error("build", "--out", tmp_path / "out")
    assert f"{missing}: settings file not found" in message


def test_obsgen_yaml_in_the_working_directory_is_the_last_resort(
    tmp_path: Path, run_cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    _folder_settings(tmp_path, "Cwd Folder")
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    result = run_cli("build", "--out", out)
    assert result.exit_code == 0, result.output
    assert _dashboard_folders(out) == ["cwd-folder"]


def test_without_any_settings_file_the_built_in_defaults_are_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OBSGEN_CONFIG", raising=False)
    result = CliRunner().invoke(cli, ["build", "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "no obsgen.yaml here; using the built-in defaults" in result.output
    assert _dashboard_folders(tmp_path / "out") == ["gpu-workloads"]
