"""What the promql/ checks share: one walk per expression, metric kinds, ranges.

`analyse` walks an expression once (iteratively: expressions may be deeply nested) and sorts
out its selectors, calls, aggregations, binary operations and ranges; `analyses` does it for
every expression of a run and caches the result in `CheckContext.extra`, so the nine promql/
checks pay for one walk between them. The indexes by metric and function name let a check
look each distinct name up once. How a selector is used (inside a range? on which side of an
`or`?) is worked out only when a check asks; which labels a result carries is
generator.checks.labels' to say.
"""

from __future__ import annotations

import gc
import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

import promql_parser

from generator.catalog import VLLM_PREFIXES, Metric
from generator.checks.base import CheckContext, ParsedExpression
from generator.checks.labels import SCALAR_FUNCTIONS, SELECTING_AGGREGATIONS
from generator.promql_ast import (
    AggregateExpr,
    BinaryExpr,
    Call,
    MatrixSelector,
    ParenExpr,
    SubqueryExpr,
    UnaryExpr,
    VectorSelector,
    children,
    selector_name,
)

SeriesKind = Literal["counter", "gauge", "bucket", "native-histogram", "unknown"]

# Functions that assume a counter: they correct for resets.
COUNTER_FUNCTIONS = frozenset({"rate", "irate", "increase", "resets"})
# Functions that assume a gauge: a counter reset looks like a huge drop to them.
GAUGE_FUNCTIONS = frozenset({"delta", "idelta", "deriv", "predict_linear"})
# Calls whose result does not depend on the values of their input (only on its labels or
# presence), so reading a raw counter through them is fine.
LABEL_ONLY_CALLS = frozenset({"absent", "timestamp"})
LABEL_ONLY_AGGREGATIONS = frozenset({"count", "group", "count_values"})

_LEGACY_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_ANALYSES = "promql.analyses"
_SELECTORS_BY_NAME = "promql.selectors-by-name"
_CALLS_BY_NAME = "promql.calls-by-name"
_READS_RECORDED = "promql.reads-recorded"
_SERIES = "promql.series"
_LEGACY_NAMES = "promql.legacy-names"


def version_tuple(text: str) -> tuple[int, ...]:
    """'0.9.2' -> (0, 9, 2); non-numeric parts count as 0, so comparisons never raise."""
    parts = []
    for piece in text.strip().lstrip("vV").split("."):
        digits = re.match(r"\d*", piece)
        parts.append(int(digits.group()) if digits and digits.group() else 0)
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def is_legacy_name(name: str) -> bool:
    """True for label names every Prometheus accepts unquoted."""
    return _LEGACY_NAME.match(name) is not None


# ---- series: what the catalog says about a selected name ---------------------------------


@dataclass(frozen=True, slots=True)
class Series:
    """A selected series name as the catalog knows it."""

    name: str
    metric: Metric | None
    kind: SeriesKind
    legacy_of: Metric | None = None  # a Ray pre-_total gauge name of this metric


def series(context: CheckContext, name: str) -> Series:
    """The catalog entry and kind of a series name (vLLM's Ray prefixes included)."""
    cache: dict[str, Series] = context.extra.setdefault(_SERIES, {})
    found = cache.get(name)
    if found is None:
        found = cache[name] = _series(context, name)
    return found


def _series(context: CheckContext, name: str) -> Series:
    metric = context.catalog.resolve(name)
    if metric is None:
        legacy = _legacy_names(context).get(name)
        return Series(name, None, "unknown", legacy)
    return Series(name, metric, _kind(metric, name))


def _kind(metric: Metric, name: str) -> SeriesKind:
    if metric.type == "counter":
        return "counter"
    if metric.type in ("gauge", "info"):
        return "gauge"
    if metric.type in ("histogram", "summary"):
        if name.endswith("_bucket") and not metric.name.endswith("_bucket"):
            return "bucket"
        if name.endswith(("_sum", "_count")) and not metric.name.endswith(("_sum", "_count")):
            return "counter"
        return "native-histogram" if metric.type == "histogram" else "gauge"
    return "unknown"


