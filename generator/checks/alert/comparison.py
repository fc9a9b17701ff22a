"""alert/comparison: an alert expression filters, so it fires only when something is wrong.

Without a comparison an alert expression returns a series whenever the metric exists, so
the alert fires all the time. The expression must filter: a comparison (==, !=, >, <, >=, <=
without `bool`), `unless`, absent() / absent_over_time(); `and`, arithmetic, aggregations,
functions and subqueries filter when one of their operands does (sum(x > 1) is empty when
nothing is above 1); `or` filters only when both sides do. scalar() and vector() never filter.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import promql_parser

from generator.checks.alert._common import alerting_rules, fold
from generator.checks.base import Check, CheckContext
from generator.checks.problem import Problem

COMPARISONS = frozenset({"==", "!=", ">", "<", ">=", "<="})
_ABSENT = frozenset({"absent", "absent_over_time"})


def run(context: CheckContext) -> Iterator[Problem]:
    for alert in alerting_rules(context):
        if alert.ast is None or fold(alert.ast, _filters):
            continue
        yield CHECK.problem(
            f"alert '{alert.name}' has no comparison: its expression returns a value for "
            f"every series, so the alert always fires",
            alert.file,
            alert.location,
            hint="compare with a threshold (e.g. ... > 0.9); use absent(...) to alert on "
            "missing series",
        )


def _filters(node: Any, operands: list[bool]) -> bool:
    """Whether `node` returns nothing when its condition does not hold."""
    if isinstance(node, promql_parser.BinaryExpr):
        op = str(node.op)
        modifier = node.modifier
        if op in COMPARISONS and not (modifier is not None and modifier.return_bool):
            return True
        if op == "unless":
            return True
        if op == "or":
            return all(operands)
        return any(operands)
    if isinstance(node, promql_parser.Call):
        name = str(node.func.name)
        if name in _ABSENT:
            return True
        if name == "vector" or str(node.func.return_type) == "ValueType.Scalar":
            return False
    return any(operands)


CHECK = Check(
    "alert/comparison",
    "warning",
    "an alert expression contains a comparison, so it does not always fire",
    run,
)
