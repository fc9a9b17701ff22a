"""The Inference dashboard follows the settings: rows per serving stack, targets, SLO objective
and metric names per vLLM prefix and naming generation, read from the rendered JSON."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from alerts import inference as inference_rules
from dashboards import inference
from generator.render.dashboards import render_dashboard
from generator.rules import RecordingRule
from generator.settings import ExporterSettings, Settings, SloSettings, Thresholds, VllmSettings


def rendered(settings: Settings) -> dict[str, Any]:
    return render_dashboard(inference.build(settings), "dashboards/inference.py")


def recording_rules(settings: Settings) -> dict[str, str]:
    """The expression of every recording rule of alerts/inference.py, by the name it records."""
    group = inference_rules.build(settings)
    return {r.record: r.expr for r in group.rules if isinstance(r, RecordingRule)}


def with_vllm(prefix: str, naming: str = "current") -> Settings:
    vllm = VllmSettings(prefix=prefix, naming=naming)  # type: ignore[arg-type]
    return dataclasses.replace(Settings(), exporters=ExporterSettings(vllm=vllm))


def panels_by_title(dashboard: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["title"]: p for p in dashboard["panels"] if p["type"] != "row"}


def rows(dashboard: dict[str, Any]) -> list[str]:
    return [p["title"] for p in dashboard["panels"] if p["type"] == "row"]


@pytest.mark.parametrize(
    ("prefix", "has_serve_row"), [("vllm:", False), ("ray_vllm:", True), ("ray_vllm_", True)]
)
def test_ray_serve_row_only_where_vllm_runs_in_ray_serve(prefix: str, has_serve_row: bool) -> None:
    dashboard = rendered(with_vllm(prefix))
    assert ("Ray Serve" in rows(dashboard)) is has_serve_row
    serve_queries = [
        t["expr"]
        for p in dashboard["panels"]
        for t in p.get("targets", [])
        if "ray_serve_" in t["expr"]
    ]
    assert bool(serve_queries) is has_serve_row
    assert len(panels_by_title(dashboard)) >= (25 if has_serve_row else 20)


@pytest.mark.parametrize(
    ("prefix", "naming", "kv_cache_names"),
    [
        ("vllm:", "current", ["vllm:kv_cache_usage_perc"]),
        ("ray_vllm_", "legacy", ["ray_vllm_gpu_cache_usage_perc"]),
        ("ray_vllm:", "either", ["ray_vllm:kv_cache_usage_perc", "ray_vllm:gpu_cache_usage_perc"]),
    ],
)
def test_kv_cache_panel_uses_the_configured_names(
    prefix: str, naming: str, kv_cache_names: list[str]
) -> None:
    panel = panels_by_title(rendered(with_vllm(prefix, naming)))["KV-cache usage per replica"]
    (expr,) = [t["expr"] for t in panel["targets"]]
    assert [name for name in kv_cache_names if name + "{" in expr] == kv_cache_names
    assert "by (model_name, pod)" in expr


def test_slo_panels_follow_targets_and_objective() -> None:
    settings = dataclasses.replace(
        Settings(),
        thresholds=Thresholds(ttft_target_seconds=5.0, e2e_target_seconds=60.0),
        slo=SloSettings(objective=0.995),
    )
    panels = panels_by_title(rendered(settings))
    within = panels["Requests within latency targets"]
    ttft, e2e = (t["expr"] for t in within["targets"])
    # The panel reads the SLO's recorded rates; their rules select the bucket at the target.
    assert "model:vllm_ttft_requests_within_target:rate5m{" in ttft
    assert "model:vllm_e2e_requests_within_target:rate5m{" in e2e
    rules = recording_rules(settings)
    assert 'le=~"5(\\\\.0)?"' in rules["model:vllm_ttft_requests_within_target:rate5m"]
    assert 'le=~"60(\\\\.0)?"' in rules["model:vllm_e2e_requests_within_target:rate5m"]
    steps = within["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert [s["value"] for s in steps if s["color"] == "red"] == [0.995]
    budget = panels["Error budget remaining"]
    assert all(t["instant"] for t in budget["targets"])
    assert all(
        "[$__range]" in t["expr"] and t["expr"].endswith("/ 0.005") for t in budget["targets"]
    )
    time_to_first_token = panels["Time to first token"]["fieldConfig"]["defaults"]
    assert [s["value"] for s in time_to_first_token["thresholds"]["steps"][1:]] == [5.0]


@pytest.mark.parametrize(
    ("prefix", "naming", "bucket_names"),
    [
        ("vllm:", "current", ["vllm:inter_token_latency_seconds_bucket"]),
        ("ray_vllm_", "legacy", ["ray_vllm_time_per_output_token_seconds_bucket"]),
        (
            "ray_vllm:",
            "either",
            [
                "ray_vllm:inter_token_latency_seconds_bucket",
                "ray_vllm:time_per_output_token_seconds_bucket",
            ],
        ),
    ],
)
def test_latency_panels_read_the_recorded_bucket_rates_of_the_configured_names(
    prefix: str, naming: str, bucket_names: list[str]
) -> None:
    settings = with_vllm(prefix, naming)
    panel = panels_by_title(rendered(settings))["Inter-token latency"]
    record = "model:vllm_inter_token_latency_seconds_bucket:rate5m"
    quantiles = [t["expr"] for t in panel["targets"]]
    assert len(quantiles) == 3
    assert all(e.startswith("histogram_quantile(") and record + "{" in e for e in quantiles)
    assert record in panel["description"]
    # Whatever the exporter's names (both generations or-joined), the rule writes the one
    # series the panel reads.
    rule = recording_rules(settings)[record]
    assert [name for name in bucket_names if name + "[5m]" in rule] == bucket_names
    assert rule.count(" or ") == len(bucket_names) - 1
    assert "by (le, namespace, model_name)" in rule


def test_replica_ttft_panel_reads_the_recorded_p99() -> None:
    settings = Settings()
    panel = panels_by_title(rendered(settings))["Time to first token p99 per replica"]
    (per_replica,) = panel["targets"]
    record = "replica:vllm_time_to_first_token_seconds:p99_rate5m"
    assert record + "{" in per_replica["expr"] and record in panel["description"]
    assert recording_rules(settings)[record].startswith("histogram_quantile(0.99, ")
