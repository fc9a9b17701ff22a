"""The bundled metric catalog: loads, is consistent, and covers every name the content queries."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

import promql_parser
import pytest

from generator.build import BuildResult, build
from generator.catalog import CATALOG_FILE, Catalog, load_catalog, parse_catalog
from generator.grafana_variables import substitute
from generator.promql_ast import vector_selectors
from generator.settings import (
    ClusterSettings,
    DcgmSettings,
    ExporterSettings,
    Settings,
    VllmSettings,
)

EXPORTERS = ("dcgm-exporter", "vllm", "ray", "node-exporter", "kube-state-metrics", "cadvisor")
ALLOWED_TYPES = {"counter", "gauge", "histogram", "summary", "info", "untyped"}
METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
VLLM_RENAMES = {
    "vllm:gpu_cache_usage_perc": "vllm:kv_cache_usage_perc",
    "vllm:gpu_prefix_cache_hits_total": "vllm:prefix_cache_hits_total",
    "vllm:gpu_prefix_cache_queries_total": "vllm:prefix_cache_queries_total",
    "vllm:time_per_output_token_seconds": "vllm:inter_token_latency_seconds",
}
# Series Prometheus itself produces for every target, not an exporter's metric.
PROMETHEUS_BUILTIN = {"up"}


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


# ---- loading and consistency ---------------------------------------------------------------


def test_bundled_catalog_loads(catalog: Catalog) -> None:
    assert CATALOG_FILE.is_file()
    assert len(catalog) > 100
    assert len(catalog) == len(catalog.metrics)
    assert load_catalog() is catalog  # parsed once per process


@pytest.mark.parametrize("exporter", EXPORTERS)
def test_catalog_has_metrics_of_each_exporter(catalog: Catalog, exporter: str) -> None:
    assert any(m.exporter == exporter for m in catalog.metrics)


def test_every_exporter_is_known(catalog: Catalog) -> None:
    assert {m.exporter for m in catalog.metrics} <= set(EXPORTERS)


def test_types_are_in_the_allowed_set(catalog: Catalog) -> None:
    bad = {m.name: m.type for m in catalog.metrics if m.type not in ALLOWED_TYPES}
    assert bad == {}


def test_names_are_unique(catalog: Catalog) -> None:
    counts = Counter(m.name for m in catalog.metrics)
    assert [name for name, count in counts.items() if count > 1] == []


def test_stored_series_names_are_unique(catalog: Catalog) -> None:
    counts = Counter(s for m in catalog.metrics for s in m.series_names)
    assert [name for name, count in counts.items() if count > 1] == []


def test_names_are_valid_prometheus_metric_names(catalog: Catalog) -> None:
    assert [m.name for m in catalog.metrics if not METRIC_NAME.match(m.name)] == []


def test_every_metric_has_help_text(catalog: Catalog) -> None:
    assert [m.name for m in catalog.metrics if not m.help.strip()] == []


def test_histograms_store_bucket_sum_and_count(catalog: Catalog) -> None:
    histograms = [m for m in catalog.metrics if m.type == "histogram"]
    assert histograms
    for metric in histograms:
        assert metric.series_names == (
            f"{metric.name}_bucket",
            f"{metric.name}_sum",
            f"{metric.name}_count",
        )
        for series in metric.series_names:
            assert series in catalog
            assert catalog.for_series(series) is metric
        assert metric.name not in catalog  # a histogram has no series of its base name


@pytest.mark.parametrize("suffix", ["_bucket", "_sum", "_count"])
def test_for_series_finds_the_histogram(catalog: Catalog, suffix: str) -> None:
    metric = catalog.for_series(f"vllm:time_to_first_token_seconds{suffix}")
    assert metric is not None
    assert metric.name == "vllm:time_to_first_token_seconds"
    assert metric.type == "histogram"
    assert metric.exporter == "vllm"


def test_get_and_for_series_of_gauges_and_unknowns(catalog: Catalog) -> None:
    gauge = catalog.get("DCGM_FI_DEV_GPU_UTIL")
    assert gauge is not None
    assert gauge.type == "gauge"
    assert catalog.for_series("DCGM_FI_DEV_GPU_UTIL") is gauge
    assert catalog.get("vllm:time_to_first_token_seconds_bucket") is None
    assert catalog.get("no_such_metric") is None
    assert catalog.for_series("no_such_metric") is None
    assert "no_such_metric" not in catalog


def test_summaries_store_the_quantile_series_sum_and_count(catalog: Catalog) -> None:
    summaries = [m for m in catalog.metrics if m.type == "summary"]
    for metric in summaries:
        assert metric.series_names == (metric.name, f"{metric.name}_sum", f"{metric.name}_count")


def test_renamed_to_targets_are_in_the_catalog(catalog: Catalog) -> None:
    targets = {m.name: m.renamed_to for m in catalog.metrics if m.renamed_to}
    assert targets
    missing = {
        name: target
        for name, target in targets.items()
        if METRIC_NAME.match(target) and catalog.get(target) is None
    }
    assert missing == {}


@pytest.mark.parametrize(("old", "new"), sorted(VLLM_RENAMES.items()))
def test_vllm_renames_link_both_ways(catalog: Catalog, old: str, new: str) -> None:
    legacy = catalog.get(old)
    current = catalog.get(new)
    assert legacy is not None and current is not None
    assert legacy.renamed_to == new
    assert current.renamed_from == old
    assert legacy.type == current.type
    assert legacy.deprecated_in, f"{old} has no deprecated_in"
    assert legacy.removed_in, f"{old} has no removed_in"
    assert catalog.current_name(old) == new
    assert catalog.current_name(new) == new


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("vllm:gpu_cache_usage_perc", "vllm:kv_cache_usage_perc"),
        ("vllm:time_per_output_token_seconds", "vllm:inter_token_latency_seconds"),
        ("vllm:kv_cache_usage_perc", "vllm:kv_cache_usage_perc"),
        ("dcgm_gpu_utilization", "DCGM_FI_DEV_GPU_UTIL"),
        ("not_in_the_catalog", "not_in_the_catalog"),
    ],
)
def test_current_name(catalog: Catalog, name: str, expected: str) -> None:
    assert catalog.current_name(name) == expected


def test_current_name_follows_chains_and_stops_on_cycles() -> None:
    chain = parse_catalog(
        [
            {"name": "a", "exporter": "x", "type": "gauge", "help": "a", "renamed_to": "b"},
            {"name": "b", "exporter": "x", "type": "gauge", "help": "b", "renamed_to": "c"},
            {"name": "c", "exporter": "x", "type": "gauge", "help": "c"},
            {"name": "p", "exporter": "x", "type": "gauge", "help": "p", "renamed_to": "q"},
            {"name": "q", "exporter": "x", "type": "gauge", "help": "q", "renamed_to": "p"},
        ]
    )
    assert chain.current_name("a") == "c"
    assert chain.current_name("p") in {"p", "q"}


def test_parse_catalog_turns_lists_into_tuples() -> None:
    parsed = parse_catalog(
        [{"name": "m", "exporter": "x", "type": "counter", "help": "h", "labels": ["a", "b"]}]
    )
    metric = parsed.get("m")
    assert metric is not None
    assert metric.labels == ("a", "b")
    assert metric.series_names == ("m",)


# ---- every name the bundled content uses is in the catalog ---------------------------------


def metric_names(expr: str) -> set[str]:
    selectors = vector_selectors(promql_parser.parse(expr))
    assert all(s.name for s in selectors), f"selector without a metric name in {expr!r}"
    return {s.name for s in selectors}


def test_walk_finds_names_in_every_kind_of_node() -> None:
    expr = (
        'histogram_quantile(0.9, sum by (le) (rate(a_bucket{x="1"}[5m]))) '
        "or -max(b) + on (x) c offset 5m and vector(1) unless max_over_time(d[5m:1m]) "
        "or topk(3, e) or (f)"
    )
    assert metric_names(expr) == {"a_bucket", "b", "c", "d", "e", "f"}


def settings_variants() -> dict[str, Settings]:
    base = Settings()
    variants = {"defaults": base}
    for naming in ("current", "legacy", "either"):
        for prefix in ("vllm:", "ray_vllm:", "ray_vllm_"):
            variants[f"{naming}-{prefix}"] = Settings(
                cluster=ClusterSettings(enabled=True),
                exporters=ExporterSettings(
                    vllm=VllmSettings(prefix=prefix, naming=naming),  # type: ignore[arg-type]
                    dcgm=DcgmSettings(pod_label="pod"),
                ),
            )
    return variants


VARIANTS = settings_variants()


@pytest.fixture(scope="module", params=sorted(VARIANTS))
def variant_build(request: pytest.FixtureRequest) -> tuple[Settings, BuildResult]:
    settings = VARIANTS[request.param]
    return settings, build(settings)


def content_names(result: BuildResult) -> Iterator[tuple[str, str]]:
    """(where, metric name) for every selector in every dashboard query and rule."""
    for artifact in result.artifacts:
        if artifact.kind == "dashboard":
            for panel in all_panels(artifact.document["panels"]):
                for target in panel.get("targets", []):
                    for name in metric_names(substitute(target["expr"])):
                        yield f"{artifact.path}: {panel['title']}", name
            for variable in artifact.document["templating"]["list"]:
                query = variable.get("query", "")
                if variable["type"] == "query" and query.startswith("label_values("):
                    selector = query[len("label_values(") : query.rindex(",")]
                    for name in metric_names(substitute(selector)):
                        yield f"{artifact.path}: variable {variable['name']}", name
        elif artifact.kind == "rules":
            for group in artifact.document["groups"]:
                for rule in group["rules"]:
                    rule_name = rule.get("alert") or rule.get("record")
                    for name in metric_names(rule["expr"]):
                        yield f"{artifact.path}: {rule_name}", name


def all_panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from all_panels(panel.get("panels", []))


def recorded_names(result: BuildResult) -> set[str]:
    return {
        rule["record"]
        for artifact in result.artifacts
        if artifact.kind == "rules"
        for group in artifact.document["groups"]
        for rule in group["rules"]
        if "record" in rule
    }


def test_every_name_used_by_the_bundled_content_is_in_the_catalog(
    catalog: Catalog, variant_build: tuple[Settings, BuildResult]
) -> None:
    settings, result = variant_build
    prefix = settings.exporters.vllm.prefix
    recorded = recorded_names(result)
    used = list(content_names(result))
    assert used
    unknown = []
    for where, name in used:
        if name in recorded or name in PROMETHEUS_BUILTIN:
            continue
        catalog_name = "vllm:" + name[len(prefix) :] if name.startswith(prefix) else name
        if catalog_name not in catalog:
            unknown.append(f"{where}: {name}")
    assert unknown == []


def test_content_uses_every_exporter_family_it_promises(
    variant_build: tuple[Settings, BuildResult], catalog: Catalog
) -> None:
    settings, result = variant_build
    prefix = settings.exporters.vllm.prefix
    exporters = set()
    for _, name in content_names(result):
        catalog_name = "vllm:" + name[len(prefix) :] if name.startswith(prefix) else name
        metric = catalog.for_series(catalog_name)
        if metric is not None:
            exporters.add(metric.exporter)
    assert {"dcgm-exporter", "vllm", "node-exporter", "cadvisor", "kube-state-metrics"} <= (
        exporters
    )


def test_recording_rules_follow_the_level_metric_operation_convention(
    variant_build: tuple[Settings, BuildResult], catalog: Catalog
) -> None:
    _, result = variant_build
    for name in recorded_names(result):
        assert METRIC_NAME.match(name)
        assert name.count(":") == 2, name
        assert name not in catalog  # a recorded series must never shadow an exporter metric


def test_latency_histograms_know_their_bucket_bounds_per_engine(catalog: Catalog) -> None:
    """The SLO counts a request as good in the bucket le=target, so settings check targets
    against these bounds: ascending, and V0's (before vLLM 0.8) where they were shorter."""
    histograms = [m for m in catalog.metrics if m.buckets]
    assert {m.name for m in histograms} >= {
        "vllm:time_to_first_token_seconds",
        "vllm:e2e_request_latency_seconds",
        "vllm:inter_token_latency_seconds",
    }
    for metric in histograms:
        assert metric.type == "histogram"
        for bounds in (metric.buckets, metric.buckets_v0):
            assert list(bounds) == sorted(set(bounds)), metric.name
        assert metric.bucket_bounds("0.11") == metric.buckets
    ttft = catalog.get("vllm:time_to_first_token_seconds")
    assert ttft is not None
    assert ttft.bucket_bounds("0.7.3")[-1] == 10.0  # V0 quantiles saturate at 10 s
    assert ttft.bucket_bounds("0.8")[-1] == 2560.0
