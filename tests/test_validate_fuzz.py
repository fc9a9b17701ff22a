"""Fuzzing the validator: whatever the input, validate_documents returns problems and never
crashes.

A crash inside a check does not raise: the runner turns it into an `obsgen/internal` problem,
so every test here asserts that no such problem appears (and that nothing raises).
Expressions come from random text and from a small PromQL grammar with Grafana variables,
mutated by deleting or duplicating one character; documents from random JSON-like values
shaped loosely like dashboards and rule files.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

import promql_parser
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generator.checks import promtool
from generator.checks.base import parse_expression
from generator.checks.documents import Document, read_paths
from generator.checks.expressions import Expression
from generator.checks.live.series import expression_selectors
from generator.checks.problem import LOCATION_KEYS, Problem
from generator.checks.report import render
from generator.checks.runner import validate_documents
from generator.settings import load_settings

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SETTINGS = load_settings(PROJECT_ROOT / "obsgen.yaml")
FUZZ = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
OPERATORS = {
    "MatchOp.Equal": "=",
    "MatchOp.NotEqual": "!=",
    "MatchOp.Re": "=~",
    "MatchOp.NotRe": "!~",
}
FEWER = settings(FUZZ, max_examples=120)  # these run promtool once per example

# --- a small PromQL grammar with Grafana variables ------------------------------------------

METRICS = [
    "DCGM_FI_DEV_GPU_UTIL",
    "DCGM_FI_DEV_FB_USED",
    "DCGM_FI_DEV_GPU_TEMP",
    "DCGM_FI_DEV_XID_ERRORS",
    "vllm:num_requests_running",
    "vllm:gpu_cache_usage_perc",
    "vllm:prompt_tokens_total",
    "vllm:e2e_request_latency_seconds_bucket",
    "ray_vllm:time_to_first_token_seconds_bucket",
    "ray_vllm_num_requests_waiting",
    "node_cpu_seconds_total",
    "container_memory_working_set_bytes",
    "up",
    "unknown_metric_total",
    "$metric",
    "${metric}",
    "[[metric]]",
]
LABELS = ["job", "instance", "namespace", "exported_pod", "model_name", "gpu", "le", "mode"]
VALUES = [
    "",
    "x",
    "$namespace",
    "${namespace}",
    "${pod:regex}",
    "${pod:pipe}",
    "[[instance]]",
    "$__all",
    ".*",
    ".+",
    "a|b",
    "(?i)GPU.*",
    "[",
    'say "hi"',
    "back\\slash",
    "new\nline",
    "ünïcødé",
    "$",
]
DURATIONS = [
    "5m",
    "1h30m",
    "30s",
    "100ms",
    "$__rate_interval",
    "$__interval",
    "${__range}",
    "$window",
    "[[win]]",
    "0s",
    "1y",
]
NUMBERS = ["1", "0.5", "1e3", "-2", "0x1f", "Inf", "NaN", "$threshold", "${threshold}"]


def _quoted(value: str, quote: str) -> str:
    if quote == "`":
        return "`" + value.replace("`", "") + "`"
    escaped = value.replace("\\", "\\\\").replace(quote, "\\" + quote).replace("\n", "\\n")
    return quote + escaped + quote


strings = st.builds(_quoted, st.sampled_from(VALUES) | st.text(max_size=8), st.sampled_from("\"'`"))
matchers = st.builds(
    lambda label, op, value: f"{label}{op}{value}",
    st.sampled_from([*LABELS, "__name__", "$label"]),
    st.sampled_from(["=", "!=", "=~", "!~"]),
    strings,
)
selectors = st.builds(
    lambda metric, inner, modifier: (
        metric + (f"{{{', '.join(inner)}}}" if inner else "") + modifier
    ),
    st.sampled_from([*METRICS, ""]),
    st.lists(matchers, max_size=3),
    st.sampled_from(["", "", " offset 5m", " offset $__range", " @ start()", " @ 1700000000"]),
)
label_lists = st.lists(st.sampled_from([*LABELS, "$group_by", "${by}"]), max_size=3).map(", ".join)


def _extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    ranged = st.builds(
        lambda name, sel, duration: f"{name}({sel}[{duration}])",
        st.sampled_from(["rate", "irate", "increase", "avg_over_time", "max_over_time", "deriv"]),
        selectors,
        st.sampled_from(DURATIONS),
    )
    subquery = st.builds(
        lambda expr, a, b: f"max_over_time(({expr})[{a}:{b}])",
        inner,
        st.sampled_from(DURATIONS),
        st.sampled_from([*DURATIONS, ""]),
    )
    aggregation = st.builds(
        lambda op, clause, labels, expr: (
            f"{op} {clause} ({labels}) ({expr})" if clause else f"{op}({expr})"
        ),
        st.sampled_from(["sum", "avg", "max", "min", "count", "group", "$agg", "stddev"]),
        st.sampled_from(["", "by", "without"]),
        label_lists,
        inner,
    )
    parameterised = st.builds(
        lambda op, param, expr: f"{op}({param}, {expr})",
        st.sampled_from(["topk", "bottomk", "quantile", "histogram_quantile", "clamp_min"]),
        st.sampled_from(NUMBERS),
        inner,
    )
    call = st.builds(
        lambda name, expr: f"{name}({expr})",
        st.sampled_from(["abs", "absent", "ceil", "sort_desc", "timestamp", "scalar", "vector"]),
        inner,
    )
    relabel = st.builds(
        lambda expr, dst, rep: f'label_replace({expr}, "{dst}", "{rep}", "instance", "(.*):.*")',
        inner,
        st.sampled_from(LABELS),
        st.sampled_from(["$1", "${1}", "$namespace"]),
    )
    binary = st.builds(
        lambda lhs, op, modifier, rhs: f"{lhs} {op}{modifier} {rhs}",
        inner,
        st.sampled_from(["+", "-", "*", "/", "%", "^", "==", "!=", ">", "<", ">=", "<="]),
        st.sampled_from(["", " bool", " on(gpu)", " ignoring(mode) group_left(job)"]),
        inner,
    )
    sets = st.builds(
        lambda lhs, op, rhs: f"{lhs} {op} {rhs}",
        inner,
        st.sampled_from(["and", "or", "unless"]),
        inner,
    )
    return st.one_of(
        ranged,
        subquery,
        aggregation,
        parameterised,
        call,
        relabel,
        binary,
        sets,
        inner.map(lambda e: f"({e})"),
        inner.map(lambda e: f"-{e}"),
        inner.map(lambda e: f"{e} # a comment\n"),
    )


expressions = st.recursive(
    st.one_of(selectors, st.sampled_from(NUMBERS), strings, st.just("time()")),
    _extend,
    max_leaves=8,
)


@st.composite
def near_valid(draw: st.DrawFn) -> str:
    """A grammar expression, sometimes with one character deleted or duplicated."""
    text = draw(expressions)
    mutation = draw(st.sampled_from(["none", "delete", "duplicate"]))
    if mutation == "none" or not text:
        return text
    index = draw(st.integers(0, len(text) - 1))
    if mutation == "delete":
        return text[:index] + text[index + 1 :]
    return text[:index] + text[index] + text[index:]


any_expression = st.one_of(near_valid(), st.text(max_size=80))

# --- documents ------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly the proper shape, sometimes any JSON value in its place."""
    return st.one_of(strategy, strategy, strategy, json_values)


