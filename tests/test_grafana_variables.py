"""Grafana variables: same-length placeholders for parsing, and interpolation as Grafana does it."""

from __future__ import annotations

import promql_parser
import pytest

from generator.grafana_variables import (
    VariableValue,
    builtin_values,
    interpolate,
    referenced_names,
    references,
    substitute,
)


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ('rate(x{a=~"$ns"}[$__rate_interval])', 'rate(x{a=~"$ns"}[00000000060000ms])'),
        ("x > $threshold", "x > v_________"),
        ("sum by ($group) (x)", "sum by (v_____) (x)"),
        ("$agg(x)", "sum (x)"),
        ("$f(x)", "ln(x)"),
        ("x offset $shift", "x offset 00001m"),
        ("x @ $ts", "x @ 001"),
        ("increase(x[${__range_s}s])", "increase(x[000000000001s])"),
        ("x / $__interval_ms", "x / 00000000000001"),
        ("max_over_time(x[$__range:$__interval])", "max_over_time(x[060000ms:000060000ms])"),
        ('x{a="[$y]"} > [[th]]', 'x{a="[$y]"} > v_____'),
    ],
)
def test_substitution_keeps_length_and_parses(expr: str, expected: str) -> None:
    substituted = substitute(expr)
    assert substituted == expected
    assert len(substituted) == len(expr)
    promql_parser.parse(substituted)


def test_expressions_without_variables_are_returned_unchanged() -> None:
    expr = 'sum(rate(vllm:prompt_tokens_total{model_name="m"}[5m]))'
    assert substitute(expr) is expr


def test_references_note_strings_and_names() -> None:
    found = references('x{a=~"$ns"} > $threshold + ${w:raw} + [[v]]')
    assert [(r.name, r.in_string) for r in found] == [
        ("ns", True),
        ("threshold", False),
        ("w", False),
        ("v", False),
    ]
    assert referenced_names("$a + $a + ${b}") == ["a", "b"]


def test_builtins_follow_grafanas_rate_interval_rule() -> None:
    values = builtin_values(range_seconds=3600, step_seconds=15, scrape_seconds=30)
    assert values["__rate_interval"] == "120s"  # max(15 + 30, 4 x 30)
    assert builtin_values(86400, 120, 30)["__rate_interval"] == "150s"
    assert values["__range"] == "3600s" and values["__range_s"] == "3600"


@pytest.mark.parametrize(
    ("expr", "variables", "expected"),
    [
        ('x{ns="$ns"}', {"ns": VariableValue(("default",))}, 'x{ns="default"}'),
        (
            'x{i=~"$i"}',
            {"i": VariableValue(("10.0.0.1", "10.0.0.2"), multi=True)},
            'x{i=~"(10\\\\.0\\\\.0\\\\.1|10\\\\.0\\\\.0\\\\.2)"}',
        ),
        ('x{m=~"${m:regex}"}', {"m": VariableValue(("a.b",))}, 'x{m=~"a\\\\.b"}'),
        ('x{m="$m"}', {"m": VariableValue(('say "hi"',))}, 'x{m="say \\"hi\\""}'),
        ('x{u="$unknown"}', {}, 'x{u="$unknown"}'),
        ("rate(x[$__rate_interval])", {}, "rate(x[120s])"),
    ],
)
def test_interpolation_matches_grafana(
    expr: str, variables: dict[str, VariableValue], expected: str
) -> None:
    builtins = builtin_values(range_seconds=3600, step_seconds=15, scrape_seconds=30)
    result = interpolate(expr, variables, builtins)
    assert result == expected
    if "$unknown" not in expr:
        promql_parser.parse(result)
