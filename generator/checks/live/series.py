"""live/series: every selector matches at least one series in the Prometheus of --prometheus.

Asks /api/v1/series (index only, no samples are read) for each distinct selector over the last
hour, so a metric that is scraped now or was a few minutes ago counts, even when the panel's
own time range or a `count()` at one instant would miss it. Only the start of each answer is
read, so a selector matching a million series costs what one matching a single series does.
Offsets and `@` are ignored: the question is whether the selector matches what is collected now.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial

import promql_parser

from generator.checks.base import Check, CheckContext, ParsedExpression
from generator.checks.problem import Problem
from generator.grafana_variables import REFERENCE
from generator.prometheus_api import (
    ApiError,
    Outcome,
    PrometheusClient,
    connection,
    run_bounded,
)

MAX_SELECTORS = 500  # distinct selectors looked up per run; the rest are reported, not asked
WINDOW_SECONDS = 3600
LIVE_FILE = "(prometheus)"  # the `file` of problems about the run rather than one document
_OPERATORS = {
    "MatchOp.Equal": "=",
    "MatchOp.NotEqual": "!=",
    "MatchOp.Re": "=~",
    "MatchOp.NotRe": "!~",
}
_METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")

Matcher = tuple[str, str, str]  # label, operator, value


@dataclass(frozen=True)
class Selector:
    """A vector selector as Prometheus will be asked about it (Grafana variables dropped)."""

    name: str  # the metric name, or "" when only labels select
    matchers: tuple[Matcher, ...] = ()

    @property
    def text(self) -> str:
        """PromQL text, e.g. vllm:num_requests_running{model_name="m"}."""
        matchers = list(self.matchers)
        name = self.name
        if name and not _METRIC_NAME.fullmatch(name):
            matchers.insert(0, ("__name__", "=", name))
            name = ""
        inner = ",".join(f"{label}{op}{_quote(value)}" for label, op, value in matchers)
        return f"{name}{{{inner}}}" if inner or not name else name


def budget_seconds(context: CheckContext) -> float:
    """Wall-clock bound of one live check's requests."""
    return max(60.0, 3 * context.prometheus_timeout)


def expression_selectors(parsed: ParsedExpression) -> list[Selector]:
    """The distinct selectors of an expression that can be looked up, in source order.

    In dashboard queries a matcher whose value uses a Grafana variable matches anything (it
    is dropped), and a selector whose metric or label name is a variable is skipped."""
    if parsed.ast is None:
        return []
    source = parsed.source.text if parsed.source.templated else None
    found: dict[Selector, None] = {}
    for node in parsed.nodes:
        if isinstance(node, promql_parser.VectorSelector):
            selector = _selector(node, source)
            if selector is not None:
                found.setdefault(selector)
    return list(found)


def _selector(node: promql_parser.VectorSelector, source: str | None) -> Selector | None:
    if node.matchers.or_matchers:  # `{a="x" or b="y"}`: not Prometheus syntax
        return None
    name = node.name or ""
    if name and source is not None and not _written(name, source):
        return None  # the metric name is (part) Grafana variable
    matchers: set[Matcher] = set()
    for matcher in node.matchers.matchers:
        label, op, value = matcher.name, _OPERATORS[str(matcher.op)], matcher.value
        if source is not None and (REFERENCE.search(value) or not _written(label, source)):
            continue
        if not _LABEL_NAME.fullmatch(label):
            return None  # a UTF-8 label name: not expressible for Prometheus 2.x
        if label == "__name__" and op == "=" and not name:
            name = value
        else:
            matchers.add((label, op, value))
    if not name and all(_matches_empty(op, value) for _, op, value in matchers):
        return None  # Prometheus refuses a selector that matches every series
    return Selector(name, tuple(sorted(matchers)))


def _written(name: str, source: str) -> bool:
    """Whether `name` appears as written in the user's text (not as a variable placeholder)."""
    return re.search(rf"(?<![\w:]){re.escape(name)}(?![\w:])", source) is not None


def _matches_empty(op: str, value: str) -> bool:
    if op == "=":
        return value == ""
    if op == "!=":
        return value != ""
    try:
        empty = re.fullmatch(value, "") is not None
    except (re.error, RecursionError, OverflowError):
        return False  # let Prometheus judge the regex
    return empty if op == "=~" else not empty