def objects(**fields: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """A dict with any subset of `fields` (each value possibly of the wrong type)."""
    return st.fixed_dictionaries({}, optional={k: maybe(v) for k, v in fields.items()})


datasources = st.one_of(
    st.fixed_dictionaries(
        {"type": st.sampled_from(["prometheus", "loki", "$ds", ""]), "uid": st.text(max_size=12)}
    ),
    st.sampled_from(["${datasource}", "Prometheus", "$datasource", ""]),
)
targets = objects(
    expr=any_expression,
    refId=st.sampled_from(["A", "B", "", "A"]),
    legendFormat=st.sampled_from(["{{gpu}}", "{{ model_name }} p99", "", "{{", "$x"]),
    datasource=datasources,
    hide=st.booleans(),
)
grid_positions = objects(
    x=st.integers(-5, 30), y=st.integers(-5, 100), w=st.integers(-1, 30), h=st.integers(-1, 20)
)
field_configs = objects(defaults=objects(unit=st.sampled_from(["percent", "s", "", "bytes"])))


def panels(depth: int) -> st.SearchStrategy[dict[str, Any]]:
    fields: dict[str, st.SearchStrategy[Any]] = {
        "id": st.integers(-1, 5),
        "type": st.sampled_from(["timeseries", "stat", "row", "text", "gauge", "table"]),
        "title": st.text(max_size=12),
        "description": st.text(max_size=12),
        "datasource": datasources,
        "gridPos": grid_positions,
        "targets": st.lists(maybe(targets), max_size=3),
        "fieldConfig": field_configs,
    }
    if depth:
        fields["panels"] = st.lists(maybe(panels(depth - 1)), max_size=2)
        fields["collapsed"] = st.booleans()
    return objects(**fields)


variables = objects(
    name=st.sampled_from(["datasource", "namespace", "pod", "metric", "threshold", "", "x y"]),
    type=st.sampled_from(["datasource", "query", "custom", "interval", "constant", "textbox"]),
    query=st.one_of(st.sampled_from(["prometheus", "label_values(up, job)"]), any_expression),
    current=objects(value=json_values, text=json_values),
    multi=st.booleans(),
    includeAll=st.booleans(),
    options=st.lists(json_values, max_size=2),
)
dashboards = st.builds(
    lambda base, title, panel_list: {**base, "title": title, "panels": panel_list},
    objects(
        uid=st.text(max_size=8),
        templating=objects(list=st.lists(maybe(variables), max_size=3)),
        rows=st.lists(json_values, max_size=2),
        schemaVersion=st.integers(0, 50),
    ),
    maybe(st.text(max_size=12)),
    maybe(st.lists(maybe(panels(2)), max_size=4)),
)

label_maps = st.dictionaries(
    st.sampled_from(["severity", "team", "", "le", "x-y"]),
    maybe(st.sampled_from(["critical", "warning", "info", "page", "{{ $labels.job }}"])),
    max_size=3,
)
annotation_maps = st.dictionaries(
    st.sampled_from(["summary", "description", "runbook_url", "other"]),
    maybe(
        st.sampled_from(
            [
                "GPU {{ $labels.gpu }} on {{ $labels.Hostname }} is hot",
                "{{ $value | humanize }}",
                "{{ unclosed",
                "}} reversed {{",
                "https://runbooks.example.com/x",
                "",
            ]
        )
    ),
    max_size=3,
)
rules = st.one_of(
    objects(
        alert=st.sampled_from(["GpuHot", "", "Gpu Hot", "GpuHot"]),
        expr=any_expression,
        labels=label_maps,
        annotations=annotation_maps,
        keep_firing_for=st.sampled_from(["5m", "x"]),
        **{"for": st.sampled_from(["5m", "0s", "1s", "5x", ""])},
    ),
    objects(
        record=st.sampled_from(["job:gpu_util:avg", "bad name", "", "job:gpu_util:avg"]),
        expr=any_expression,
        labels=label_maps,
    ),
)
groups = objects(
    name=st.sampled_from(["gpu", "", "gpu", "vllm"]),
    interval=st.sampled_from(["30s", "1m", "bad"]),
    rules=st.lists(maybe(rules), max_size=4),
)
rule_files = st.builds(lambda items: {"groups": items}, st.lists(maybe(groups), max_size=3))

# --- helpers --------------------------------------------------------------------------------


@contextmanager
def without_promtool() -> Iterator[None]:
    """Structure fuzzing does not need promtool's positions (30 ms per call)."""
    with mock.patch.object(promtool, "locate", return_value={}):
        yield


def validate(*documents: Document) -> list[Problem]:
    """validate_documents, asserting it neither raises nor reports an internal crash."""
    problems = validate_documents(list(documents), SETTINGS)
    crashes = [p for p in problems if p.check == "obsgen/internal"]
    assert not crashes, "\n".join(p.message for p in crashes)
    for problem in problems:
        assert problem.severity in ("error", "warning", "info")
        assert isinstance(problem.message, str) and problem.message
    # Every report format renders whatever the checks found.
    assert render(problems, "text").count("\n") >= len(problems)
    annotations = render(problems, "github")  # one line each: the runner splits at \n and \r
    assert annotations.count("\n") == len(problems) and "\r" not in annotations
    for item in json.loads(render(problems, "json")):
        assert set(item) == {"check", "severity", "message", "hint", "file", "location"}
        assert set(item["location"]) <= set(LOCATION_KEYS)
    return problems


def panel_dashboard(exprs: list[str]) -> dict[str, Any]:
    source = {"type": "prometheus", "uid": "${datasource}"}
    return {
        "title": "Fuzz",
        "templating": {
            "list": [{"name": "datasource", "type": "datasource", "query": "prometheus"}]
        },
        "panels": [
            {
                "id": index + 1,
                "type": "timeseries",
                "title": f"P{index}",
                "datasource": source,
                "gridPos": {"x": 0, "y": index * 8, "w": 24, "h": 8},
                "targets": [{"refId": "A", "expr": expr, "datasource": source}],
            }
            for index, expr in enumerate(exprs)
        ],
    }


def rule_file(exprs: list[str]) -> dict[str, Any]:
    rules = [
        {"alert": f"Fuzz{index}", "expr": expr, "labels": {"severity": "warning"}}
        if index % 2
        else {"record": f"fuzz:expr:{index}", "expr": expr}
        for index, expr in enumerate(exprs)
    ]
    return {"groups": [{"name": "fuzz", "rules": rules}]}


def both(exprs: list[str]) -> list[Problem]:
    """Validates the expressions as panel targets and as rules in one run (one promtool call)."""
    return validate(
        Document("dashboard", "fuzz.json", panel_dashboard(exprs)),
        Document("rules", "fuzz.rules.yaml", rule_file(exprs)),
    )


# --- tests ----------------------------------------------------------------------------------


@FEWER
@given(st.lists(st.text(max_size=120), min_size=1, max_size=8))
def test_random_text_as_expressions(exprs: list[str]) -> None:
    both(exprs)


@FEWER
@given(st.lists(near_valid(), min_size=1, max_size=8))
def test_near_valid_expressions(exprs: list[str]) -> None:
    problems = both(exprs)
    for problem in problems:
        if problem.check == "promql/syntax" and "line" in problem.location:
            assert isinstance(problem.location["column"], int)
            assert int(problem.location["line"]) >= 1


@FUZZ
@given(st.lists(near_valid(), min_size=1, max_size=4))
def test_near_valid_expressions_without_promtool(exprs: list[str]) -> None:
    with without_promtool():
        both(exprs)


@FUZZ
@given(dashboards)
def test_random_dashboard_structures(model: dict[str, Any]) -> None:
    with without_promtool():
        validate(Document("dashboard", "fuzz.json", model))


@FUZZ
@given(rule_files)
def test_random_rule_structures(document: dict[str, Any]) -> None:
    with without_promtool():
        validate(Document("rules", "fuzz.rules.yaml", document))


@settings(FUZZ, max_examples=100)
@given(st.one_of(dashboards, rule_files), st.sampled_from(["json", "yaml"]))
def test_random_files_through_the_reader(
    tmp_path_factory: pytest.TempPathFactory, data: Any, kind: str
) -> None:
    directory = tmp_path_factory.mktemp("fuzz", numbered=True)
    path = directory / f"input.{kind}"
    text = json.dumps(data) if kind == "json" else yaml.safe_dump(data, allow_unicode=True)
    path.write_text(text, encoding="utf-8")
    documents, unreadable = read_paths([path])
    assert len(documents) + len(unreadable) >= 1
    with without_promtool():
        validate(*documents)


@FUZZ
@given(near_valid(), st.booleans())
def test_live_selectors_are_valid_promql(text: str, templated: bool) -> None:
    """Each selector live/series would send to Prometheus parses back to the same selector."""
    parsed = parse_expression(Expression(text, "fuzz", {}, "panel" if templated else "record"))
    for selector in expression_selectors(parsed):
        node = promql_parser.parse(selector.text)
        assert isinstance(node, promql_parser.VectorSelector), selector.text
        sent = {(m.name, OPERATORS[str(m.op)], m.value) for m in node.matchers.matchers}
        if node.name:
            sent.add(("__name__", "=", node.name))
        meant = set(selector.matchers)
        if selector.name:
            meant.add(("__name__", "=", selector.name))
        assert sent == meant, selector.text


@pytest.mark.parametrize("rules", [1, 2.5, True])
def test_rules_that_are_a_number_do_not_crash(rules: Any) -> None:
    with without_promtool():
        validate(Document("rules", "fuzz.rules.yaml", {"groups": [{"name": "g", "rules": rules}]}))
