"""promql/target-version: nothing newer than the Prometheus version in settings.

Functions, aggregations and syntax carry the release that introduced them (and the feature
flag when they are experimental); an expression using one newer than prometheus.version is
reported. holt_winters is reported from 3.0 on, where it was renamed; `{a="x" or b="y"}`
selectors are reported always, since no Prometheus release accepts them.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass

import promql_parser

from generator.checks.base import Check, CheckContext, ParsedExpression
from generator.checks.problem import Problem
from generator.checks.promql._analysis import (
    Analysis,
    analyses,
    calls_by_name,
    is_legacy_name,
    version_tuple,
)
from generator.promql_ast import SubqueryExpr

EXPERIMENTAL = "promql-experimental-functions"


@dataclass(frozen=True)
class Feature:
    """What a query uses, the release that introduced it, and its feature flag if any."""

    what: str
    since: str
    flag: str = ""
    flag_until: str = ""  # from this release on the feature needs no flag


FUNCTIONS: dict[str, Feature] = {
    name: Feature(f"{name}()", since, flag)
    for name, since, flag in (
        ("absent_over_time", "2.16", ""),
        ("last_over_time", "2.26", ""),
        ("sgn", "2.26", ""),
        ("clamp", "2.26", ""),
        ("present_over_time", "2.29", ""),
        ("histogram_count", "2.40", ""),
        ("histogram_sum", "2.40", ""),
        ("histogram_fraction", "2.40", ""),
        ("histogram_stddev", "2.47", ""),
        ("histogram_stdvar", "2.47", ""),
        ("histogram_avg", "2.50", ""),
        ("mad_over_time", "2.49", EXPERIMENTAL),
        ("sort_by_label", "2.49", EXPERIMENTAL),
        ("sort_by_label_desc", "2.49", EXPERIMENTAL),
        ("info", "2.55", EXPERIMENTAL),
        ("double_exponential_smoothing", "3.0", EXPERIMENTAL),
        ("ts_of_max_over_time", "3.5", EXPERIMENTAL),
        ("ts_of_min_over_time", "3.5", EXPERIMENTAL),
        ("ts_of_last_over_time", "3.5", EXPERIMENTAL),
        ("first_over_time", "3.7", EXPERIMENTAL),
        ("ts_of_first_over_time", "3.7", EXPERIMENTAL),
        ("histogram_quantiles", "3.11", EXPERIMENTAL),
        ("start", "3.12", EXPERIMENTAL),
        ("end", "3.12", EXPERIMENTAL),
        ("range", "3.12", EXPERIMENTAL),
        ("step", "3.12", EXPERIMENTAL),
        ("min_of", "3.13", EXPERIMENTAL),
        ("max_of", "3.13", EXPERIMENTAL),
    )
}
AGGREGATIONS: dict[str, Feature] = {
    "limitk": Feature("limitk", "2.54", EXPERIMENTAL),
    "limit_ratio": Feature("limit_ratio", "2.54", EXPERIMENTAL),
}
SUBQUERY = Feature("subqueries ([range:step])", "2.7")
AT_MODIFIER = Feature("the @ modifier", "2.25", "promql-at-modifier", "2.33")
NEGATIVE_OFFSET = Feature("a negative offset", "2.26", "promql-negative-offset", "2.33")
FILL_MODIFIERS = Feature(
    "fill()/fill_left()/fill_right() modifiers", "3.10", "promql-binop-fill-modifiers"
)
UTF8_NAMES = Feature("quoted UTF-8 metric or label names", "3.0")
HOLT_WINTERS_REMOVED = "3.0"
_QUOTED_NAME = re.compile(r"[{,(]\s*\"")
_OR_IN_BRACES = re.compile(r"\{[^}]*\bor\b")

# promql-parser follows Prometheus 3, which renamed holt_winters; 2.x targets still use it.
with contextlib.suppress(ValueError):  # already known to this promql-parser
    promql_parser.register_extra_functions(
        [
            promql_parser.Function(
                "holt_winters",
                [
                    promql_parser.ValueType.Matrix,
                    promql_parser.ValueType.Scalar,
                    promql_parser.ValueType.Scalar,
                ],
                promql_parser.ValueType.Vector,
            )
        ]
    )


@dataclass(frozen=True)
class _Gates:
    """The features the target version lacks, worked out once per run."""

    functions: dict[str, Feature]
    aggregations: dict[str, Feature]
    subqueries: bool
    fill: bool
    utf8: bool
    modifiers: bool
    at_modifier: bool
    holt_winters_removed: bool

    @classmethod
    def for_target(cls, target: tuple[int, ...]) -> _Gates:
        def lacks(feature: Feature) -> bool:
            return target < version_tuple(feature.since)

        return cls(
            functions={name: f for name, f in FUNCTIONS.items() if lacks(f)},
            aggregations={op: f for op, f in AGGREGATIONS.items() if lacks(f)},
            subqueries=lacks(SUBQUERY),
            fill=lacks(FILL_MODIFIERS),
            utf8=lacks(UTF8_NAMES),
            modifiers=lacks(NEGATIVE_OFFSET) or lacks(AT_MODIFIER),
            at_modifier=lacks(AT_MODIFIER),
            holt_winters_removed=target >= version_tuple(HOLT_WINTERS_REMOVED),
        )


def run(context: CheckContext) -> Iterator[Problem]:
    configured = context.settings.prometheus.version
    gates = _Gates.for_target(version_tuple(configured))
    found: dict[int, list[Feature]] = {}  # by id(parsed), in the order found
    parsed_by_id: dict[int, ParsedExpression] = {}
    calls = calls_by_name(context)
    for name in set(calls) & (gates.functions.keys() | gates.aggregations.keys()):
        feature = gates.functions.get(name) or gates.aggregations[name]
        for parsed, _, _ in calls[name]:
            parsed_by_id[id(parsed)] = parsed
            found.setdefault(id(parsed), []).append(feature)
    quoted = _QUOTED_NAME.search if gates.utf8 else None
    for parsed, analysis in analyses(context):
        text = parsed.parser_text
        features = found.get(id(parsed))
        if (
            (gates.fill and "fill" in text)
            or (quoted is not None and quoted(text))
            or (gates.modifiers and ("@" in text or "offset" in text))
            or (gates.subqueries and analysis.has_subquery)
        ):
            features = (features or []) + _syntax_features(parsed, analysis, gates)
        if features:
            for feature in dict.fromkeys(features):
                yield _problem(parsed, feature, configured)
        if "or" in text and _OR_IN_BRACES.search(text) and _has_or_matchers(analysis):
            yield CHECK.at(
                parsed.source,
                "`or` between label matchers inside braces is not PromQL: no Prometheus "
                "release accepts it (promql-parser does, as a GreptimeDB extension)",
                hint="write two selectors joined with `or`, or one regex matcher "
                'such as {job=~"a|b"}',
            )
    if gates.holt_winters_removed:
        reported: set[int] = set()
        for parsed, _, _ in calls.get("holt_winters", ()):
            if id(parsed) not in reported:
                reported.add(id(parsed))
                yield CHECK.at(
                    parsed.source,
                    f"holt_winters() was removed in Prometheus 3.0; the target is "
                    f"{configured} (prometheus.version)",
                    hint="use double_exponential_smoothing(), which needs "
                    f"--enable-feature={EXPERIMENTAL}",
                )


def _syntax_features(parsed: ParsedExpression, analysis: Analysis, gates: _Gates) -> list[Feature]:
    found: list[Feature] = []
    text = parsed.parser_text
    if gates.fill and "fill" in text and _has_fill(analysis):
        found.append(FILL_MODIFIERS)
    if gates.utf8 and _QUOTED_NAME.search(text) and _has_utf8_names(parsed, analysis):
        found.append(UTF8_NAMES)
    if gates.modifiers and ("@" in text or "offset" in text):
        found += _modifiers(analysis, gates)
    if gates.subqueries and analysis.has_subquery:
        found.append(SUBQUERY)
    return found


def _has_fill(analysis: Analysis) -> bool:
    for node, _ in analysis.binaries:
        fill = node.modifier.fill_values if node.modifier is not None else None
        if fill is not None and (fill.lhs is not None or fill.rhs is not None):
            return True
    return False


def _has_utf8_names(parsed: ParsedExpression, analysis: Analysis) -> bool:
    """Names that only the quoted 3.0 syntax can spell, or {"name"} selectors."""
    for selector in analysis.selectors:
        node = selector.node
        for matcher in node.matchers.matchers:
            if not is_legacy_name(matcher.name):
                return True
        # {"x"} parses like {__name__="x"}; only the latter spells __name__ out.
        if node.name is None and selector.name and "__name__" not in parsed.parser_text:
            return True
    for node, _ in analysis.aggregations:
        if node.modifier is not None and not all(map(is_legacy_name, node.modifier.labels)):
            return True
    for node, _ in analysis.binaries:
        modifier = node.modifier
        if modifier is None:
            continue
        matching = modifier.matching
        labels = [*(matching.labels if matching else []), *(modifier.group_labels or [])]
        if not all(map(is_legacy_name, labels)):
            return True
    return False


def _modifiers(analysis: Analysis, gates: _Gates) -> Iterator[Feature]:
    nodes = [s.node for s in analysis.selectors]
    nodes += [node for node, _ in analysis.ranges if type(node) is SubqueryExpr]
    for node in nodes:
        if gates.at_modifier and node.at is not None:
            yield AT_MODIFIER
        if node.offset is not None and node.offset.total_seconds() < 0:
            yield NEGATIVE_OFFSET


def _has_or_matchers(analysis: Analysis) -> bool:
    return any(s.node.matchers.or_matchers for s in analysis.selectors)


def _problem(parsed: ParsedExpression, feature: Feature, configured: str) -> Problem:
    hint = (
        f"raise prometheus.version if every server runs {feature.since} or newer, "
        f"or write the query without it"
    )
    if feature.flag:
        hint += f"; the server also needs --enable-feature={feature.flag}"
        if feature.flag_until:
            hint += f" before {feature.flag_until}"
    return CHECK.at(
        parsed.source,
        f"{feature.what} needs Prometheus {feature.since} or newer; the target is "
        f"{configured} (prometheus.version)",
        hint=hint,
    )


CHECK = Check(
    "promql/target-version",
    "error",
    "no PromQL newer than the target Prometheus version (prometheus.version)",
    run,
)