def _quote(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t") + '"'


def run(context: CheckContext) -> Iterator[Problem]:
    client = connection(context)
    if isinstance(client, str):
        yield CHECK.problem(
            client,
            LIVE_FILE,
            severity="error",
            hint="check --prometheus (e.g. http://prometheus:9090) or leave it out to run "
            "only the offline checks",
        )
        return
    uses: dict[Selector, list[ParsedExpression]] = {}
    for parsed in context.expressions:
        for selector in expression_selectors(parsed):
            uses.setdefault(selector, []).append(parsed)
    chosen = list(uses)[:MAX_SELECTORS]
    if len(uses) > MAX_SELECTORS:
        yield _capped(len(uses))
    deadline = time.monotonic() + budget_seconds(context)
    end = time.time()
    ask = partial(_ask, client, end - WINDOW_SECONDS, end)
    found, outcome = run_bounded({s: ask(s) for s in chosen}, budget_seconds(context))
    # A missing selector with matchers: does the metric have series at all? (within the cap)
    bare = {Selector(s.name) for s in chosen if found.get(s) is False and s.matchers}
    extra = sorted(bare - set(chosen), key=lambda s: s.name)[: MAX_SELECTORS - len(chosen)]
    names, later = run_bounded({s: ask(s) for s in extra}, deadline - time.monotonic())
    found.update(names)
    for selector in chosen:
        result = found.get(selector)
        for parsed in uses[selector]:
            if result is False:
                yield _missing(context, parsed, selector, found.get(Selector(selector.name)))
            elif isinstance(result, ApiError):
                yield CHECK.at(
                    parsed.source,
                    f"Prometheus cannot look up {selector.text}: {result}",
                    severity="info",
                    hint="the selector may use syntax this Prometheus version lacks",
                )
    failed = [r for r in found.values() if isinstance(r, Exception) and not isinstance(r, ApiError)]
    incomplete = _incomplete(len(chosen), failed, outcome, later, client)
    if incomplete:
        yield incomplete


def _ask(
    client: PrometheusClient, start: float, end: float, selector: Selector
) -> Callable[[], bool]:
    return partial(client.any_series, selector.text, start, end)


def _missing(
    context: CheckContext,
    parsed: ParsedExpression,
    selector: Selector,
    bare: bool | Exception | None,
) -> Problem:
    message = f"no series match {selector.text} in the last hour"
    metric = context.catalog.resolve(selector.name) if selector.name else None
    if selector.name in context.recorded_names:
        hint = (
            f"{selector.name} is recorded by a rule in the validated files: is that rule "
            "file loaded into this Prometheus?"
        )
    elif bare is True:
        hint = (
            f"{selector.name} has series, but none with these labels: check the label "
            "names and values"
        )
    elif metric is not None:
        hint = (
            f"is {metric.exporter} scraped by this Prometheus, at a version "
            f"that exports {selector.name}?"
        )
    elif selector.name:
        hint = f"check the name {selector.name!r}: neither Prometheus nor the catalog knows it"
    else:
        hint = "check the label names and values"
    return CHECK.at(parsed.source, message, hint=hint)


def _capped(total: int) -> Problem:
    return CHECK.problem(
        f"{total} distinct selectors; only the first {MAX_SELECTORS} were looked up",
        LIVE_FILE,
        severity="info",
        hint="validate fewer files at a time to check every selector",
    )


def _incomplete(
    asked: int,
    failed: list[Exception],
    outcome: Outcome,
    later: Outcome,
    client: PrometheusClient,
) -> Problem | None:
    unanswered = outcome.unanswered + later.unanswered
    if not failed and not unanswered:
        return None
    reasons = []
    if failed:
        reasons.append(f"{len(failed)} lookups failed ({failed[0]})")
    if unanswered:
        reasons.append(f"{unanswered} were not answered within the time limit")
    subject = f"{asked} selector{'s' * (asked != 1)} against {client.display_url}"
    return incomplete(CHECK, subject, reasons)


def incomplete(check: Check, subject: str, reasons: list[str]) -> Problem:
    """`check`'s problem saying that it looked up only part of `subject`, and why."""
    return check.problem(
        f"incomplete check of {subject}: " + "; ".join(reasons),
        LIVE_FILE,
        hint="retry, or raise --timeout for a slow Prometheus",
    )


CHECK = Check(
    "live/series",
    "warning",
    "every selector matches series in the Prometheus of --prometheus",
    run,
    live=True,
)
