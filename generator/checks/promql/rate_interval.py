"""promql/rate-interval: range windows that follow the data.

Dashboard queries: a range vector read by a function should be [$__rate_interval], which
Grafana keeps at least four scrape intervals and in step with the panel's resolution. A
fixed literal window is reported; so is $__interval under rate-like functions (it can be
shorter than two scrapes). $__range, $__rate_interval and the dashboard's own variables are
accepted. Rules: a range shorter than four times prometheus.scrape_interval is reported.
Subquery ranges are not judged (their step, not the scrape interval, sets their samples).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from generator.checks.base import Check, CheckContext, ParsedExpression
from generator.checks.problem import Problem
from generator.checks.promql._analysis import (
    COUNTER_FUNCTIONS,
    GAUGE_FUNCTIONS,
    Analysis,
    analyses,
    bracket_spans,
    duration,
    ranges_in_text_order,
)
from generator.promql_ast import MatrixSelector, SubqueryExpr

# Functions that compare the first and last samples of the window: $__interval is too short.
_RATE_LIKE = COUNTER_FUNCTIONS | GAUGE_FUNCTIONS | {"changes"}
_VARIABLE = re.compile(r"^\s*(\$\{?(\w+)(?:[:.][^}]*)?\}?|\[\[(\w+)(?::\w+)?\]\])\s*$")


def run(context: CheckContext) -> Iterator[Problem]:
    scrape = duration(context.settings.prometheus.scrape_interval)
    shortest = scrape * 4 if scrape else None
    for parsed, analysis in analyses(context):
        if not analysis.ranges:
            continue
        kind = parsed.source.kind
        if kind == "panel":
            yield from _dashboard_ranges(parsed, analysis)
        elif kind in ("alert", "record") and shortest is not None:
            yield from _rule_ranges(parsed, analysis, shortest, context)


def _dashboard_ranges(parsed: ParsedExpression, analysis: Analysis) -> Iterator[Problem]:
    ordered = ranges_in_text_order(parsed, analysis)
    spans = bracket_spans(parsed.parser_text)
    if len(spans) != len(ordered):
        return  # cannot tell which text belongs to which range: never guess
    text, parser_text = parsed.source.text, parsed.parser_text
    reported: set[str] = set()
    for (node, _), (start, end) in zip(ordered, spans, strict=True):
        if (type(node) is SubqueryExpr) != (":" in parser_text[start:end]):
            return  # the brackets do not line up with the AST: never guess
    for (node, function), (start, end) in zip(ordered, spans, strict=True):
        if type(node) is SubqueryExpr or not function:
            continue
        written = text[start:end]
        problem = _dashboard_problem(function, written.strip())
        if problem and written not in reported:
            reported.add(written)
            yield CHECK.at(parsed.source, problem[0], hint=problem[1])


def _dashboard_problem(function: str, written: str) -> tuple[str, str] | None:
    variable = _VARIABLE.match(written)
    if variable is None:
        if "$" in written or "[[" in written:
            return None  # a variable among other text: leave it to the author
        return (
            f"{function}() uses the fixed window [{written}]; dashboard queries should use "
            f"[$__rate_interval]",
            "a fixed window is too short when the scrape interval is long and too coarse "
            "when zoomed in; $__rate_interval follows both (use $__range for a total over "
            "the whole time range)",
        )
    name = variable.group(2) or variable.group(3)
    if name == "__interval" and function in _RATE_LIKE:
        return (
            f"{function}() uses [{written}]: $__interval can be shorter than two scrapes, "
            f"and then {function}() returns nothing",
            "use [$__rate_interval], which is never shorter than four scrape intervals",
        )
    return None


def _rule_ranges(
    parsed: ParsedExpression, analysis: Analysis, shortest: timedelta, context: CheckContext
) -> Iterator[Problem]:
    reported: set[timedelta] = set()
    scrape = context.settings.prometheus.scrape_interval
    for node, function in analysis.ranges:
        if type(node) is not MatrixSelector:
            continue
        window: Any = node.range
        if not isinstance(window, timedelta) or window >= shortest or window in reported:
            continue
        reported.add(window)
        yield CHECK.at(
            parsed.source,
            f"{f'{function}() window' if function else 'range'} [{_format(window)}] is "
            f"shorter than four scrape "
            f"intervals ({_format(shortest)} with prometheus.scrape_interval {scrape})",
            hint=f"use at least [{_format(shortest)}]: with fewer samples one missed or late "
            f"scrape leaves the window nearly empty and the rule flaps",
        )


def _format(window: timedelta) -> str:
    milliseconds = int(window.total_seconds() * 1000)
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        if milliseconds % size == 0:
            return f"{milliseconds // size}{unit}"
    return f"{milliseconds}ms"


CHECK = Check(
    "promql/rate-interval",
    "warning",
    "dashboards use $__rate_interval; rule windows span at least four scrape intervals",
    run,
)
