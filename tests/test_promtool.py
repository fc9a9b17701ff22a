"""Generated rule files through Prometheus' own promtool: they load, and alerts fire when they
should (and only then). Needs the `promtool` binary; set REQUIRE_PROMETHEUS=1 to make its absence
a failure instead of a skip (CI does)."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from generator.build import BuildResult, build
from generator.deliver.files import write_build
from generator.settings import (
    AlertSettings,
    ClusterSettings,
    DcgmSettings,
    ExporterSettings,
    Settings,
    VllmSettings,
)


def require_promtool() -> str:
    """Path of promtool; skips (or fails, with REQUIRE_PROMETHEUS=1) when it is not installed."""
    path = shutil.which("promtool")
    if path is None:
        message = "promtool is not on PATH (install Prometheus to run these tests)"
        if os.environ.get("REQUIRE_PROMETHEUS") == "1":
            pytest.fail(message + "; REQUIRE_PROMETHEUS=1 makes this an error")
        pytest.skip(message)
    return path


def promtool(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [require_promtool(), *(str(a) for a in args)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


BASE = Settings()
VARIANTS = {
    "defaults": BASE,
    "cluster": dataclasses.replace(BASE, cluster=ClusterSettings(enabled=True)),
    "legacy": dataclasses.replace(
        BASE, exporters=dataclasses.replace(BASE.exporters, vllm=VllmSettings(naming="legacy"))
    ),
    "ray_vllm_-either": dataclasses.replace(
        BASE,
        exporters=dataclasses.replace(
            BASE.exporters, vllm=VllmSettings(prefix="ray_vllm_", naming="either")
        ),
    ),
    "dcgm-pod": dataclasses.replace(
        BASE, exporters=dataclasses.replace(BASE.exporters, dcgm=DcgmSettings(pod_label="pod"))
    ),
    "everything": Settings(
        cluster=ClusterSettings(enabled=True, label="region"),
        exporters=ExporterSettings(
            vllm=VllmSettings(prefix="ray_vllm:", naming="either"),
            dcgm=DcgmSettings(pod_label="pod_name"),
        ),
        alerts=AlertSettings(labels={"team": "ml"}, for_duration="10m"),
    ),
}


def write(settings: Settings, out_dir: Path) -> tuple[BuildResult, list[Path]]:
    result = build(settings)
    write_build(result, out_dir)
    files = [out_dir / a.path for a in result.artifacts if a.kind == "rules"]
    assert files
    assert all(f.is_file() for f in files)
    return result, files


# ---- promtool check rules ------------------------------------------------------------------


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_generated_rule_files_pass_promtool_check(variant: str, tmp_path: Path) -> None:
    require_promtool()
    result, files = write(VARIANTS[variant], tmp_path)
    for artifact, path in zip(
        [a for a in result.artifacts if a.kind == "rules"], files, strict=True
    ):
        checked = promtool("check", "rules", path)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        rule_count = sum(len(g["rules"]) for g in artifact.document["groups"])
        assert f"SUCCESS: {rule_count} rules found" in checked.stdout


BROKEN_RULE_FILES = {
    "unparsable-expression": """
