"""Iterative traversal of promql-parser ASTs (its own walk() is recursive and slow when deep)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import promql_parser

# The node types by name: `type(node) is VectorSelector` is the fast test.
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


def children(node: Any) -> list[Any]:
    """The direct sub-expressions of a node, left to right."""
    if isinstance(node, promql_parser.BinaryExpr):
        return [node.lhs, node.rhs]
    if isinstance(node, promql_parser.AggregateExpr):
        return [n for n in (node.param, node.expr) if n is not None]
    if isinstance(node, promql_parser.Call):
        return list(node.args)
    if isinstance(node, promql_parser.MatrixSelector):
        return [node.vector_selector]
    if isinstance(
        node, promql_parser.ParenExpr | promql_parser.UnaryExpr | promql_parser.SubqueryExpr
    ):
        return [node.expr]
    return []


def walk(root: Any) -> Iterator[Any]:
    """Every node below and including `root`, depth first, in source order."""
    stack = [root]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(children(node)))


def vector_selectors(root: Any) -> list[Any]:
    """Every VectorSelector in the tree (range selectors included), in source order."""
    return [n for n in walk(root) if isinstance(n, promql_parser.VectorSelector)]


def selector_name(selector: Any) -> str:
    """The metric name a vector selector selects: its name, else the value of a
    `__name__="x"` matcher (how {"x"} parses), else ''."""
    if selector.name:
        return str(selector.name)
    for matcher in selector.matchers.matchers:
        if matcher.name == "__name__" and matcher.op == promql_parser.MatchOp.Equal:
            return str(matcher.value)
    return ""


def metric_names(expr: str) -> list[str]:
    """Metric names selected by `expr`, in source order (ValueError if it does not parse)."""
    return [s.name for s in vector_selectors(promql_parser.parse(expr)) if s.name]
