"""promql/histogram-quantile: classic-histogram quantiles that can compute something.

Reported: a literal quantile outside [0, 1]; an aggregation or one-to-one vector match
between histogram_quantile() and a _bucket selector that drops `le` (by (...) without le,
without (le), on (...) without le, ignoring (le), or no grouping at all); and an input
selector the catalog knows that is not the _bucket series of a histogram.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import promql_parser

from generator.checks.base import Check, CheckContext, ParsedExpression
from generator.checks.labels import SELECTING_AGGREGATIONS
from generator.checks.problem import Problem
from generator.checks.promql._analysis import calls_by_name, series
from generator.promql_ast import (
    AggregateExpr,
    BinaryExpr,
    Call,
    MatrixSelector,
    NumberLiteral,
    ParenExpr,
    SubqueryExpr,
    UnaryExpr,
    VectorSelector,
)


def run(context: CheckContext) -> Iterator[Problem]:
    for parsed, _, node in calls_by_name(context).get("histogram_quantile", ()):
        if len(node.args) == 2:
            yield from _check_call(context, parsed, node)


def _check_call(context: CheckContext, parsed: ParsedExpression, call: Any) -> Iterator[Problem]:
    quantile = _literal(call.args[0])
    if quantile is not None and not (0 <= quantile <= 1):
        yield CHECK.at(
            parsed.source,
            f"quantile {quantile:g} is outside [0, 1]: histogram_quantile() returns "
            f"{'+Inf' if quantile > 1 else '-Inf'} for it",
            hint="give the quantile as a fraction, e.g. 0.99 for the 99th percentile",
        )
    le_reported = False
    named: set[str] = set()
    # (node, what dropped `le` on the way down, or '')
    stack: list[tuple[Any, str]] = [(call.args[1], "")]
    while stack:
        node, dropper = stack.pop()
        kind = type(node)
        if kind is VectorSelector:
            name = node.name or ""
            if not name:
                continue
            known = series(context, name)
            if dropper and not le_reported and (known.kind == "bucket" or "_bucket" in name):
                le_reported = True
                yield CHECK.at(
                    parsed.source,
                    f"histogram_quantile() needs the le label, but `{dropper}` between it "
                    f"and '{name}' drops le",
                    hint="keep le in every aggregation on the way: "
                    "sum by (le, <labels>) (rate(<name>_bucket[...]))",
                )
            if known.metric is not None and known.kind != "bucket" and name not in named:
                named.add(name)
                yield CHECK.at(
                    parsed.source,
                    f"histogram_quantile() reads '{name}', a {_what(known.kind)}, not the "
                    f"_bucket series of a classic histogram",
                    hint=_bucket_hint(known.metric.name, known.metric.type),
                )
            continue
        if kind is MatrixSelector:
            stack.append((node.vector_selector, dropper))
        elif kind is Call:
            if node.func.name != "histogram_quantile":  # a nested one is checked on its own
                stack.extend((argument, dropper) for argument in node.args)
        elif kind is AggregateExpr:
            stack.append((node.expr, dropper or _aggregation_drops_le(node)))
        elif kind is BinaryExpr:
            stack.extend(_binary_sides(node, dropper))
        elif kind is ParenExpr or kind is UnaryExpr or kind is SubqueryExpr:
            stack.append((node.expr, dropper))


def _literal(node: Any) -> float | None:
    sign = 1.0
    while True:
        kind = type(node)
        if kind is ParenExpr:
            node = node.expr
        elif kind is UnaryExpr:
            sign, node = -sign, node.expr
        elif kind is NumberLiteral:
            value = sign * float(node.val)
            return None if math.isnan(value) else value
        else:
            return None


def _aggregation_drops_le(node: Any) -> str:
    op = str(node.op)
    if op in SELECTING_AGGREGATIONS:
        return ""
    modifier = node.modifier
    if modifier is None:
        return f"{op}(...)"
    labels = list(modifier.labels)
    if modifier.type == promql_parser.AggModifierType.By:
        return "" if "le" in labels else f"{op} by ({', '.join(labels)})"
    return f"{op} without ({', '.join(labels)})" if "le" in labels else ""


def _binary_sides(node: Any, dropper: str) -> list[tuple[Any, str]]:
    """The sides whose labels reach the result, and what (if anything) drops le there."""
    op = str(node.op)
    if op in ("and", "unless"):
        return [(node.lhs, dropper)]  # the right side only filters
    modifier = node.modifier
    if op == "or" or modifier is None:
        return [(node.rhs, dropper), (node.lhs, dropper)]
    if modifier.card == promql_parser.VectorMatchCardinality.ManyToOne:
        return [(node.lhs, dropper)]
    if modifier.card == promql_parser.VectorMatchCardinality.OneToMany:
        return [(node.rhs, dropper)]
    matching = modifier.matching
    if matching is not None and not dropper:
        labels = list(matching.labels)
        if matching.type == promql_parser.LabelModifierType.Include and "le" not in labels:
            dropper = f"on ({', '.join(labels)})"
        elif matching.type == promql_parser.LabelModifierType.Exclude and "le" in labels:
            dropper = f"ignoring ({', '.join(labels)})"
    return [(node.rhs, dropper), (node.lhs, dropper)]


def _what(kind: str) -> str:
    return {
        "counter": "counter",
        "gauge": "gauge",
        "native-histogram": "histogram's own name (only native histograms have series by it)",
    }.get(kind, kind)


def _bucket_hint(metric: str, metric_type: str) -> str:
    if metric_type == "histogram":
        return f"select {metric}_bucket: sum by (le, ...) (rate({metric}_bucket[...]))"
    return "histogram_quantile() only works on histograms; pick a histogram metric's _bucket"


CHECK = Check(
    "promql/histogram-quantile",
    "error",
    "histogram_quantile() reads _bucket series, keeps le and asks for a quantile in [0, 1]",
    run,
)