groups:
  - name: broken
    rules:
      - alert: Broken
        expr: sum(rate(DCGM_FI_DEV_GPU_UTIL[5m])
""",
    "bad-duration": """
groups:
  - name: broken
    rules:
      - alert: Broken
        expr: up == 0
        for: five minutes
""",
    "alert-and-record": """
groups:
  - name: broken
    rules:
      - alert: Broken
        record: job:up:sum
        expr: up == 0
""",
    "duplicate-group": """
groups:
  - name: same
    rules:
      - record: job:up:sum
        expr: sum by (job) (up)
  - name: same
    rules:
      - record: job:up:max
        expr: max by (job) (up)
""",
    "unknown-field": """
groups:
  - name: broken
    rules:
      - alert: Broken
        expr: up == 0
        severity: critical
""",
}


@pytest.mark.parametrize("text", BROKEN_RULE_FILES.values(), ids=list(BROKEN_RULE_FILES))
def test_promtool_rejects_broken_rule_files(text: str, tmp_path: Path) -> None:
    """The harness can fail: promtool really checks what it is given."""
    path = tmp_path / "broken.rules.yaml"
    path.write_text(text.lstrip(), encoding="utf-8")
    checked = promtool("check", "rules", path)
    assert checked.returncode != 0, checked.stdout
    assert "FAILED" in checked.stdout + checked.stderr


def test_promtool_rejects_a_generated_file_with_one_broken_expression(tmp_path: Path) -> None:
    require_promtool()
    _, files = write(BASE, tmp_path)
    path = files[0]
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    rule = document["groups"][0]["rules"][-1]
    rule["expr"] = rule["expr"] + " >"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    checked = promtool("check", "rules", path)
    assert checked.returncode != 0, checked.stdout
    assert "parse error" in checked.stdout + checked.stderr


# ---- promtool test rules: alerts fire on the data they are about ---------------------------


@dataclass(frozen=True)
class Scenario:
    """Input series (name{labels} -> promtool values) and whether `alert` fires at `at`."""

    variant: str
    rule_file: str
    alert: str
    series: dict[str, str]
    fires: bool
    at: str = "40m"


GPU = 'Hostname="node-1", gpu="0", UUID="GPU-1"'
EXPORTED = 'exported_namespace="ml", exported_pod="train-0"'
MODEL = 'namespace="serving", model_name="llama", pod="llama-0"'
TTFT = "vllm:time_to_first_token_seconds"


def ttft_buckets(slowest_bucket: str) -> dict[str, str]:
    """TTFT histogram series where 10 requests a minute finish within `slowest_bucket` seconds
    ("0.5" or "5", either side of the 2.5 s target) and none earlier (counter series, one
    sample a minute)."""
    fast = slowest_bucket == "0.5"
    within = "0+10x60" if fast else "0+0x60"
    counts = {"0.5": within, "2.5": within, "5": "0+10x60", "+Inf": "0+10x60"}
    series = {f'{TTFT}_bucket{{{MODEL}, le="{le}"}}': values for le, values in counts.items()}
    return {**series, f"{TTFT}_count{{{MODEL}}}": "0+10x60"}


def gpu_temperatures(cluster: str, gpu: str, values: str) -> dict[str, str]:
    """The temperature series of GPU `gpu` of a node named node-1 in `cluster`."""
    labels = f'Hostname="node-1", gpu="{gpu}", UUID="GPU-{gpu}", cluster="{cluster}"'
    return {f"DCGM_FI_DEV_GPU_TEMP{{{labels}}}": values}


SCENARIOS = {
    "kv-cache-full-fires": Scenario(
        "defaults",
        "inference",
        "VllmKvCacheSaturated",
        {f"vllm:kv_cache_usage_perc{{{MODEL}}}": "0.97x60"},
        fires=True,
    ),
    "kv-cache-half-quiet": Scenario(
        "defaults",
        "inference",
        "VllmKvCacheSaturated",
        {f"vllm:kv_cache_usage_perc{{{MODEL}}}": "0.5x60"},
        fires=False,
    ),
    "kv-cache-legacy-name-fires": Scenario(
        "legacy",
        "inference",
        "VllmKvCacheSaturated",
        {f"vllm:gpu_cache_usage_perc{{{MODEL}}}": "0.97x60"},
        fires=True,
    ),
    "kv-cache-either-current-full-fires": Scenario(
        "ray_vllm_-either",
        "inference",
        "VllmKvCacheSaturated",
        {f"ray_vllm_kv_cache_usage_perc{{{MODEL}}}": "0.97x60"},
        fires=True,
    ),
    "kv-cache-either-legacy-full-fires": Scenario(
        "ray_vllm_-either",
        "inference",
        "VllmKvCacheSaturated",
        {f"ray_vllm_gpu_cache_usage_perc{{{MODEL}}}": "0.97x60"},
        fires=True,
    ),
    "kv-cache-either-current-half-quiet": Scenario(
        "ray_vllm_-either",
        "inference",
        "VllmKvCacheSaturated",
        {f"ray_vllm_kv_cache_usage_perc{{{MODEL}}}": "0.5x60"},
        fires=False,
    ),
    "ttft-slow-pages": Scenario(
        "defaults", "inference", "VllmTtftBudgetBurnPage", ttft_buckets("5"), True
    ),
    "ttft-fast-quiet": Scenario(
        "defaults", "inference", "VllmTtftBudgetBurnPage", ttft_buckets("0.5"), False
    ),
    "ttft-slow-ray-either-pages": Scenario(
        "ray_vllm_-either",
        "inference",
        "VllmTtftBudgetBurnPage",
        {name.replace("vllm:", "ray_vllm_"): v for name, v in ttft_buckets("5").items()},
        True,
    ),
    "queue-growing-fires": Scenario(
        "defaults",
        "inference",
        "VllmRequestQueueGrowing",
        {f"vllm:num_requests_waiting{{{MODEL}}}": "60+2x60"},
        fires=True,
    ),
    # Long but steady: the SLO alerts judge whether that hurts.
    "queue-long-steady-quiet": Scenario(
        "defaults",
        "inference",
        "VllmRequestQueueGrowing",
        {f"vllm:num_requests_waiting{{{MODEL}}}": "120x60"},
        fires=False,
    ),
    "queue-short-quiet": Scenario(
        "defaults",
        "inference",
        "VllmRequestQueueGrowing",
        {f"vllm:num_requests_waiting{{{MODEL}}}": "3x60"},
        fires=False,
    ),
    # GPU 1 of node-1 in eu-1 stops at 20m; a node-1 with a GPU 1 in us-1 is another machine.
    "gpu-missing-multi-cluster-fires": Scenario(
        "cluster",
        "gpu_health",
        "GpuMissing",
        {
            **gpu_temperatures("eu-1", "0", "60x60"),
            **gpu_temperatures("eu-1", "1", "60x20 stale"),
            **gpu_temperatures("us-1", "1", "60x60"),
        },
        fires=True,
    ),
    # All of eu-1's node-1 stops (no GPU of it left to compare with): not GpuMissing's case.
    "gpu-missing-whole-node-in-one-cluster-quiet": Scenario(
        "cluster",
        "gpu_health",
        "GpuMissing",
        {
            **gpu_temperatures("eu-1", "0", "60x20 stale"),
            **gpu_temperatures("us-1", "0", "60x60"),
        },
        fires=False,
    ),
    "thermal-bits-pod-labels-fires": Scenario(
        "dcgm-pod",
        "gpu_health",
        "GpuThermalThrottling",
        {f'DCGM_FI_DEV_CLOCKS_EVENT_REASONS{{{GPU}, namespace="ml", pod="train-0"}}': "64x60"},
        fires=True,
    ),
    "power-cap-not-thermal-quiet": Scenario(
        "dcgm-pod",
        "gpu_health",
        "GpuThermalThrottling",
        {f'DCGM_FI_DEV_CLOCKS_EVENT_REASONS{{{GPU}, namespace="ml", pod="train-0"}}': "132x60"},
        fires=False,
    ),
    "gpu-hot-fires": Scenario(
        "defaults",
        "gpu_health",
        "GpuTemperatureHigh",
        {f"DCGM_FI_DEV_GPU_TEMP{{{GPU}, {EXPORTED}}}": "88x60"},
        fires=True,
    ),
    "gpu-cool-quiet": Scenario(
        "defaults",
        "gpu_health",
        "GpuTemperatureHigh",
        {f"DCGM_FI_DEV_GPU_TEMP{{{GPU}, {EXPORTED}}}": "60x60"},
        fires=False,
    ),
    "gpu-overheating-fires": Scenario(
        "dcgm-pod",
        "gpu_health",
        "GpuTemperatureCritical",
        {f'DCGM_FI_DEV_GPU_TEMP{{{GPU}, namespace="ml", pod="train-0"}}': "95x60"},
        fires=True,
    ),
    "gpu-hot-multi-cluster-fires": Scenario(
        "cluster",
        "gpu_health",
        "GpuTemperatureHigh",
        {f'DCGM_FI_DEV_GPU_TEMP{{{GPU}, {EXPORTED}, cluster="eu-1"}}': "88x60"},
        fires=True,
    ),
    "framebuffer-full-fires": Scenario(
        "defaults",
        "gpu_health",
        "GpuFramebufferNearlyFull",
        {
            f"DCGM_FI_DEV_FB_USED{{{GPU}, {EXPORTED}}}": "79000x60",
            f"DCGM_FI_DEV_FB_FREE{{{GPU}, {EXPORTED}}}": "1000x60",
        },
        fires=True,
    ),
    "framebuffer-half-quiet": Scenario(
        "defaults",
        "gpu_health",
        "GpuFramebufferNearlyFull",
        {
            f"DCGM_FI_DEV_FB_USED{{{GPU}, {EXPORTED}}}": "40000x60",
            f"DCGM_FI_DEV_FB_FREE{{{GPU}, {EXPORTED}}}": "40000x60",
        },
        fires=False,
    ),
    "xid-hardware-fires": Scenario(
        "defaults",
        "gpu_health",
        "GpuXidHardwareError",
        {f"DCGM_FI_DEV_XID_ERRORS{{{GPU}, {EXPORTED}}}": "79x60"},
        fires=True,
    ),
    "xid-application-not-hardware": Scenario(
        "defaults",
        "gpu_health",
        "GpuXidHardwareError",
        {f"DCGM_FI_DEV_XID_ERRORS{{{GPU}, {EXPORTED}}}": "13x60"},
        fires=False,
    ),
    "xid-application-warns": Scenario(
        "defaults",
        "gpu_health",
        "GpuXidError",
        {f"DCGM_FI_DEV_XID_ERRORS{{{GPU}, {EXPORTED}}}": "0x30 13x30"},
        fires=True,
        at="35m",
    ),
    # The gauge keeps the last XID until a driver reset: the warning ends ten minutes after it.
    "xid-application-old-quiet": Scenario(
        "defaults",
        "gpu_health",
        "GpuXidError",
        {f"DCGM_FI_DEV_XID_ERRORS{{{GPU}, {EXPORTED}}}": "0x10 13x50"},
        fires=False,
    ),
    "xid-none-quiet": Scenario(
        "defaults",
        "gpu_health",
        "GpuXidError",
        {f"DCGM_FI_DEV_XID_ERRORS{{{GPU}, {EXPORTED}}}": "0x60"},
        fires=False,
    ),
}


@pytest.mark.parametrize("scenario", SCENARIOS.values(), ids=list(SCENARIOS))
def test_alert_fires_exactly_when_it_should(scenario: Scenario, tmp_path: Path) -> None:
    require_promtool()
    write(VARIANTS[scenario.variant], tmp_path / "out")
    rule_file = tmp_path / "out" / "rules" / f"{scenario.rule_file}.rules.yaml"
    assert rule_file.is_file()
    firing = f'ALERTS{{alertname="{scenario.alert}", alertstate="firing"}}'
    unit_test = {
        "rule_files": [str(rule_file)],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [
                    {"series": series, "values": values}
                    for series, values in scenario.series.items()
                ],
                "promql_expr_test": [
                    {
                        "expr": f"count({firing}) or vector(0)",
                        "eval_time": scenario.at,
                        "exp_samples": [{"labels": "{}", "value": 1 if scenario.fires else 0}],
                    }
                ],
            }
        ],
    }
    test_file = tmp_path / "unit.yaml"
    test_file.write_text(yaml.safe_dump(unit_test, sort_keys=False), encoding="utf-8")
    outcome = promtool("test", "rules", test_file)
    verb = "fire" if scenario.fires else "stay quiet"
    assert outcome.returncode == 0, (
        f"{scenario.alert} should {verb}:\n{outcome.stdout}{outcome.stderr}\n"
        f"{rule_file.read_text(encoding='utf-8')}"
    )


def test_unit_test_harness_can_fail(tmp_path: Path) -> None:
    """A scenario whose expectation is wrong must make promtool fail, or the table proves
    nothing."""
    require_promtool()
    write(BASE, tmp_path / "out")
    unit_test = {
        "rule_files": [str(tmp_path / "out" / "rules" / "inference.rules.yaml")],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [
                    {"series": f"vllm:kv_cache_usage_perc{{{MODEL}}}", "values": "0.1x60"}
                ],
                "promql_expr_test": [
                    {
                        "expr": 'count(ALERTS{alertname="VllmKvCacheSaturated", '
                        'alertstate="firing"}) or vector(0)',
                        "eval_time": "40m",
                        "exp_samples": [{"labels": "{}", "value": 1}],
                    }
                ],
            }
        ],
    }
    test_file = tmp_path / "unit.yaml"
    test_file.write_text(yaml.safe_dump(unit_test, sort_keys=False), encoding="utf-8")
    outcome = promtool("test", "rules", test_file)
    assert outcome.returncode != 0
    assert "FAILED" in outcome.stdout + outcome.stderr


def test_require_promtool_skips_or_fails_without_the_binary(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.delenv("REQUIRE_PROMETHEUS", raising=False)
    with pytest.raises(pytest.skip.Exception):
        require_promtool()
    monkeypatch.setenv("REQUIRE_PROMETHEUS", "1")
    with pytest.raises(pytest.fail.Exception, match="promtool"):
        require_promtool()
