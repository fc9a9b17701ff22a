"""promql/syntax: every expression parses (dashboard queries after variable substitution)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import promql_parser

from generator.checks.expressions import Expression
from generator.checks.problem import Problem
from generator.grafana_variables import substitute

CHECK_ID = "promql/syntax"


def check_syntax(expressions: Iterable[Expression]) -> Iterator[Problem]:
    """Yields one error per expression that PromQL cannot parse."""
    for expression in expressions:
        text = substitute(expression.text) if expression.templated else expression.text
        if not text.strip():
            yield Problem(
                CHECK_ID,
                "error",
                "empty expression",
                expression.file,
                expression.location,
                hint="remove the target or give it a query",
            )
            continue
        try:
            promql_parser.parse(text)
        except (ValueError, TypeError, RecursionError) as exc:
            yield Problem(
                CHECK_ID,
                "error",
                f"cannot parse {expression.text!r}: {exc}",
                expression.file,
                expression.location,
            )