def _legacy_names(context: CheckContext) -> dict[str, Metric]:
    names: dict[str, Metric] | None = context.extra.get(_LEGACY_NAMES)
    if names is None:
        names = {m.legacy_name: m for m in context.catalog.metrics if m.legacy_name}
        context.extra[_LEGACY_NAMES] = names
    return names


def catalog_form(name: str) -> tuple[str, str]:
    """('ray_vllm_', 'vllm:x') for 'ray_vllm_x': the Ray prefix used and the catalog's name."""
    for prefix in VLLM_PREFIXES[1:]:
        if name.startswith(prefix):
            return prefix, "vllm:" + name[len(prefix) :]
    return "", name


def exposed_form(catalog_name: str, prefix: str) -> str:
    """The catalog's 'vllm:x' spelled with the Ray prefix the query used."""
    if prefix and catalog_name.startswith("vllm:"):
        return prefix + catalog_name[len("vllm:") :]
    return catalog_name


def series_suffix(metric: Metric, name: str) -> str:
    """'_bucket' for a histogram's x_bucket series, '' for the metric's own name."""
    _, plain = catalog_form(name)
    return plain[len(metric.name) :] if plain.startswith(metric.name) else ""


# ---- one walk per expression --------------------------------------------------------------


@dataclass(slots=True)
class Selector:
    """A vector selector and the function whose range reads it directly ('' if none)."""

    node: Any
    name: str  # the metric name ('' when only matchers select it)
    consumer: str


@dataclass(frozen=True, slots=True)
class Usage:
    """How an expression uses one of its selectors."""

    handled: bool  # inside a range or subquery, or only its labels/presence are used
    or_path: tuple[tuple[Any, int], ...]  # enclosing `or` operations and the side taken


@dataclass(slots=True)
class Analysis:
    """Everything the promql/ checks read from one expression's AST."""

    nodes: list[Any] = field(default_factory=list)  # pre-order, like promql_ast.walk
    selectors: list[Selector] = field(default_factory=list)
    calls: list[tuple[Any, str]] = field(default_factory=list)
    aggregations: list[tuple[Any, str]] = field(default_factory=list)
    binaries: list[tuple[Any, str]] = field(default_factory=list)
    ranges: list[tuple[Any, str]] = field(default_factory=list)  # matrix/subquery, consumer
    has_subquery: bool = False
    usages: dict[int, Usage] | None = None  # by id(selector node), computed on demand


def analyses(context: CheckContext) -> list[tuple[ParsedExpression, Analysis]]:
    """Every expression that parsed, with its analysis (computed once per run)."""
    cached: list[tuple[ParsedExpression, Analysis]] | None = context.extra.get(_ANALYSES)
    if cached is None:
        # The first walk materialises every AST node as a Python object; none of them form
        # reference cycles, and a collection midway would traverse every AST of the run.
        collecting = gc.isenabled()
        gc.disable()
        try:
            cached = _analyse_each(context.expressions)
        finally:
            if collecting:
                gc.enable()
        context.extra[_ANALYSES] = cached
    return cached


def _analyse_each(expressions: list[ParsedExpression]) -> list[tuple[ParsedExpression, Analysis]]:
    """Analyses each parsed expression; expressions sharing an AST share its analysis."""
    by_tree: dict[int, Analysis] = {}
    result = []
    for parsed in expressions:
        if parsed.ast is None:
            continue
        analysis = by_tree.get(id(parsed.ast))
        if analysis is None:
            analysis = by_tree[id(parsed.ast)] = analyse(parsed)
        else:
            parsed.__dict__.setdefault("nodes", analysis.nodes)
        result.append((parsed, analysis))
    return result


Use = tuple[ParsedExpression, Analysis, Selector]
CallUse = tuple[ParsedExpression, Analysis, Any]


