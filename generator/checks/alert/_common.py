"""What the alert/ checks share: the alerting rules, the metrics an expression
reads through recording rules, and a bottom-up fold over expressions.

Which labels an expression's result carries is generator.checks.labels' to say.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import promql_parser

from generator.checks.base import MAX_RECORD_DEPTH, CheckContext, ParsedExpression
from generator.checks.expressions import Location, group_rules, rule_groups, rule_location
from generator.promql_ast import selector_name

T = TypeVar("T")
_INDEX_KEY = "alert/_common.RuleIndex"
_RECORDED_METRICS = "alert/_common.recorded-metrics"


@dataclass(frozen=True)
class AlertRule:
    """One alerting rule of a rule file, with its parsed expression (None: unparsed)."""

    file: str
    group: dict[str, Any]
    rule: dict[str, Any]
    parsed: ParsedExpression | None

    @property
    def name(self) -> str:
        return str(self.rule.get("alert", ""))

    @property
    def location(self) -> Location:
        return rule_location(self.group, self.rule)

    @property
    def ast(self) -> Any:
        return self.parsed.ast if self.parsed is not None else None

    def text_fields(self, key: str) -> dict[str, str]:
        """The rule's labels or annotations whose values are strings."""
        found = self.rule.get(key)
        if not isinstance(found, dict):
            return {}
        return {str(k): v for k, v in found.items() if isinstance(v, str)}


def alerting_rules(context: CheckContext) -> Iterator[AlertRule]:
    """Every alerting rule of every rule document, in file order."""
    index = rule_index(context)
    for document in context.rule_files:
        for group in rule_groups(document.data):
            for rule in group_rules(group):
                if "alert" in rule:
                    yield AlertRule(document.file, group, rule, index.parsed(rule))


def rule_index(context: CheckContext) -> RuleIndex:
    """The context's RuleIndex, built once and shared by the alert checks."""
    index = context.extra.get(_INDEX_KEY)
    if not isinstance(index, RuleIndex):
        index = RuleIndex(context.expressions)
        context.extra[_INDEX_KEY] = index
    return index


class RuleIndex:
    """The parsed expression of every alerting and recording rule, by rule."""

    def __init__(self, expressions: list[ParsedExpression]) -> None:
        self._by_rule: dict[int, ParsedExpression] = {
            id(parsed.source.rule): parsed
            for parsed in expressions
            if parsed.source.kind in ("alert", "record")
        }

    def parsed(self, rule: dict[str, Any]) -> ParsedExpression | None:
        return self._by_rule.get(id(rule))


def metric_names(context: CheckContext, ast: Any) -> frozenset[str]:
    """Metric names `ast` reads, also through the recording rules it selects (followed
    MAX_RECORD_DEPTH deep)."""
    cache: dict[str, frozenset[str]] = context.extra.setdefault(_RECORDED_METRICS, {})
    return _metric_names(ast, context.recording_rules, cache, set(), 0)


def _metric_names(
    ast: Any,
    records: dict[str, list[ParsedExpression]],
    cache: dict[str, frozenset[str]],
    busy: set[str],
    depth: int,
) -> frozenset[str]:
    names: set[str] = set()
    for node in _nodes(ast):
        name = selector_name(node) if isinstance(node, promql_parser.VectorSelector) else ""
        if not name:
            continue
        names.add(name)
        found = cache.get(name)
        if found is None and name in records and depth < MAX_RECORD_DEPTH and name not in busy:
            busy.add(name)
            found = cache[name] = frozenset().union(
                *(
                    _metric_names(parsed.ast, records, cache, busy, depth + 1)
                    for parsed in records[name]
                    if parsed.ast is not None
                )
            )
            busy.discard(name)
        names |= found or frozenset()
    return frozenset(names)


def _nodes(ast: Any) -> Iterator[Any]:
    stack = [ast] if ast is not None else []
    while stack:
        node = stack.pop()
        yield node
        stack.extend(operands(node))
        if isinstance(node, promql_parser.MatrixSelector):
            stack.append(node.vector_selector)


def operands(node: Any) -> list[Any]:
    """Sub-expressions whose labels feed the node's (an aggregation's parameter does not)."""
    if isinstance(node, promql_parser.BinaryExpr):
        return [node.lhs, node.rhs]
    if isinstance(node, promql_parser.AggregateExpr):
        return [node.expr]
    if isinstance(node, promql_parser.Call):
        return list(node.args)
    if isinstance(
        node, promql_parser.ParenExpr | promql_parser.UnaryExpr | promql_parser.SubqueryExpr
    ):
        return [node.expr]
    return []


def fold(root: Any, combine: Callable[[Any, list[T]], T]) -> T:
    """combine(node, values of its operands) applied bottom-up over `root`, without recursion."""
    values: list[T] = []
    stack: list[tuple[Any, int]] = [(root, -1)]
    while stack:
        node, arity = stack.pop()
        if arity < 0:
            below = operands(node)
            stack.append((node, len(below)))
            stack.extend((operand, -1) for operand in reversed(below))
            continue
        arguments = values[len(values) - arity :]
        del values[len(values) - arity :]
        values.append(combine(node, arguments))
    return values[-1]
