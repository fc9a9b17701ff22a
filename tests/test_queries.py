"""generator.queries: metric naming generations, prefixes, DCGM label styles and PromQL shape."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterator
from typing import Any

import promql_parser
import pytest

from generator.catalog import load_catalog
from generator.errors import ContentError
from generator.grafana_variables import substitute
from generator.promql_ast import metric_names, vector_selectors
from generator.queries import RATE_INTERVAL, Queries, aggregate, join_or, matcher
from generator.settings import (
    ClusterSettings,
    DcgmSettings,
    ExporterSettings,
    Settings,
    VllmSettings,
)

NAMINGS = ("current", "legacy", "either")
PREFIXES = ("vllm:", "ray_vllm:", "ray_vllm_")
POD_LABELS = ("pod", "exported_pod", "pod_name")


def make_settings(
    *,
    naming: str = "current",
    prefix: str = "vllm:",
    pod_label: str = "exported_pod",
    cluster: bool = False,
    cluster_label: str = "cluster",
) -> Settings:
    return Settings(
        cluster=ClusterSettings(enabled=cluster, label=cluster_label),
        exporters=ExporterSettings(
            vllm=VllmSettings(prefix=prefix, naming=naming),  # type: ignore[arg-type]
            dcgm=DcgmSettings(pod_label=pod_label),  # type: ignore[arg-type]
        ),
    )


def queries(**kwargs: Any) -> Queries:
    return Queries(make_settings(**kwargs))


# ---- small PromQL AST helpers --------------------------------------------------------------


def selectors(expr: str) -> list[Any]:
    return vector_selectors(promql_parser.parse(expr))


def unparen(node: Any) -> Any:
    while isinstance(node, promql_parser.ParenExpr):
        node = node.expr
    return node


def label_matchers(selector: Any) -> dict[str, tuple[str, str]]:
    """label -> (op, value) of one vector selector."""
    return {m.name: (str(m.op), m.value) for m in selector.matchers.matchers}


# ---- matcher, aggregate, join_or -----------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("namespace", "$ns"), 'namespace=~"$ns"'),
        (("namespace", "default", "="), 'namespace="default"'),
        (("container", "", "!="), 'container!=""'),
        (("device", "lo|veth.*", "!~"), 'device!~"lo|veth.*"'),
        (("label", 'say "hi"', "="), 'label="say \\"hi\\""'),
        (("label", "C:\\dir", "="), 'label="C:\\\\dir"'),
        (("label", 'end\\"', "="), 'label="end\\\\\\""'),
    ],
)
def test_matcher_text(args: tuple[str, ...], expected: str) -> None:
    assert matcher(*args) == expected


@pytest.mark.parametrize(
    "value", ["plain", 'with "quotes"', "back\\slash", 'both \\" mixed', "\\", '"', "$namespace"]
)
def test_matcher_round_trips_through_promql(value: str) -> None:
    (selector,) = selectors(f"up{{{matcher('label', value, '=')}}}")
    assert label_matchers(selector)["label"] == ("MatchOp.Equal", value)


@pytest.mark.parametrize(
    ("op", "expr", "by", "expected"),
    [
        ("sum", "x", (), "sum(x)"),
        ("max", 'x{a="1"}', ("pod",), 'max by (pod) (x{a="1"})'),
        ("sum", "rate(x[5m])", ("le", "model_name"), "sum by (le, model_name) (rate(x[5m]))"),
    ],
)
def test_aggregate(op: str, expr: str, by: tuple[str, ...], expected: str) -> None:
    assert aggregate(op, expr, by) == expected
    promql_parser.parse(expected)


def test_join_or_single_expression_is_unchanged() -> None:
    assert join_or(["sum(a)"]) == "sum(a)"


def test_join_or_joins_parenthesised_alternatives() -> None:
    joined = join_or(["sum(a)", "sum(b)", "sum(c)"])
    assert joined.count(" or ") == 2
    assert metric_names(joined) == ["a", "b", "c"]


# ---- generic selectors ---------------------------------------------------------------------


def test_selector_without_matchers_is_the_bare_name() -> None:
    assert queries().selector("DCGM_FI_DEV_GPU_UTIL") == "DCGM_FI_DEV_GPU_UTIL"


def test_selector_joins_matchers() -> None:
    expr = queries().selector("kube_pod_info", matcher("namespace", "x", "="), matcher("pod", "p"))
    assert expr == 'kube_pod_info{namespace="x", pod=~"p"}'


@pytest.mark.parametrize(
    "name",
    [
        "DCGM_FI_DEV_GPU_UTILISATION",
        "no_such_metric_total",
        "vllm:no_such_metric",
        "DCGM_FI_DEV_GPU_UTIL_bucket",  # a gauge has no _bucket series
        "",
    ],
)
def test_selector_rejects_names_missing_from_the_catalog(name: str) -> None:
    with pytest.raises(ContentError, match="catalog"):
        queries().selector(name)


@pytest.mark.parametrize(
    "series",
    [
        "vllm:time_to_first_token_seconds_bucket",
        "vllm:time_to_first_token_seconds_sum",
        "vllm:time_to_first_token_seconds_count",
        "node_cpu_seconds_total",
    ],
)
def test_selector_accepts_stored_series_names(series: str) -> None:
    assert queries().selector(series) == series


@pytest.mark.parametrize("prefix", PREFIXES)
def test_selector_accepts_vllm_names_with_the_configured_prefix(prefix: str) -> None:
    name = prefix + "num_requests_running"
    assert queries(prefix=prefix).selector(name) == name


def test_selector_rejects_a_prefixed_name_that_is_not_a_vllm_metric() -> None:
    with pytest.raises(ContentError):
        queries(prefix="ray_vllm_").selector("ray_vllm_not_a_metric")


def test_vllm_names_rejects_metrics_of_other_exporters() -> None:
    with pytest.raises(ContentError):
        queries().vllm_names("DCGM_FI_DEV_GPU_UTIL")
    with pytest.raises(ContentError):
        queries().vllm_names("vllm:made_up_metric")


# ---- cluster filter ------------------------------------------------------------------------


def test_no_cluster_filter_when_multi_cluster_is_off() -> None:
    q = queries(cluster=False)
    assert q.scope_matchers() == []
    assert "cluster" not in q.rate("node_cpu_seconds_total")
    assert "$cluster" not in q.vllm_gauge("vllm:kv_cache_usage_perc", "max", ("pod",))


@pytest.mark.parametrize("label", ["cluster", "k8s_cluster", "region"])
def test_cluster_filter_uses_the_configured_label(label: str) -> None:
    q = queries(cluster=True, cluster_label=label)
    assert q.scope_matchers() == [f'{label}=~"$cluster"']
    exprs = [
        q.selector("DCGM_FI_DEV_GPU_UTIL"),
        q.rate("node_cpu_seconds_total", matcher("mode", "idle", "=")),
        q.histogram_quantile(0.9, "vllm:e2e_request_latency_seconds", ("model_name",)),
        q.label_values("namespace", "kube_pod_info"),
    ]
    for expr in exprs:
        assert f'{label}=~"$cluster"' in expr


@pytest.mark.parametrize("naming", NAMINGS)
def test_cluster_filter_is_on_every_selector(naming: str) -> None:
    q = queries(cluster=True, cluster_label="region", naming=naming)
    expr = q.vllm_quantile(0.99, "vllm:inter_token_latency_seconds", ("model_name",))
    found = selectors(substitute(expr))
    assert found
    for selector in found:
        assert label_matchers(selector)["region"] == ("MatchOp.Re", "$cluster")


# ---- windows -------------------------------------------------------------------------------


def test_default_window_is_grafanas_rate_interval() -> None:
    q = queries()
    assert q.window == RATE_INTERVAL == "$__rate_interval"
    assert q.rate("node_cpu_seconds_total") == "rate(node_cpu_seconds_total[$__rate_interval])"


@pytest.mark.parametrize("window", ["5m", "1h", "30s"])
def test_with_window_fixes_every_range(window: str) -> None:
    base = queries(naming="either")
    q = base.with_window(window)
    exprs = [
        q.rate("node_cpu_seconds_total", function="increase"),
        q.histogram_quantile(0.5, "vllm:e2e_request_latency_seconds", ()),
        q.histogram_mean("vllm:e2e_request_latency_seconds", ("model_name",)),
        q.vllm_quantile(0.99, "vllm:inter_token_latency_seconds", ("model_name",)),
        q.vllm_rate("vllm:prefix_cache_hits_total", ("model_name",)),
        q.vllm_mean("vllm:time_to_first_token_seconds", ()),
    ]
    for expr in exprs:
        assert f"[{window}]" in expr
        assert "$__rate_interval" not in expr
        promql_parser.parse(expr)
    # with_window returns a copy: the original keeps Grafana's interval.
    assert base.window == RATE_INTERVAL
    assert "[$__rate_interval]" in base.rate("node_cpu_seconds_total")


def test_rate_function_is_configurable() -> None:
    q = queries().with_window("5m")
    assert q.rate("node_cpu_seconds_total", function="irate") == (
        "irate(node_cpu_seconds_total[5m])"
    )


def test_histogram_quantile_sums_buckets_by_le_and_grouping() -> None:
    expr = (
        queries()
        .with_window("5m")
        .histogram_quantile(0.99, "vllm:e2e_request_latency_seconds", ("model_name",))
    )
    assert expr == (
        "histogram_quantile(0.99, sum by (le, model_name) "
        "(rate(vllm:e2e_request_latency_seconds_bucket[5m])))"
    )


# ---- vLLM naming generations and prefixes --------------------------------------------------


@pytest.mark.parametrize(
    ("naming", "expected"),
    [
        ("current", ["vllm:kv_cache_usage_perc"]),
        ("legacy", ["vllm:gpu_cache_usage_perc"]),
        ("either", ["vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc"]),
    ],
)
def test_kv_cache_names_per_naming(naming: str, expected: list[str]) -> None:
    q = queries(naming=naming)
    assert q.vllm_names("vllm:kv_cache_usage_perc") == expected
    expr = q.vllm_gauge("vllm:kv_cache_usage_perc", "max", ("model_name",))
    assert metric_names(expr) == expected
    assert "__name__" not in expr


@pytest.mark.parametrize(
    ("naming", "expected"),
    [
        ("current", ["vllm:inter_token_latency_seconds"]),
        ("legacy", ["vllm:time_per_output_token_seconds"]),
        ("either", ["vllm:inter_token_latency_seconds", "vllm:time_per_output_token_seconds"]),
    ],
)
def test_inter_token_latency_names_per_naming(naming: str, expected: list[str]) -> None:
    q = queries(naming=naming)
    assert q.vllm_names("vllm:inter_token_latency_seconds") == expected
    expr = q.vllm_quantile(0.99, "vllm:inter_token_latency_seconds", ("model_name",))
    assert metric_names(substitute(expr)) == [f"{name}_bucket" for name in expected]
    assert "__name__" not in expr
    assert expr.count("histogram_quantile(") == 1


def test_either_mode_gauge_or_joins_aggregated_sides() -> None:
    expr = queries(naming="either").vllm_gauge(
        "vllm:kv_cache_usage_perc", "max", ("model_name",), matcher("namespace", "ns", "=")
    )
    assert " or " in expr
    root = unparen(promql_parser.parse(expr))
    assert isinstance(root, promql_parser.BinaryExpr)
    assert str(root.op) == "or"
    sides = [unparen(root.lhs), unparen(root.rhs)]
    assert all(isinstance(side, promql_parser.AggregateExpr) for side in sides)
    assert [metric_names(side.prettify()) for side in sides] == [
        ["vllm:kv_cache_usage_perc"],
        ["vllm:gpu_cache_usage_perc"],
    ]


def test_either_mode_quantile_wraps_one_histogram_quantile_around_or_joined_sums() -> None:
    expr = queries(naming="either").vllm_quantile(
        0.99, "vllm:inter_token_latency_seconds", ("model_name",)
    )
    assert expr.count("histogram_quantile(") == 1
    root = promql_parser.parse(substitute(expr))
    assert isinstance(root, promql_parser.Call)
    assert root.func.name == "histogram_quantile"
    joined = unparen(root.args[1])
    assert isinstance(joined, promql_parser.BinaryExpr)
    assert str(joined.op) == "or"
    for side, name in zip(
        (unparen(joined.lhs), unparen(joined.rhs)),
        ("vllm:inter_token_latency_seconds_bucket", "vllm:time_per_output_token_seconds_bucket"),
        strict=True,
    ):
        assert isinstance(side, promql_parser.AggregateExpr)
        assert side.prettify().startswith("sum by (le, model_name)")
        assert metric_names(substitute(side.prettify())) == [name]


@pytest.mark.parametrize(
    "metric", ["vllm:time_to_first_token_seconds", "vllm:e2e_request_latency_seconds"]
)
def test_histogram_without_rename_has_one_name_in_either_mode(metric: str) -> None:
    q = queries(naming="either").with_window("5m")
    assert q.vllm_names(metric) == [metric]
    expr = q.vllm_quantile(0.9, metric, ("model_name",))
    assert " or " not in expr
    assert expr == q.histogram_quantile(0.9, metric, ("model_name",))


@pytest.mark.parametrize("metric", ["vllm:num_requests_running", "vllm:generation_tokens_total"])
def test_series_without_rename_has_one_name_in_either_mode(metric: str) -> None:
    q = queries(naming="either")
    assert q.vllm_names(metric) == [metric]
    expr = q.vllm(metric, lambda name: aggregate("sum", q.selector(name), ()))
    assert expr == f"sum({metric})"


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        ("vllm:", "vllm:kv_cache_usage_perc"),
        ("ray_vllm:", "ray_vllm:kv_cache_usage_perc"),
        ("ray_vllm_", "ray_vllm_kv_cache_usage_perc"),
    ],
)
def test_prefix_styles(prefix: str, expected: str) -> None:
    q = queries(prefix=prefix)
    assert q.vllm_names("vllm:kv_cache_usage_perc") == [expected]
    expr = q.vllm_gauge("vllm:kv_cache_usage_perc", "max", ())
    assert metric_names(expr) == [expected]


@pytest.mark.parametrize("prefix", PREFIXES)
def test_prefix_applies_to_both_generations_in_either_mode(prefix: str) -> None:
    q = queries(prefix=prefix, naming="either")
    assert q.vllm_names("vllm:inter_token_latency_seconds") == [
        f"{prefix}inter_token_latency_seconds",
        f"{prefix}time_per_output_token_seconds",
    ]
    expr = q.vllm_rate("vllm:prefix_cache_hits_total", ("model_name",))
    assert metric_names(substitute(expr)) == [
        f"{prefix}prefix_cache_hits_total",
        f"{prefix}gpu_prefix_cache_hits_total",
    ]
    assert "__name__" not in expr


def test_vllm_mean_divides_sum_by_count_per_name() -> None:
    expr = (
        queries(naming="either", prefix="ray_vllm_")
        .with_window("5m")
        .vllm_mean("vllm:inter_token_latency_seconds", ("model_name",))
    )
    assert metric_names(expr) == [
        "ray_vllm_inter_token_latency_seconds_sum",
        "ray_vllm_inter_token_latency_seconds_count",
        "ray_vllm_time_per_output_token_seconds_sum",
        "ray_vllm_time_per_output_token_seconds_count",
    ]


# ---- builder output is a self-contained operand --------------------------------------------


def operand_cases() -> Iterator[Any]:
    for naming in NAMINGS:
        q = queries(naming=naming).with_window("5m")
        yield pytest.param(
            q.vllm_gauge("vllm:kv_cache_usage_perc", "max", ("pod",)), id=f"vllm_gauge-{naming}"
        )
        yield pytest.param(
            q.vllm_rate("vllm:prefix_cache_hits_total", ("model_name",)),
            id=f"vllm_rate-{naming}",
        )
        yield pytest.param(
            q.vllm_quantile(0.99, "vllm:inter_token_latency_seconds", ("model_name",)),
            id=f"vllm_quantile-{naming}",
        )
        yield pytest.param(
            q.vllm_mean("vllm:inter_token_latency_seconds", ("model_name",)),
            id=f"vllm_mean-{naming}",
        )
    q = queries().with_window("5m")
    yield pytest.param(q.rate("node_cpu_seconds_total"), id="rate")
    yield pytest.param(
        q.histogram_quantile(0.9, "vllm:e2e_request_latency_seconds", ()), id="histogram_quantile"
    )
    yield pytest.param(
        q.histogram_mean("vllm:e2e_request_latency_seconds", ("model_name",)),
        id="histogram_mean",
    )


@pytest.mark.parametrize("expr", list(operand_cases()))
def test_builder_output_keeps_its_meaning_inside_a_larger_expression(expr: str) -> None:
    """Content writes `{builder(...)} > threshold` and `1 / {builder(...)}`: the builder's
    expression must stay one operand, or `a or b > 0.9` silently means `a or (b > 0.9)`."""
    alone = unparen(promql_parser.parse(expr)).prettify()
    compared = promql_parser.parse(f"{expr} > 0.9")
    assert str(compared.op) == ">"
    assert unparen(compared.lhs).prettify() == alone
    divided = promql_parser.parse(f"1 / {expr}")
    assert str(divided.op) == "/"
    assert unparen(divided.rhs).prettify() == alone


# ---- DCGM label styles ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pod_label", "pod", "namespace", "container"),
    [
        ("pod", "pod", "namespace", "container"),
        ("exported_pod", "exported_pod", "exported_namespace", "exported_container"),
        ("pod_name", "pod_name", "pod_namespace", "container_name"),
    ],
)
def test_dcgm_label_styles(pod_label: str, pod: str, namespace: str, container: str) -> None:
    q = queries(pod_label=pod_label)
    labels = q.dcgm_labels
    assert (labels.pod, labels.namespace, labels.container) == (pod, namespace, container)
    assert q.dcgm_workload("$namespace", "$job-.*") == [
        f'{namespace}=~"$namespace"',
        f'{pod}=~"$job-.*"',
    ]
    (selector,) = selectors(
        substitute(q.selector("DCGM_FI_DEV_GPU_UTIL", *q.dcgm_workload("ml", "train-.*")))
    )
    assert label_matchers(selector) == {
        namespace: ("MatchOp.Re", "ml"),
        pod: ("MatchOp.Re", "train-.*"),
    }


def test_settings_default_dcgm_style_is_exported_pod() -> None:
    assert Queries(Settings()).dcgm_labels.pod == "exported_pod"


# ---- every combination parses ---------------------------------------------------------------


def dashboard_queries(q: Queries) -> list[str]:
    scope = [matcher("namespace", "$namespace"), matcher("model_name", "$model_name")]
    gpu = q.dcgm_labels
    running = q.vllm_names("vllm:num_requests_running")[0]
    serving = q.vllm(
        "vllm:num_requests_running",
        lambda name: aggregate("group", q.selector(name, *scope), ("pod",)),
    )
    return [
        q.label_values("namespace", running),
        *(
            q.vllm_quantile(quantile, metric, ("model_name",), *scope)
            for quantile in (0.5, 0.99)
            for metric in (
                "vllm:time_to_first_token_seconds",
                "vllm:inter_token_latency_seconds",
                "vllm:e2e_request_latency_seconds",
            )
        ),
        q.vllm_rate("vllm:prompt_tokens_total", ("model_name",), *scope),
        q.vllm_rate("vllm:prefix_cache_queries_total", ("model_name",), *scope),
        q.vllm_gauge("vllm:kv_cache_usage_perc", "max", ("model_name",), *scope),
        q.vllm_mean("vllm:inter_token_latency_seconds", ("model_name",), *scope),
        q.vllm(
            "vllm:request_prompt_tokens",
            lambda name: aggregate(
                "sum", q.rate(f"{name}_bucket", *scope, function="increase"), ("le",)
            ),
        ),
        aggregate(
            "avg",
            q.selector("DCGM_FI_DEV_GPU_UTIL", *q.dcgm_workload("$namespace", "$job-.*")),
            (gpu.pod, "Hostname", "gpu"),
        )
        + f' and on ({gpu.pod}) label_replace({serving}, "{gpu.pod}", "$1", "pod", "(.+)")',
        q.rate("node_cpu_seconds_total", matcher("instance", "(${instance:regex}):[0-9]+")),
    ]


def alert_queries(q: Queries) -> list[str]:
    q = q.with_window("5m")
    gpu = q.dcgm_labels
    per_gpu = ("Hostname", "gpu", "UUID", gpu.namespace, gpu.pod)
    return [
        f"{aggregate('max', q.selector('DCGM_FI_DEV_GPU_TEMP'), per_gpu)} > 83",
        f"{q.vllm_gauge('vllm:kv_cache_usage_perc', 'max', ('pod',))} > 0.9",
        f"{q.vllm_quantile(0.99, 'vllm:time_to_first_token_seconds', ('model_name',))} > 2",
        q.vllm_mean("vllm:e2e_request_latency_seconds", ("model_name",)),
    ]


COMBINATIONS = list(itertools.product(NAMINGS, PREFIXES, POD_LABELS, (False, True)))


@pytest.mark.parametrize(
    ("naming", "prefix", "pod_label", "cluster"),
    COMBINATIONS,
    ids=[f"{n}-{p}-{d}-cluster_{c}" for n, p, d, c in COMBINATIONS],
)
def test_every_combination_parses(naming: str, prefix: str, pod_label: str, cluster: bool) -> None:
    q = queries(naming=naming, prefix=prefix, pod_label=pod_label, cluster=cluster)
    catalog = load_catalog()
    for expr in dashboard_queries(q):
        if expr.startswith("label_values("):
            # A Grafana variable query: its first argument is a PromQL selector.
            expr = expr[len("label_values(") : expr.rindex(",")]
        for name in metric_names(substitute(expr)):
            assert (name.replace(prefix, "vllm:", 1) if name.startswith(prefix) else name) in (
                catalog
            )
    for expr in alert_queries(q):
        promql_parser.parse(expr)
        for name in metric_names(expr):
            assert (name.replace(prefix, "vllm:", 1) if name.startswith(prefix) else name) in (
                catalog
            )
        assert "__name__" not in expr


def test_queries_are_bound_to_their_settings() -> None:
    settings = make_settings(prefix="ray_vllm_")
    q = Queries(settings)
    other = dataclasses.replace(q, settings=make_settings(prefix="vllm:"))
    assert q.vllm_names("vllm:num_requests_waiting") == ["ray_vllm_num_requests_waiting"]
    assert other.vllm_names("vllm:num_requests_waiting") == ["vllm:num_requests_waiting"]
