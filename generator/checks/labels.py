"""Which labels an expression's result series carry, for every check that needs to know.

`output_labels` infers them from the AST, bottom-up and without recursion (expressions may be
deeply nested): `by (...)` keeps exactly its labels (those the input has, when that is known),
`without (...)` removes its labels, an aggregation with no grouping keeps none; label_replace,
label_join and count_values add theirs, histogram_quantile drops le, absent() keeps the labels
of its equality matchers, vector() has none; a one-to-one match keeps the left side's labels
(the right side's when only they are known), only the `on (...)` labels or all but the
`ignoring (...)` ones, group_left/right add theirs; `or` unites both sides, `and`/`unless` keep
the left. A selector of a recording rule of the run has that rule's labels (its static labels
included); any other selector, and whatever cannot be known, may carry any label.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import promql_parser

from generator.checks.base import MAX_RECORD_DEPTH, CheckContext, ParsedExpression
from generator.promql_ast import (
    AggregateExpr,
    BinaryExpr,
    Call,
    MatrixSelector,
    NumberLiteral,
    ParenExpr,
    StringLiteral,
    VectorSelector,
    selector_name,
)

# Aggregations that keep the labels of the series they select.
SELECTING_AGGREGATIONS = frozenset({"topk", "bottomk", "limitk", "limit_ratio"})
# Functions that return a scalar, not a vector.
SCALAR_FUNCTIONS = frozenset(
    {"scalar", "time", "pi", "start", "end", "range", "step", "min_of", "max_of"}
)

_EQUAL = promql_parser.MatchOp.Equal
_BY = promql_parser.AggModifierType.By
_ON = promql_parser.LabelModifierType.Include
_MANY_TO_ONE = promql_parser.VectorMatchCardinality.ManyToOne
_ONE_TO_MANY = promql_parser.VectorMatchCardinality.OneToMany
_LE = ("le",)
_RECORDED_LABELS = "labels.recorded"  # keys in CheckContext.extra
_RECORDING = "labels.recording"


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


def output_labels(context: CheckContext, parsed: ParsedExpression) -> Labels:
    """The labels of the expression's result: SCALAR for a scalar, ANY when they cannot be
    known (also when the expression does not parse)."""
    recorded = context.recorded_names
    values: dict[int, Labels] = {}
    get = values.get
    for node in reversed(parsed.nodes):  # pre-order reversed: each node after its children
        kind = type(node)
        if kind is VectorSelector:
            value = ANY
            if recorded:
                name = selector_name(node)
                if name in recorded:
                    value = recorded_labels(context, name)
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


def recorded_labels(context: CheckContext, name: str) -> Labels:
    """The labels of the series a recording rule of the run records (the union over its
    rules), ANY for any other name, a rule that reads itself or a chain deeper than
    MAX_RECORD_DEPTH."""
    cache: dict[str, Labels] = context.extra.setdefault(_RECORDED_LABELS, {})
    found = cache.get(name)
    if found is not None:
        return found
    rules = context.recording_rules.get(name)
    recording: list[str] = context.extra.setdefault(_RECORDING, [])
    if not rules or len(recording) >= MAX_RECORD_DEPTH:
        return ANY
    cache[name] = ANY  # a rule that (indirectly) reads itself stays unknown
    recording.append(name)
    try:
        result: Labels | None = None
        for parsed in rules:
            labels = output_labels(context, parsed)
            static = parsed.source.rule.get("labels")
            if isinstance(static, dict):
                labels = labels.add([str(k) for k in static])
            result = labels if result is None else result.union(labels)
    finally:
        recording.pop()
    cache[name] = result or ANY
    return cache[name]


def _aggregation_labels(node: Any, inner: Labels) -> Labels:
    op = str(node.op)
    if inner.scalar:
        return ANY
    if op in SELECTING_AGGREGATIONS:
        return inner
    modifier = node.modifier
    if modifier is None:
        grouped = NONE
    elif modifier.type == _BY:
        grouped = inner.keep(modifier.labels)
    else:
        grouped = inner.drop(modifier.labels)
    if op == "count_values":
        label = _string(node.param)
        return ANY if label is None else grouped.add([label])
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
        label = _string(args[1]) if len(args) > 1 else None
        return ANY if label is None else values.get(id(args[0]), ANY).add([label])
    if function == "histogram_quantile" and len(args) > 1:
        return values.get(id(args[1]), ANY).drop(_LE)
    if function in ("info", "histogram_quantiles"):
        return ANY
    for argument in args:
        labels = values.get(id(argument), ANY)
        if not labels.scalar:
            return labels
    return ANY


def _string(node: Any) -> str | None:
    """The value of a string literal, also in parentheses; None for anything else."""
    while type(node) is ParenExpr:
        node = node.expr
    return str(node.val) if type(node) is StringLiteral else None


def _absent_labels(argument: Any) -> Labels:
    """absent(x{a="1"}) returns {a="1"}: the labels of the selector's equality matchers."""
    if type(argument) is MatrixSelector:
        argument = argument.vector_selector
    if type(argument) is not VectorSelector:
        return NONE
    return Labels(
        frozenset(
            m.name for m in argument.matchers.matchers if m.op == _EQUAL and m.name != "__name__"
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
        return _matched(lhs, rhs)
    card = modifier.card
    include = modifier.group_labels or ()
    if card == _MANY_TO_ONE:
        return lhs.add(include)
    if card == _ONE_TO_MANY:
        return rhs.add(include)
    matching = modifier.matching
    if matching is None:
        return _matched(lhs, rhs)
    if matching.type == _ON:
        return lhs.keep(matching.labels)
    return lhs.drop(matching.labels)


def _matched(lhs: Labels, rhs: Labels) -> Labels:
    """A one-to-one match on all labels: both sides carry the same, so either side tells."""
    return rhs if lhs.open and not rhs.open else lhs
