"""What the promql/ checks share: one walk per expression, metric kinds, output labels.

`analyse` walks an expression once (iteratively: expressions may be deeply nested) and sorts
out its selectors, calls, aggregations, binary operations and ranges; `analyses` does it for
every expression of a run and caches the result in `CheckContext.extra`, so the nine promql/
checks pay for one walk between them. The indexes by metric and function name let a check
look each distinct name up once. How a selector is used (inside a range? on which side of an
`or`?) and which labels a result carries are worked out only when a check asks.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

import promql_parser

from generator.catalog import VLLM_PREFIXES, Metric
from generator.checks.base import CheckContext, ParsedExpression
from generator.promql_ast import children

SeriesKind = Literal["counter", "gauge", "bucket", "native-histogram", "unknown"]

VectorSelector = promql_parser.VectorSelector
MatrixSelector = promql_parser.MatrixSelector
SubqueryExpr = promql_parser.SubqueryExpr
Call = promql_parser.Call
AggregateExpr = promql_parser.AggregateExpr
BinaryExpr = promql_parser.BinaryExpr
ParenExpr = promql_parser.ParenExpr
UnaryExpr = promql_parser.UnaryExpr
NumberLiteral = promql_parser.NumberLiteral
StringLiteral = promql_parser.StringLiteral

# Functions that assume a counter: they correct for resets.
COUNTER_FUNCTIONS = frozenset({"rate", "irate", "increase", "resets"})
# Functions that assume a gauge: a counter reset looks like a huge drop to them.
GAUGE_FUNCTIONS = frozenset({"delta", "idelta", "deriv", "predict_linear"})
# Calls whose result does not depend on the values of their input (only on its labels or
# presence), so reading a raw counter through them is fine.
LABEL_ONLY_CALLS = frozenset({"absent", "timestamp"})
LABEL_ONLY_AGGREGATIONS = frozenset({"count", "group", "count_values"})
# Aggregations that keep the labels of the series they select.
SELECTING_AGGREGATIONS = frozenset({"topk", "bottomk", "limitk", "limit_ratio"})
# Functions that return a scalar, not a vector.
SCALAR_FUNCTIONS = frozenset(
    {"scalar", "time", "pi", "start", "end", "range", "step", "min_of", "max_of"}
)

_LEGACY_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_ANALYSES = "promql.analyses"
_BY_ID = "promql.analyses-by-id"
_RECORDING_RULES = "promql.recording-rules"
_SELECTORS_BY_NAME = "promql.selectors-by-name"
_CALLS_BY_NAME = "promql.calls-by-name"
_READS_RECORDED = "promql.reads-recorded"
_SERIES = "promql.series"
_LEGACY_NAMES = "promql.legacy-names"
_RECORDED_LABELS = "promql.recorded-labels"


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
            cached = [(p, analyse(p)) for p in context.expressions if p.ast is not None]
        finally:
            if collecting:
                gc.enable()
        context.extra[_ANALYSES] = cached
        context.extra[_BY_ID] = {id(p): a for p, a in cached}
    return cached


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
            name = node.name or _name_matcher(node)
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


def _name_matcher(selector: Any) -> str:
    """The name given by a `__name__="x"` matcher (also how {"x"} parses), else ''."""
    for matcher in selector.matchers.matchers:
        if matcher.name == "__name__" and matcher.op == promql_parser.MatchOp.Equal:
            return str(matcher.value)
    return ""


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


# ---- the labels an expression's result carries ---------------------------------------------


class Labels:
    """Output labels: exactly `names`, or (open) any label except `names`. Immutable."""

    __slots__ = ("names", "open", "scalar")

    # A plain class: label inference builds many of these, and frozen dataclasses are slow.
    def __init__(self, names: frozenset[str], open: bool = False, scalar: bool = False) -> None:
        self.names = names
        self.open = open
        self.scalar = scalar

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Labels) and (self.names, self.open, self.scalar) == (
            other.names,
            other.open,
            other.scalar,
        )

    def __hash__(self) -> int:
        return hash((self.names, self.open, self.scalar))

    def __repr__(self) -> str:
        return f"Labels({sorted(self.names)}, open={self.open}, scalar={self.scalar})"

    def has(self, label: str) -> bool:
        """True unless the label is certainly absent."""
        return (label not in self.names) if self.open else (label in self.names)

    def keep(self, kept: Iterable[str]) -> Labels:
        """Only `kept` survive (by (...), on (...))."""
        if self.open:
            return Labels(frozenset(kept) - self.names)
        return Labels(self.names & frozenset(kept))

    def drop(self, dropped: Iterable[str]) -> Labels:
        """`dropped` are removed (without (...), ignoring (...))."""
        if self.open:
            return Labels(self.names | frozenset(dropped), open=True)
        return Labels(self.names - frozenset(dropped))

    def add(self, added: Iterable[str]) -> Labels:
        """`added` are set (label_replace destination, group_left labels)."""
        if self.open:
            return Labels(self.names - frozenset(added), open=True)
        return Labels(self.names | frozenset(added))

    def union(self, other: Labels) -> Labels:
        """Labels either side may carry (`or`)."""
        if self.open and other.open:
            return Labels(self.names & other.names, open=True)
        if self.open:
            return Labels(self.names - other.names, open=True)
        if other.open:
            return Labels(other.names - self.names, open=True)
        return Labels(self.names | other.names)

    def describe(self) -> str:
        """'model_name, pod', 'no labels' or 'every label except pod'."""
        if self.open:
            return "every label except " + ", ".join(sorted(self.names))
        return ", ".join(sorted(self.names)) if self.names else "no labels"


ANY = Labels(frozenset(), open=True)
NONE = Labels(frozenset())
SCALAR = Labels(frozenset(), scalar=True)
_LE = ("le",)


_CLOSING_CALLS = SCALAR_FUNCTIONS | {"vector", "absent", "absent_over_time", "info"}
_SET_OPERATORS = frozenset({"or", "and", "unless"})
_BY = promql_parser.AggModifierType.By
_ON = promql_parser.LabelModifierType.Include
_ONE_TO_ONE = promql_parser.VectorMatchCardinality.OneToOne


def keeps_labels(analysis: Analysis, used: list[str]) -> bool:
    """A quick, conservative test: True only when nothing in the expression can drop `used`
    (callers rule out selectors of recorded series). When False, ask output_labels()."""
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


def output_labels(context: CheckContext, parsed: ParsedExpression, analysis: Analysis) -> Labels:
    """The labels of the expression's result; ANY when they cannot be known."""
    recorded = context.recorded_names
    values: dict[int, Labels] = {}
    get = values.get
    for node in reversed(analysis.nodes):  # every node after all of its children
        kind = type(node)
        if kind is VectorSelector:
            name = node.name
            value = recorded_labels(context, name) if name and name in recorded else ANY
        elif kind is MatrixSelector:
            value = get(id(node.vector_selector), ANY)
        elif kind is Call:
            value = _call_labels(node, values)
        elif kind is AggregateExpr:
            value = _aggregation_labels(node, get(id(node.expr), ANY))
        elif kind is BinaryExpr:
            value = _binary_labels(node, get(id(node.lhs), ANY), get(id(node.rhs), ANY))
        elif kind is NumberLiteral or kind is StringLiteral:
            value = SCALAR
        else:  # parentheses, unary minus, subqueries
            value = get(id(node.expr), ANY)
        values[id(node)] = value
    return values.get(id(parsed.ast), ANY)