def selectors_by_name(context: CheckContext) -> dict[str, list[Use]]:
    """Every selector of every expression, grouped by metric name (once per run).

    Checks that judge a metric by its name look each distinct name up once, not once
    per selector."""
    index: dict[str, list[Use]] | None = context.extra.get(_SELECTORS_BY_NAME)
    if index is None:
        index = {}
        for parsed, analysis in analyses(context):
            for selector in analysis.selectors:
                uses = index.get(selector.name)
                if uses is None:
                    index[selector.name] = [(parsed, analysis, selector)]
                else:
                    uses.append((parsed, analysis, selector))
        context.extra[_SELECTORS_BY_NAME] = index
    return index


def calls_by_name(context: CheckContext) -> dict[str, list[CallUse]]:
    """Every function call and aggregation of every expression, grouped by name."""
    index: dict[str, list[CallUse]] | None = context.extra.get(_CALLS_BY_NAME)
    if index is None:
        index = {}
        for parsed, analysis in analyses(context):
            for node, name in analysis.calls:
                index.setdefault(name, []).append((parsed, analysis, node))
            for node, op in analysis.aggregations:
                index.setdefault(op, []).append((parsed, analysis, node))
        context.extra[_CALLS_BY_NAME] = index
    return index


def analyse(parsed: ParsedExpression) -> Analysis:
    """One iterative pre-order walk that sorts the nodes the checks look at."""
    result = Analysis()
    nodes, selectors, calls = result.nodes, result.selectors, result.calls
    consumers: dict[int, str] = {}  # id(range node or its selector) -> function reading it
    stack = [parsed.ast]
    pop, push = stack.pop, stack.append
    while stack:
        node = pop()
        nodes.append(node)
        kind = type(node)
        if kind is VectorSelector:
            name = selector_name(node)
            selectors.append(Selector(node, name, consumers.get(id(node), "")))
        elif kind is Call:
            function = node.func.name
            calls.append((node, function))
            for argument in reversed(node.args):
                argument_type = type(argument)
                if argument_type is MatrixSelector or argument_type is SubqueryExpr:
                    consumers[id(argument)] = function
                push(argument)
        elif kind is MatrixSelector:
            consumer = consumers.get(id(node), "")
            result.ranges.append((node, consumer))
            selector = node.vector_selector
            if consumer:
                consumers[id(selector)] = consumer
            push(selector)
        elif kind is AggregateExpr:
            result.aggregations.append((node, str(node.op)))
            push(node.expr)
            if node.param is not None:
                push(node.param)
        elif kind is BinaryExpr:
            result.binaries.append((node, str(node.op)))
            push(node.rhs)
            push(node.lhs)
        elif kind is ParenExpr or kind is UnaryExpr:
            push(node.expr)
        elif kind is SubqueryExpr:
            result.has_subquery = True
            consumer = consumers.get(id(node), "")
            result.ranges.append((node, consumer))
            inner = node.expr
            # rate(x[5m:]) reads x through the subquery just as rate(x[5m]) would.
            if consumer and type(inner) is VectorSelector:
                consumers[id(inner)] = consumer
            push(inner)
    # The walk visits nodes in promql_ast.walk's order: ParsedExpression.nodes can reuse it.
    cached_properties = getattr(parsed, "__dict__", None)
    if cached_properties is not None:
        cached_properties.setdefault("nodes", nodes)
    return result


def usage(parsed: ParsedExpression, analysis: Analysis, selector: Selector) -> Usage:
    """How the expression uses `selector` (worked out for the whole expression once)."""
    if analysis.usages is None:
        analysis.usages = _usages(parsed.ast)
    return analysis.usages.get(id(selector.node), Usage(False, ()))


def _usages(root: Any) -> dict[int, Usage]:
    found: dict[int, Usage] = {}
    stack: list[tuple[Any, bool, tuple[tuple[Any, int], ...]]] = [(root, False, ())]
    while stack:
        node, handled, or_path = stack.pop()
        kind = type(node)
        if kind is VectorSelector:
            found[id(node)] = Usage(handled, or_path)
        elif kind is MatrixSelector or kind is SubqueryExpr:
            stack.extend((child, True, or_path) for child in children(node))
        elif kind is Call:
            inner = handled or node.func.name in LABEL_ONLY_CALLS
            stack.extend((child, inner, or_path) for child in node.args)
        elif kind is AggregateExpr:
            inner = handled or str(node.op) in LABEL_ONLY_AGGREGATIONS
            stack.append((node.expr, inner, or_path))
            if node.param is not None:
                stack.append((node.param, handled, or_path))
        elif kind is BinaryExpr:
            op = str(node.op)
            if op == "or":
                stack.append((node.lhs, handled, (*or_path, (node, 0))))
                stack.append((node.rhs, handled, (*or_path, (node, 1))))
            else:
                stack.append((node.lhs, handled, or_path))
                stack.append((node.rhs, handled or op in ("and", "unless"), or_path))
        else:
            stack.extend((child, handled, or_path) for child in children(node))
    return found


