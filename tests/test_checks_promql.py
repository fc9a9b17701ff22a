"""The promql/ checks, table-driven through validate_documents on small in-memory documents.

Each case names the check it is about; problems of other checks are filtered out, so a case
only says what its own check reports.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from generator.build import build
from generator.checks.base import parse_expression
from generator.checks.documents import Document, read_paths
from generator.checks.expressions import Expression
from generator.checks.problem import Problem
from generator.checks.promql import CHECKS
from generator.checks.promql._analysis import analyse
from generator.checks.runner import validate_documents
from generator.promql_ast import walk
from generator.settings import Settings

FIXTURES = Path(__file__).parent / "fixtures" / "reference-faults"
ANCHORS = Path("/work/shared/reference/anchors")
DEFAULTS = Settings()
E2E = "vllm:e2e_request_latency_seconds_bucket"
E2E_RATE = f"rate({E2E}[$__rate_interval])"
OLD_ITL = "vllm:time_per_output_token_seconds_bucket"
REMOVED_OR_DEPRECATED = {"promql/removed-metric", "promql/deprecated-metric"}
REFERENCE_FAULTS = (
    "vllm:gpu_cache_usage_perc",
    "vllm:cpu_cache_usage_perc",
    "vllm:num_requests_swapped",
    "vllm:time_per_output_token_seconds_bucket",
    "vllm:time_per_output_token_seconds_sum",
    "vllm:time_per_output_token_seconds_count",
)


def with_vllm(**changes: Any) -> Settings:
    return replace(
        DEFAULTS,
        exporters=replace(DEFAULTS.exporters, vllm=replace(DEFAULTS.exporters.vllm, **changes)),
    )


def with_dcgm(**changes: Any) -> Settings:
    return replace(
        DEFAULTS,
        exporters=replace(DEFAULTS.exporters, dcgm=replace(DEFAULTS.exporters.dcgm, **changes)),
    )


def with_prometheus(**changes: Any) -> Settings:
    return replace(DEFAULTS, prometheus=replace(DEFAULTS.prometheus, **changes))


def panel(expr: str, legend: str = "") -> list[Document]:
    """A one-panel, one-target dashboard."""
    target = {"refId": "A", "expr": expr, "legendFormat": legend}
    model = {"title": "T", "panels": [{"title": "P", "type": "timeseries", "targets": [target]}]}
    return [Document("dashboard", "dashboard.json", model)]


def alert(
    expr: str, annotations: dict[str, str] | None = None, *records: tuple[str, str]
) -> list[Document]:
    """A rule file with one alert (and recording rules before it)."""
    rules: list[dict[str, Any]] = [{"record": name, "expr": e} for name, e in records]
    rules.append(
        {
            "alert": "A",
            "expr": expr,
            "for": "5m",
            "labels": {"severity": "warning"},
            "annotations": annotations or {"summary": "s", "description": "d"},
        }
    )
    return [Document("rules", "rules.yaml", {"groups": [{"name": "g", "rules": rules}]})]


@dataclass(frozen=True)
class Case:
    check: str
    documents: list[Document]
    expected: int = 1  # problems of `check`
    words: tuple[str, ...] = ()  # in the message or hint of the first problem
    settings: Settings = field(default=DEFAULTS)

    def __str__(self) -> str:
        return self.check


def problems(case: Case) -> list[Problem]:
    found = validate_documents(case.documents, case.settings)
    return [p for p in found if p.check == case.check]


SEVERITY = {check.id: check.severity for check in CHECKS}

TRIGGERED = [
    # promql/unknown-metric
    Case(
        "promql/unknown-metric",
        panel("sum(rate(vllm:prompt_token_total[$__rate_interval]))"),
        words=("not in the metric catalog", "did you mean 'vllm:prompt_tokens_total'"),
    ),
    Case(
        "promql/unknown-metric",
        panel("sum(ray_vllm_num_request_running)"),
        words=("did you mean 'ray_vllm_num_requests_running'",),
    ),
    Case("promql/unknown-metric", alert("nvidia_gpu_temperature_celsius > 80"), words=("catalog",)),
    # promql/removed-metric
    Case(
        "promql/removed-metric",
        panel("sum(vllm:num_requests_swapped)"),
        words=("vllm:num_requests_swapped", "removed in vLLM 0.11"),
    ),
    Case(
        "promql/removed-metric",
        panel("max(vllm:gpu_cache_usage_perc)"),
        words=("removed in vLLM 0.12", "vllm:kv_cache_usage_perc", "exporters.vllm.naming"),
        settings=with_vllm(version="0.12"),
    ),
    Case(
        "promql/removed-metric",
        alert("rate(DCGM_FI_DEV_PCIE_RX_THROUGHPUT[5m]) > 0"),
        words=("dcgm-exporter 3.3.7", "DCGM_FI_PROF_PCIE_RX_BYTES"),
    ),
    Case(
        "promql/removed-metric",
        panel("sum(kube_pod_container_resource_requests_cpu_cores)"),
        words=("no version in settings", "kube_pod_container_resource_requests"),
    ),
    Case(  # the old name alone, even though an `or` is elsewhere in the query
        "promql/removed-metric",
        panel("max(vllm:cpu_cache_usage_perc) or max(vllm:num_requests_running)"),
        words=("vllm:cpu_cache_usage_perc",),
    ),
    # promql/deprecated-metric
    Case(
        "promql/deprecated-metric",
        panel("max by (model_name) (vllm:gpu_cache_usage_perc)"),
        words=("deprecated since vLLM 0.9.2", "'vllm:kv_cache_usage_perc'", "naming: either"),
    ),
    Case(
        "promql/deprecated-metric",
        panel(f"histogram_quantile(0.9, sum by (le) (rate({OLD_ITL}[$__rate_interval])))"),
        words=("'vllm:inter_token_latency_seconds_bucket'",),
    ),
    Case(
        "promql/deprecated-metric",
        panel("max(ray_vllm_gpu_cache_usage_perc)"),
        words=("'ray_vllm_kv_cache_usage_perc'",),
        settings=with_vllm(prefix="ray_vllm_"),
    ),
    Case(
        "promql/deprecated-metric",
        panel("max(vllm:gpu_cache_usage_perc) or max(vllm:num_requests_running)"),
        words=("vllm:gpu_cache_usage_perc",),
    ),
    # promql/rate-on-gauge
    Case(
        "promql/rate-on-gauge",
        alert("rate(DCGM_FI_DEV_XID_ERRORS[5m]) > 0"),
        words=("rate()", "DCGM_FI_DEV_XID_ERRORS", "gauge"),
    ),
    Case(
        "promql/rate-on-gauge",
        panel("increase(vllm:num_requests_running[$__rate_interval])"),
        words=("increase()", "gauge"),
    ),
    Case(
        "promql/rate-on-gauge",
        panel("delta(vllm:prompt_tokens_total[$__rate_interval])"),
        words=("delta()", "counter", "rate()"),
    ),
    Case(
        "promql/rate-on-gauge",
        alert("deriv(vllm:e2e_request_latency_seconds_bucket[10m]) > 0"),
        words=("deriv()", "histogram bucket counter"),
    ),
    # promql/counter-without-rate
    Case(
        "promql/counter-without-rate",
        panel("sum(vllm:prompt_tokens_total)"),
        words=(
            "counter 'vllm:prompt_tokens_total'",
            "rate(vllm:prompt_tokens_total[$__rate_interval])",
        ),
    ),
    Case(
        "promql/counter-without-rate",
        alert("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION > 1e9"),
        words=("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", "[5m]"),
    ),
    Case(
        "promql/counter-without-rate",
        panel("histogram_quantile(0.9, sum by (le) (vllm:e2e_request_latency_seconds_bucket))"),
        words=("histogram bucket counter",),
    ),
    # promql/histogram-quantile
    Case(
        "promql/histogram-quantile",
        panel(f"histogram_quantile(0.9, sum by (model_name) ({E2E_RATE}))"),
        words=("needs the le label", "sum by (model_name)", "keep le"),
    ),
    Case(
        "promql/histogram-quantile",
        alert(
            "histogram_quantile(0.9, sum(rate(vllm:e2e_request_latency_seconds_bucket[5m]))) > 1"
        ),
        words=("`sum(...)`",),
    ),
    Case(
        "promql/histogram-quantile",
        alert(f"histogram_quantile(0.9, sum without (le) (rate({E2E}[5m]))) > 1"),
        words=("without (le)",),
    ),
    Case(
        "promql/histogram-quantile",
        alert("histogram_quantile(0.9, rate(x_bucket[5m]) / on (job) rate(x_count[5m])) > 1"),
        words=("on (job)",),
    ),
    Case(
        "promql/histogram-quantile",
        panel(f"histogram_quantile(99, sum by (le) ({E2E_RATE}))"),
        words=("quantile 99 is outside [0, 1]", "0.99"),
    ),
    Case(
        "promql/histogram-quantile",
        panel("histogram_quantile(0.9, sum by (le) (rate(vllm:prompt_tokens_total[5m])))"),
        words=("'vllm:prompt_tokens_total', a counter", "_bucket"),
    ),
    Case(
        "promql/histogram-quantile",
        panel(
            "histogram_quantile(0.5, sum by (le) (rate(vllm:e2e_request_latency_seconds_sum[5m])))"
        ),
        words=("vllm:e2e_request_latency_seconds_bucket",),
    ),
    # promql/rate-interval
    Case(
        "promql/rate-interval",
        panel("sum(rate(vllm:prompt_tokens_total[5m]))"),
        words=("fixed window [5m]", "$__rate_interval"),
    ),
    Case(
        "promql/rate-interval",
        panel("max_over_time(vllm:num_requests_waiting[1h])"),
        words=("max_over_time()", "[1h]"),
    ),
    Case(
        "promql/rate-interval",
        panel("sum(irate(vllm:prompt_tokens_total[$__interval]))"),
        words=("$__interval", "shorter than two scrapes"),
    ),
    Case(
        "promql/rate-interval",
        alert("sum(rate(vllm:prompt_tokens_total[1m])) > 0"),
        words=("[1m]", "four scrape intervals", "[2m]"),
    ),
    Case(
        "promql/rate-interval",
        alert("sum(rate(vllm:prompt_tokens_total[3m])) > 0"),
        words=("[4m]",),
        settings=with_prometheus(scrape_interval="1m"),
    ),
    # promql/lost-label
    Case(
        "promql/lost-label",
        panel("sum by (model_name) (rate(vllm:prompt_tokens_total[$__rate_interval]))", "{{pod}}"),
        words=("'pod'", "has model_name", "by (...)"),
    ),
    Case(
        "promql/lost-label",
        panel("sum(vllm:num_requests_running)", "{{instance}} {{ job }}"),
        words=("'instance', 'job'", "no labels"),
    ),
    Case(
        "promql/lost-label",
        panel("sum without (pod) (vllm:num_requests_running)", "{{pod}}"),
        words=("every label except pod",),
    ),
    Case(
        "promql/lost-label",
        panel(
            f"histogram_quantile(0.9, sum by (le, model_name) ({E2E_RATE}))",
            "{{model_name}} {{le}}",
        ),
        words=("'le'",),
    ),
    Case(
        "promql/lost-label",
        panel("vllm:num_requests_running / on (model_name) vllm:num_requests_waiting", "{{pod}}"),
        words=("'pod'",),
    ),
    # promql/target-version
    Case(
        "promql/target-version",
        panel("histogram_avg(rate(x[$__rate_interval]))"),
        words=("histogram_avg()", "2.50", "target is 2.42"),
    ),
    Case(
        "promql/target-version",
        alert("limitk(1, up) > 0"),
        words=("limitk", "2.54", "--enable-feature=promql-experimental-functions"),
    ),
    Case(
        "promql/target-version",
        panel('sort_by_label(up, "job")'),
        words=("sort_by_label()", "2.49"),
    ),
    Case(
        "promql/target-version",
        alert("double_exponential_smoothing(up[10m], 0.5, 0.5) > 0"),
        words=("3.0",),
        settings=with_prometheus(version="2.55"),
    ),
    Case("promql/target-version", panel('{"my.metric"}'), words=("UTF-8", "3.0")),
    Case("promql/target-version", panel('sum by ("k8s.pod") (up)'), words=("UTF-8",)),
    Case("promql/target-version", panel("up + fill(0) up"), words=("fill()", "3.10")),
    Case(
        "promql/target-version",
        panel('up{job="a" or job="b"}'),
        words=("not PromQL", "regex"),
        settings=with_prometheus(version="3.5"),
    ),
    Case(
        "promql/target-version",
        alert("holt_winters(up[10m], 0.5, 0.5) > 0"),
        words=("removed in Prometheus 3.0", "double_exponential_smoothing"),
        settings=with_prometheus(version="3.0"),
    ),
    Case(
        "promql/target-version",
        alert("up @ 1700000000 > 0"),
        words=("@ modifier", "2.25", "promql-at-modifier before 2.33"),
        settings=with_prometheus(version="2.20"),
    ),
]

CLEAN = [
    # promql/unknown-metric
    Case("promql/unknown-metric", panel("sum(ray_vllm:num_requests_running)")),
    Case("promql/unknown-metric", panel("sum(ray_vllm_num_requests_running)")),
    Case("promql/unknown-metric", alert('up == 0 or ALERTS{alertstate="firing"} > 0')),
    Case("promql/unknown-metric", panel('count({__name__=~"vllm:.*"})')),
    Case("promql/unknown-metric", panel("sum(${metric}_total)")),
    Case("promql/unknown-metric", panel("sum(ray_serve_num_http_requests)")),  # pre-2.10 Ray
    Case(
        "promql/unknown-metric",
        alert(
            "team:gpu_busy:ratio > 0.9", None, ("team:gpu_busy:ratio", "avg(DCGM_FI_DEV_GPU_UTIL)")
        ),
    ),
    # promql/removed-metric and promql/deprecated-metric
    Case(
        "promql/deprecated-metric",
        panel("((max(vllm:kv_cache_usage_perc)) or (max(vllm:gpu_cache_usage_perc)))"),
    ),
    Case(
        "promql/deprecated-metric",
        panel(
            "histogram_quantile(0.9, ("
            "(sum by (le) (rate(ray_vllm_inter_token_latency_seconds_bucket[5m]))) or "
            "(sum by (le) (rate(ray_vllm_time_per_output_token_seconds_bucket[5m])))))"
        ),
    ),
    Case(
        "promql/deprecated-metric",
        panel("max(vllm:gpu_cache_usage_perc)"),
        settings=with_vllm(naming="legacy"),
    ),
    Case(
        "promql/deprecated-metric",
        panel("max(vllm:gpu_cache_usage_perc)"),
        settings=with_vllm(version="0.9.1"),
    ),
    Case(
        "promql/deprecated-metric",
        panel("max(vllm:gpu_cache_usage_perc)"),
        settings=with_vllm(version="0.12"),
    ),
    Case("promql/removed-metric", panel("max(vllm:gpu_cache_usage_perc)")),
    Case(
        "promql/removed-metric",
        panel("sum(vllm:num_requests_swapped)"),
        settings=with_vllm(version="0.10"),
    ),
    Case(
        "promql/removed-metric",
        panel("max(vllm:gpu_cache_usage_perc) or max(vllm:kv_cache_usage_perc)"),
        settings=with_vllm(version="0.12"),
    ),
    Case(
        "promql/removed-metric",
        alert("rate(DCGM_FI_DEV_PCIE_RX_THROUGHPUT[5m]) > 0"),
        settings=with_dcgm(version="3.3.6"),
    ),
    # promql/rate-on-gauge
    Case("promql/rate-on-gauge", alert("rate(DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION[5m]) > 0")),
    Case(
        "promql/rate-on-gauge",
        panel("sum by (le) (rate(vllm:e2e_request_latency_seconds_bucket[$__rate_interval]))"),
    ),
    Case("promql/rate-on-gauge", panel("deriv(DCGM_FI_DEV_GPU_TEMP[$__rate_interval])")),
    Case("promql/rate-on-gauge", panel("changes(DCGM_FI_DEV_XID_ERRORS[$__rate_interval])")),
    Case("promql/rate-on-gauge", panel("rate(some_unknown_total[$__rate_interval])")),
    # promql/counter-without-rate
    Case(
        "promql/counter-without-rate",
        panel("sum(rate(vllm:prompt_tokens_total[$__rate_interval]))"),
    ),
    Case("promql/counter-without-rate", alert("absent(vllm:prompt_tokens_total)")),
    Case("promql/counter-without-rate", panel("count by (model_name) (vllm:prompt_tokens_total)")),
    Case("promql/counter-without-rate", panel("max_over_time(vllm:prompt_tokens_total[$__range])")),
    Case("promql/counter-without-rate", panel("rate(sum(vllm:prompt_tokens_total)[5m:])")),
    Case(
        "promql/counter-without-rate",
        panel("vllm:num_requests_running and on (model_name) vllm:prompt_tokens_total"),
    ),
    Case("promql/counter-without-rate", alert("DCGM_FI_DEV_XID_ERRORS > 0")),
    # promql/histogram-quantile
    Case(
        "promql/histogram-quantile",
        panel(f"histogram_quantile(0.99, sum by (le, model_name) ({E2E_RATE}))"),
        expected=0,
    ),
    Case(
        "promql/histogram-quantile",
        panel(f"histogram_quantile(1, sum without (pod) ({E2E_RATE}))"),
        expected=0,
    ),
    Case(
        "promql/histogram-quantile",
        alert(
            "histogram_quantile(0.9, job:latency_bucket:rate5m) > 1",
            None,
            (
                "job:latency_bucket:rate5m",
                "sum by (le, job) (rate(vllm:e2e_request_latency_seconds_bucket[5m]))",
            ),
        ),
        expected=0,
    ),
    Case(
        "promql/histogram-quantile",
        alert(
            "histogram_quantile(0.9, rate(x_bucket[5m]) / on (job) group_left "
            "sum by (job) (rate(x_count[5m]))) > 1"
        ),
    ),
    # promql/rate-interval
    Case("promql/rate-interval", panel("sum(rate(vllm:prompt_tokens_total[$__rate_interval]))")),
    Case("promql/rate-interval", panel("sum(rate(vllm:prompt_tokens_total[${__rate_interval}]))")),
    Case("promql/rate-interval", panel("sum(increase(vllm:prompt_tokens_total[$__range]))")),
    Case("promql/rate-interval", panel("avg_over_time(vllm:num_requests_running[$__interval])")),
    Case("promql/rate-interval", panel("sum(rate(vllm:prompt_tokens_total[$window]))")),
    Case(
        "promql/rate-interval",
        panel("max_over_time(sum(rate(vllm:prompt_tokens_total[$__rate_interval]))[1h:])"),
    ),
    Case("promql/rate-interval", panel('sum(rate(x{path=~"/a[0-9]"}[$__rate_interval]))')),
    Case("promql/rate-interval", alert("sum(rate(vllm:prompt_tokens_total[2m])) > 0")),
    Case(
        "promql/rate-interval",
        alert("sum(rate(vllm:prompt_tokens_total[1m])) > 0"),
        settings=with_prometheus(scrape_interval="15s"),
    ),
    # promql/lost-label
    # alert templates belong to alert/template, so one fault is reported once
    Case(
        "promql/lost-label",
        alert(
            "max by (namespace) (vllm:kv_cache_usage_perc) > 0.9",
            {"summary": "{{ $labels.pod }} in {{ $labels.namespace }}", "description": "d"},
        ),
    ),
    Case(
        "promql/lost-label",
        alert(
            "job:kv:max > 0.9",
            {"summary": "{{ .Labels.instance }}", "description": "d"},
            ("job:kv:max", "max by (job) (vllm:kv_cache_usage_perc)"),
        ),
    ),
    Case(
        "promql/lost-label",
        panel(
            "sum by (le) (increase(vllm:request_prompt_tokens_bucket[$__rate_interval]))", "{{le}}"
        ),
    ),
    Case("promql/lost-label", panel("sum(vllm:num_requests_running)", "__auto")),
    Case("promql/lost-label", panel("sum(vllm:num_requests_running)", "{{__name__}} total")),
    Case("promql/lost-label", panel("vllm:num_requests_running", "{{pod}}")),
    Case(
        "promql/lost-label",
        panel(
            'label_replace(sum by (pod) (up), "exported_pod", "$1", "pod", "(.+)")',
            "{{exported_pod}} {{pod}}",
        ),
    ),
    Case(
        "promql/lost-label",
        panel('count_values("version", vllm:num_requests_running)', "{{version}}"),
    ),
    Case(
        "promql/lost-label",
        panel(
            "sum by (instance) (up) * on (instance) group_left (nodename) node_uname_info",
            "{{nodename}}",
        ),
    ),
    Case("promql/lost-label", panel("sum by (a) (up) or sum by (b) (up)", "{{a}} {{b}}")),
    Case("promql/lost-label", panel("sum by (job) (up) > 0", "{{job}}")),
    Case(
        "promql/lost-label",
        alert(
            "max by (pod) (vllm:kv_cache_usage_perc) > 0.9",
            {
                "summary": "{{ $labels.pod }}",
                "description": '{{ range query "up" }}{{ .Labels.instance }}{{ end }}',
            },
        ),
    ),
    Case(
        "promql/lost-label",
        alert(
            'absent(up{job="vllm"})', {"summary": "{{ $labels.job }} is gone", "description": "d"}
        ),
    ),
    # promql/target-version
    Case("promql/target-version", alert("holt_winters(up[10m], 0.5, 0.5) > 0")),
    Case("promql/target-version", panel("present_over_time(up[$__rate_interval])")),
    Case(
        "promql/target-version",
        panel("histogram_avg(rate(x[$__rate_interval]))"),
        settings=with_prometheus(version="3.0"),
    ),
    Case("promql/target-version", panel('{__name__="my_metric"}')),
    Case("promql/target-version", panel('label_replace(up, "dst", "$1", "instance", "(.*)")')),
    Case("promql/target-version", alert("up @ 1700000000 offset -5m > 0")),
]
for index, clean in enumerate(CLEAN):
    CLEAN[index] = replace(clean, expected=0)


@pytest.mark.parametrize("case", TRIGGERED, ids=[f"{c.check}-{i}" for i, c in enumerate(TRIGGERED)])
def test_check_reports(case: Case) -> None:
    found = problems(case)
    assert len(found) == case.expected, [p.describe() for p in found]
    if not found:
        return
    problem = found[0]
    assert problem.severity == SEVERITY[case.check]
    assert problem.docs == f"docs/checks.md#{case.check.replace('/', '')}"
    text = f"{problem.message} {problem.hint}"
    for word in case.words:
        assert word in text, text
    assert problem.location.get("dashboard") == "T" or problem.location.get("rule") == "A"


@pytest.mark.parametrize("case", CLEAN, ids=[f"{c.check}-{i}" for i, c in enumerate(CLEAN)])
def test_check_stays_quiet(case: Case) -> None:
    found = problems(case)
    assert found == [], [p.describe() for p in found]


def test_every_check_has_cases_both_ways() -> None:
    ids = [check.id for check in CHECKS]
    assert ids == [
        "promql/unknown-metric",
        "promql/removed-metric",
        "promql/deprecated-metric",
        "promql/rate-on-gauge",
        "promql/counter-without-rate",
        "promql/histogram-quantile",
        "promql/rate-interval",
        "promql/lost-label",
        "promql/target-version",
    ]
    for check_id in ids:
        assert any(c.check == check_id and c.expected for c in TRIGGERED), check_id
        assert any(c.check == check_id for c in CLEAN), check_id


def test_a_removed_metric_is_not_also_deprecated() -> None:
    documents = panel("max(vllm:gpu_cache_usage_perc)")
    found = validate_documents(documents, with_vllm(version="0.12"))
    assert [p.check for p in found if p.check in REMOVED_OR_DEPRECATED] == ["promql/removed-metric"]


def test_one_problem_per_name_per_expression() -> None:
    documents = panel("sum(vllm:num_requests_swapped) / count(vllm:num_requests_swapped)")
    found = validate_documents(documents, DEFAULTS)
    assert len([p for p in found if p.check == "promql/removed-metric"]) == 1


def test_unparsable_and_deeply_nested_expressions_do_not_break_the_checks() -> None:
    # As deep as the framework parses (it refuses more than 256 operators and brackets).
    deep = "(" * 120 + "sum(vllm:prompt_tokens_total)" + ")" * 120
    chain = " + ".join(["rate(vllm:num_requests_running[5m])"] * 40)
    documents = [*panel("sum(rate(x[5m]"), *panel(deep), *alert(chain + " > 0")]
    found = validate_documents(documents, DEFAULTS)
    assert not [p for p in found if p.check == "obsgen/internal"], found
    checks = {p.check for p in found}
    assert {"promql/counter-without-rate", "promql/rate-on-gauge"} <= checks


VARIANTS = {
    "defaults": DEFAULTS,
    "naming either": with_vllm(naming="either"),
    "naming legacy": with_vllm(naming="legacy"),
    "prefix ray_vllm_": with_vllm(prefix="ray_vllm_"),
    "prefix ray_vllm:": with_vllm(prefix="ray_vllm:"),
    "either with ray_vllm_": with_vllm(naming="either", prefix="ray_vllm_"),
    "dcgm pod": with_dcgm(pod_label="pod"),
    "dcgm pod_name": with_dcgm(pod_label="pod_name"),
    "cluster": replace(DEFAULTS, cluster=replace(DEFAULTS.cluster, enabled=True)),
}


@pytest.mark.parametrize("settings", VARIANTS.values(), ids=VARIANTS.keys())
def test_bundled_content_has_no_problem(settings: Settings) -> None:
    result = build(settings)
    assert result.problems == [], [p.describe() for p in result.problems]


def _reported_names(found: list[Problem]) -> set[str]:
    return {p.message.split("'")[1] for p in found if p.check in REMOVED_OR_DEPRECATED}


def test_fixture_with_removed_vllm_metrics_is_reported() -> None:
    documents, unreadable = read_paths([FIXTURES / "inference-removed-metrics.json"])
    assert unreadable == [] and len(documents) == 1
    found = validate_documents(documents, DEFAULTS)
    assert _reported_names(found) == set(REFERENCE_FAULTS)
    removed = {p.message.split("'")[1] for p in found if p.check == "promql/removed-metric"}
    assert removed == {"vllm:cpu_cache_usage_perc", "vllm:num_requests_swapped"}


@pytest.mark.skipif(not ANCHORS.is_dir(), reason=f"{ANCHORS} (outside the repository) is absent")
def test_reference_dashboards_removed_vllm_metrics_are_reported() -> None:
    documents, _ = read_paths([ANCHORS])
    found = validate_documents(documents, DEFAULTS)
    assert set(REFERENCE_FAULTS) <= _reported_names(found)


def test_the_shared_walk_visits_nodes_like_promql_ast_walk() -> None:
    # analyse() primes ParsedExpression.nodes for the other check families: same order.
    text = (
        'histogram_quantile(0.9, sum by (le) (rate(x_bucket{a="b"}[5m] offset 1m))) '
        '> on (job) group_left (team) count_values("v", -up) or topk(3, max_over_time('
        "rate(y[5m])[1h:5m]))"
    )
    parsed = parse_expression(Expression(text, "f", {}, "record"))
    analysis = analyse(parsed)
    assert [id(n) for n in analysis.nodes] == [id(n) for n in walk(parsed.ast)]
    assert parsed.nodes is analysis.nodes