def _aggregation_labels(node: Any, inner: Labels) -> Labels:
    op = str(node.op)
    if inner.scalar:
        return ANY
    if op in SELECTING_AGGREGATIONS:
        return inner
    modifier = node.modifier
    if modifier is None:
        grouped = NONE
    elif modifier.type == promql_parser.AggModifierType.By:
        grouped = inner.keep(modifier.labels)
    else:
        grouped = inner.drop(modifier.labels)
    if op == "count_values" and type(node.param) is StringLiteral:
        grouped = grouped.add([node.param.val])
    return grouped


def _call_labels(node: Any, values: dict[int, Labels]) -> Labels:
    function = node.func.name
    args = node.args
    if function in SCALAR_FUNCTIONS:
        return SCALAR
    if function == "vector":
        return NONE
    if function in ("absent", "absent_over_time"):
        return _absent_labels(args[0]) if args else NONE
    if function in ("label_replace", "label_join"):
        if len(args) > 1 and type(args[1]) is StringLiteral:
            return values.get(id(args[0]), ANY).add([args[1].val])
        return ANY
    if function == "histogram_quantile" and len(args) > 1:
        return values.get(id(args[1]), ANY).drop(_LE)
    if function in ("info", "histogram_quantiles"):
        return ANY
    for argument in args:
        labels = values.get(id(argument), ANY)
        if not labels.scalar:
            return labels
    return ANY