def is_substituted(parsed: ParsedExpression, name: str) -> bool:
    """True when a Grafana variable made up (part of) this metric name."""
    return parsed.source.templated and name not in parsed.source.text


def ranges_in_text_order(parsed: ParsedExpression, analysis: Analysis) -> list[tuple[Any, str]]:
    """The range nodes in the order their brackets appear in the text."""
    if not analysis.has_subquery:
        return analysis.ranges  # only matrix selectors: pre-order is text order
    consumers = {id(node): consumer for node, consumer in analysis.ranges}
    ordered: list[tuple[Any, str]] = []
    stack: list[tuple[Any, bool]] = [(parsed.ast, False)]
    while stack:  # post-order: a subquery's bracket follows those inside it
        node, expanded = stack.pop()
        if expanded:
            if id(node) in consumers:
                ordered.append((node, consumers[id(node)]))
            continue
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(children(node)))
    return ordered


# Strings, comments and range brackets of a PromQL text, in order.
_BRACKETS = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`|#[^\n]*|\[([^\]]*)\]')


def bracket_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of every [...] range's content outside strings and comments."""
    return [m.span(1) for m in _BRACKETS.finditer(text) if m.group(1) is not None]


def duration(text: str) -> timedelta | None:
    """A Prometheus duration as a timedelta, or None when it is not one."""
    try:
        return promql_parser.parse_duration(text)
    except (ValueError, TypeError, OverflowError):
        return None


# ---- a quick test for lost labels (generator.checks.labels infers them) --------------------


_CLOSING_CALLS = SCALAR_FUNCTIONS | {"vector", "absent", "absent_over_time", "info"}
_SET_OPERATORS = frozenset({"or", "and", "unless"})
_BY = promql_parser.AggModifierType.By
_ON = promql_parser.LabelModifierType.Include
_ONE_TO_ONE = promql_parser.VectorMatchCardinality.OneToOne


def keeps_labels(analysis: Analysis, used: list[str]) -> bool:
    """A quick, conservative test: True only when nothing in the expression can drop `used`
    (callers rule out selectors of recorded series). When False, ask labels.output_labels()."""
    wanted = frozenset(used)
    for node, op in analysis.aggregations:
        if op in SELECTING_AGGREGATIONS:
            continue
        modifier = node.modifier
        if modifier is None:
            return False
        if modifier.type == _BY:
            if not wanted.issubset(modifier.labels):
                return False
        elif not wanted.isdisjoint(modifier.labels):
            return False
    for node, op in analysis.binaries:
        modifier = node.modifier
        if modifier is None or op in _SET_OPERATORS or modifier.card != _ONE_TO_ONE:
            continue
        matching = modifier.matching
        if matching is None:
            continue
        if matching.type == _ON:
            if not wanted.issubset(matching.labels):
                return False
        elif not wanted.isdisjoint(matching.labels):
            return False
    for _, function in analysis.calls:
        if function in _CLOSING_CALLS or (function == "histogram_quantile" and "le" in wanted):
            return False
    return True


def reads_recorded(context: CheckContext) -> set[int]:
    """id() of every expression that selects a series recorded by a rule."""
    found: set[int] | None = context.extra.get(_READS_RECORDED)
    if found is None:
        index = selectors_by_name(context)
        found = {id(p) for name in context.recorded_names for p, _, _ in index.get(name, ())}
        context.extra[_READS_RECORDED] = found
    return found
