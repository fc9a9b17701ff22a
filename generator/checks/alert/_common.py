"""What the alert/ checks share: the alerting rules, durations and output-label inference.

Output-label inference answers "which labels can the expression's result series carry?":
an aggregation `by (a, b)` keeps exactly a and b (those its input has, when that is known),
one without grouping keeps none, `without (...)` and plain selectors keep an unknown set
(None: nothing is reported). A selector of a recording rule defined in the validated files
has that rule's output labels. The traversal is iterative, so deep expressions are fine.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import promql_parser

from generator.checks.base import CheckContext, ParsedExpression
from generator.checks.expressions import Location, group_rules, rule_groups, rule_location

T = TypeVar("T")
Labels = frozenset[str] | None  # None: unknown, any label may be present
_Shape = tuple[bool, Labels]  # (is the value a scalar?, labels of its series)
_SCALAR: _Shape = (True, frozenset())
_DURATION = re.compile(
    r"(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?"
)
_DURATION_UNITS = (365 * 86400, 7 * 86400, 86400, 3600, 60, 1, 0.001)
_MAX_RECORD_DEPTH = 16  # recording rules reading recording rules, deeper is "unknown"
_SAMPLING_AGGREGATIONS = frozenset({"topk", "bottomk", "limitk", "limit_ratio"})
_INDEX_KEY = "alert/_common.RuleIndex"


def parse_duration(value: Any) -> float | None:
    """Seconds in a Prometheus duration ("1h30m", "90s", "0"), or None when it is not one."""
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(text, str) or not text:
        return None
    if text == "0":
        return 0.0
    match = _DURATION.fullmatch(text)
    if match is None:
        return None
    return sum(int(v) * unit for v, unit in zip(match.groups(), _DURATION_UNITS, strict=True) if v)


def format_duration(seconds: float) -> str:
    """90 -> "1m30s", 120 -> "2m", 0.5 -> "500ms"."""
    if seconds < 1:
        return f"{round(seconds * 1000)}ms"
    whole = int(seconds)
    parts = []
    for unit, size in (("h", 3600), ("m", 60), ("s", 1)):
        if whole >= size:
            parts.append(f"{whole // size}{unit}")
            whole %= size
    return "".join(parts)


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
    """Parsed rule expressions by rule, and what recording rules produce, by record name."""

    def __init__(self, expressions: list[ParsedExpression]) -> None:
        self._by_rule: dict[int, ParsedExpression] = {}
        self._records: dict[str, list[tuple[frozenset[str], Any]]] = {}
        for parsed in expressions:
            source = parsed.source
            if source.kind not in ("alert", "record"):
                continue
            self._by_rule[id(source.rule)] = parsed
            record = source.rule.get("record")
            if source.kind == "record" and isinstance(record, str):
                labels = source.rule.get("labels")
                keys = frozenset(map(str, labels)) if isinstance(labels, dict) else frozenset()
                self._records.setdefault(record, []).append((keys, parsed.ast))
        self._labels: dict[str, Labels] = {}
        self._metrics: dict[str, frozenset[str]] = {}
        self._busy: set[str] = set()

    def parsed(self, rule: dict[str, Any]) -> ParsedExpression | None:
        return self._by_rule.get(id(rule))

    def output_labels(self, ast: Any, depth: int = 0) -> Labels:
        """Labels the result of `ast` can carry, or None when that cannot be known."""
        return _infer(ast, lambda name: self._record_labels(name, depth + 1))[1]

    def metric_names(self, ast: Any, depth: int = 0) -> frozenset[str]:
        """Metric names `ast` reads, through the recording rules it selects."""
        names: set[str] = set()
        for node in _nodes(ast):
            name = _selector_name(node)
            if not name:
                continue
            names.add(name)
            if name in self._records:
                names |= self._record_metrics(name, depth + 1)
        return frozenset(names)

    def _record_labels(self, name: str, depth: int) -> Labels:
        if name in self._labels:
            return self._labels[name]
        definitions = self._records.get(name)
        if not definitions or depth > _MAX_RECORD_DEPTH or name in self._busy:
            return None
        self._busy.add(name)
        result: Labels = frozenset()
        for static, ast in definitions:
            labels = self.output_labels(ast, depth) if ast is not None else None
            if labels is None or result is None:
                result = None
                break
            result = result | labels | static
        self._busy.discard(name)
        self._labels[name] = result
        return result

    def _record_metrics(self, name: str, depth: int) -> frozenset[str]:
        if name in self._metrics:
            return self._metrics[name]
        if depth > _MAX_RECORD_DEPTH or name in self._busy:
            return frozenset()
        self._busy.add(name)
        names: set[str] = set()
        for _, ast in self._records.get(name, []):
            if ast is not None:
                names |= self.metric_names(ast, depth)
        self._busy.discard(name)
        self._metrics[name] = frozenset(names)
        return self._metrics[name]


def _nodes(ast: Any) -> Iterator[Any]:
    stack = [ast] if ast is not None else []
    while stack:
        node = stack.pop()
        yield node
        stack.extend(operands(node))
        if isinstance(node, promql_parser.MatrixSelector):
            stack.append(node.vector_selector)


def _selector_name(node: Any) -> str:
    if not isinstance(node, promql_parser.VectorSelector):
        return ""
    if node.name:
        return str(node.name)
    for matcher in node.matchers.matchers:
        if matcher.name == "__name__" and str(matcher.op) == "MatchOp.Equal":
            return str(matcher.value)
    return ""


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


def _infer(root: Any, resolve: Callable[[str], Labels]) -> _Shape:
    """The shape of `root`'s value: scalar or not, and its series' labels."""
    return fold(root, lambda node, arguments: _combine(node, arguments, resolve))


def _combine(node: Any, arguments: list[_Shape], resolve: Callable[[str], Labels]) -> _Shape:
    if isinstance(node, promql_parser.NumberLiteral | promql_parser.StringLiteral):
        return _SCALAR
    if isinstance(node, promql_parser.VectorSelector):
        return False, _resolve(node, resolve)
    if isinstance(node, promql_parser.MatrixSelector):
        return False, _resolve(node.vector_selector, resolve)
    if isinstance(node, promql_parser.AggregateExpr):
        return False, _aggregate(node, arguments[0][1])
    if isinstance(node, promql_parser.Call):
        return _call(node, arguments)
    if isinstance(node, promql_parser.BinaryExpr):
        return _binary(node, arguments[0], arguments[1])
    return arguments[0] if arguments else (False, None)  # ( ), unary minus, subquery


def _resolve(selector: Any, resolve: Callable[[str], Labels]) -> Labels:
    name = _selector_name(selector)
    return resolve(name) if name else None


def _aggregate(node: Any, inner: Labels) -> Labels:
    op = str(node.op)
    if op in _SAMPLING_AGGREGATIONS:
        return inner
    extra: frozenset[str] = frozenset()
    if op == "count_values":
        value = getattr(node.param, "val", None)
        if not isinstance(value, str):
            return None
        extra = frozenset({value})
    modifier = node.modifier
    grouping = frozenset(modifier.labels) if modifier is not None else frozenset()
    if modifier is None or str(modifier.type).endswith("By"):
        return (grouping if inner is None else grouping & inner) | extra
    return None if inner is None else (inner - grouping) | extra


def _call(node: Any, arguments: list[_Shape]) -> _Shape:
    function = node.func
    name = str(function.name)
    if str(function.return_type) == "ValueType.Scalar":
        return _SCALAR
    if name == "vector":
        return False, frozenset()
    if name in ("absent", "absent_over_time"):
        return False, _equality_labels(node.args[0]) if node.args else frozenset()
    vectors = [labels for scalar, labels in arguments if not scalar]
    first = vectors[0] if vectors else frozenset()
    if first is None:
        return False, None
    if name in ("label_replace", "label_join"):
        destination = getattr(node.args[1], "val", None) if len(node.args) > 1 else None
        return False, first | {destination} if isinstance(destination, str) else None
    if name == "histogram_quantile":
        return False, first - {"le"}
    return False, first


def _equality_labels(argument: Any) -> frozenset[str]:
    """absent(x{a="1"}) returns {a="1"}: the labels of the selector's equality matchers."""
    if isinstance(argument, promql_parser.MatrixSelector):
        argument = argument.vector_selector
    if not isinstance(argument, promql_parser.VectorSelector):
        return frozenset()
    return frozenset(
        m.name
        for m in argument.matchers.matchers
        if str(m.op) == "MatchOp.Equal" and m.name != "__name__"
    )


def _binary(node: Any, left: _Shape, right: _Shape) -> _Shape:
    (left_scalar, left_labels), (right_scalar, right_labels) = left, right
    if left_scalar and right_scalar:
        return _SCALAR
    if left_scalar or right_scalar:
        return False, right_labels if left_scalar else left_labels
    op = str(node.op)
    if op in ("and", "unless"):
        return False, left_labels
    if op == "or":
        if left_labels is None or right_labels is None:
            return False, None
        return False, left_labels | right_labels
    modifier = node.modifier
    if modifier is None:
        return False, left_labels if left_labels is not None else right_labels
    card = str(modifier.card)
    group = frozenset(modifier.group_labels or ())
    if card.endswith("ManyToOne"):  # group_left: the left side's labels plus the copied ones
        return False, None if left_labels is None else left_labels | group
    if card.endswith("OneToMany"):
        return False, None if right_labels is None else right_labels | group
    matching = modifier.matching
    if matching is None:
        return False, left_labels if left_labels is not None else right_labels
    names = frozenset(matching.labels)
    if str(matching.type).endswith("Include"):  # on (...): only the matching labels remain
        return False, names if left_labels is None else left_labels & names
    return False, None if left_labels is None else left_labels - names