def _absent_labels(argument: Any) -> Labels:
    """absent() returns the labels of its selector's equality matchers."""
    if type(argument) is MatrixSelector:
        argument = argument.vector_selector
    if type(argument) is not VectorSelector:
        return NONE
    equal = promql_parser.MatchOp.Equal
    return Labels(
        frozenset(
            m.name for m in argument.matchers.matchers if m.op == equal and m.name != "__name__"
        )
    )


def _binary_labels(node: Any, lhs: Labels, rhs: Labels) -> Labels:
    if lhs.scalar and rhs.scalar:
        return SCALAR
    if lhs.scalar:
        return rhs
    if rhs.scalar:
        return lhs
    op = str(node.op)
    if op == "or":
        return lhs.union(rhs)
    if op in ("and", "unless"):
        return lhs
    modifier = node.modifier
    if modifier is None:
        return lhs
    card = modifier.card
    include = modifier.group_labels or ()
    if card == promql_parser.VectorMatchCardinality.ManyToOne:
        return lhs.add(include)
    if card == promql_parser.VectorMatchCardinality.OneToMany:
        return rhs.add(include)
    matching = modifier.matching
    if matching is None:
        return lhs
    if matching.type == promql_parser.LabelModifierType.Include:
        return lhs.keep(matching.labels)
    return lhs.drop(matching.labels)


def recorded_labels(context: CheckContext, name: str) -> Labels:
    """The labels a recording rule's series carry (ANY for anything else)."""
    cache: dict[str, Labels] = context.extra.setdefault(_RECORDED_LABELS, {})
    if name in cache:
        return cache[name]
    rules = _recording_rules(context).get(name)
    if not rules:
        return ANY
    cache[name] = ANY  # a rule that (indirectly) reads itself stays unknown
    result: Labels | None = None
    for parsed in rules:
        labels = ANY
        if parsed.ast is not None:
            labels = output_labels(context, parsed, analysis_of(context, parsed))
            static = parsed.source.rule.get("labels")
            if isinstance(static, dict):
                labels = labels.add([str(k) for k in static])
        result = labels if result is None else result.union(labels)
    cache[name] = result or ANY
    return cache[name]


def _recording_rules(context: CheckContext) -> dict[str, list[ParsedExpression]]:
    rules: dict[str, list[ParsedExpression]] | None = context.extra.get(_RECORDING_RULES)
    if rules is None:
        rules = {}
        for parsed in context.expressions:
            record = parsed.source.rule.get("record") if parsed.source.kind == "record" else None
            if isinstance(record, str):
                rules.setdefault(record, []).append(parsed)
        context.extra[_RECORDING_RULES] = rules
    return rules


def analysis_of(context: CheckContext, parsed: ParsedExpression) -> Analysis:
    """The analysis of one expression, from the per-run cache when it is there."""
    analyses(context)
    found: Analysis | None = context.extra[_BY_ID].get(id(parsed))
    return found if found is not None else analyse(parsed)
