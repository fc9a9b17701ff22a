"""What every check shares: the Check record, the parsed expressions and the run context."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import promql_parser

from generator.catalog import Catalog
from generator.checks.documents import Document
from generator.checks.expressions import Expression, Location, group_rules, rule_groups
from generator.checks.problem import Problem, Severity
from generator.grafana_variables import substitute
from generator.promql_ast import walk
from generator.settings import Settings

DOCS_PAGE = "docs/checks.md"
# promql-parser recurses natively and crashes the process on very deep trees (about 5,000
# chained operators); operators plus brackets bound the depth, so more than this is refused.
MAX_OPERATORS = 256
MAX_RECORD_DEPTH = 16  # recording rules that read recording rules are followed this deep
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_DEPTH_TOKENS = re.compile(r"[-+*/%^(\[{<>]|[=!]=|\b(?:and|or|unless|atan2)\b")


@dataclass(frozen=True)
class Check:
    """One check: its id (e.g. promql/rate-on-gauge), default severity and how to run it."""

    id: str
    severity: Severity
    summary: str
    run: Callable[[CheckContext], Iterable[Problem]]
    live: bool = False  # needs --prometheus

    @property
    def docs(self) -> str:
        """Where the check is explained: docs/checks.md#<anchor>."""
        return f"{DOCS_PAGE}#{self.id.replace('/', '')}"

    def problem(
        self,
        message: str,
        file: str,
        location: Location | None = None,
        *,
        hint: str = "",
        severity: Severity | None = None,
    ) -> Problem:
        """A Problem reported by this check."""
        return Problem(
            self.id,
            severity or self.severity,
            message,
            file,
            dict(location or {}),
            hint=hint,
            docs=self.docs,
        )

    def at(
        self,
        expression: Expression,
        message: str,
        *,
        hint: str = "",
        severity: Severity | None = None,
    ) -> Problem:
        """A Problem located at an expression."""
        return self.problem(
            message, expression.file, expression.location, hint=hint, severity=severity
        )


@dataclass
class ParsedExpression:
    """An expression parsed once for every check: its AST, or why it has none."""

    source: Expression
    parser_text: str  # what promql-parser saw: Grafana variables replaced, same length
    ast: Any = None
    error: str = ""
    too_deep: bool = False  # refused before parsing (see MAX_OPERATORS)

    @cached_property
    def nodes(self) -> list[Any]:
        """Every AST node in source order (empty when the expression does not parse)."""
        return list(walk(self.ast)) if self.ast is not None else []


def parse_expressions(expressions: Iterable[Expression]) -> list[ParsedExpression]:
    """Parses every expression; expressions with the same text share one parse and its AST
    (checks never change an AST). Dashboards and rules built from the same query builders
    repeat their expressions, and each promql-parser AST costs tens of kilobytes."""
    first: dict[tuple[str, bool], ParsedExpression] = {}
    parsed = []
    for expression in expressions:
        key = (expression.text, expression.templated)
        known = first.get(key)
        if known is None:
            parsed.append(first.setdefault(key, parse_expression(expression)))
        else:
            parsed.append(
                ParsedExpression(
                    expression, known.parser_text, known.ast, known.error, known.too_deep
                )
            )
    return parsed


def parse_expression(expression: Expression) -> ParsedExpression:
    """Parses one expression; syntax errors are kept, never raised."""
    text = _parser_text(expression)
    parsed = ParsedExpression(expression, text)
    if not text.strip():
        parsed.error = "empty expression"
        return parsed
    if len(text) > MAX_OPERATORS and _operator_count(text) > MAX_OPERATORS:
        parsed.error = (
            f"not checked: more than {MAX_OPERATORS} operators and brackets, "
            f"deeper than obsgen parses safely"
        )
        parsed.too_deep = True
        return parsed
    try:
        parsed.ast = promql_parser.parse(text)
    except (ValueError, TypeError, OverflowError) as exc:
        parsed.error = str(exc) or type(exc).__name__
    except RecursionError:
        parsed.error = "expression nested too deeply to parse"
    return parsed


def _parser_text(expression: Expression) -> str:
    """What promql-parser sees: Grafana variables replaced by placeholders of the same length."""
    return substitute(expression.text) if expression.templated else expression.text


def _operator_count(text: str) -> int:
    """Operators and brackets outside string literals: a bound on the tree's depth."""
    return len(_DEPTH_TOKENS.findall(_STRINGS.sub('""', text)))


@dataclass
class CheckContext:
    """Everything a check may read. Checks never change it."""

    settings: Settings
    catalog: Catalog
    documents: list[Document]
    expressions: list[ParsedExpression]
    prometheus_url: str = ""
    prometheus_timeout: float = 5.0
    extra: dict[str, Any] = field(default_factory=dict)  # results a check shares, by key

    @cached_property
    def dashboards(self) -> list[Document]:
        """The dashboard documents."""
        return [d for d in self.documents if d.kind == "dashboard"]

    @cached_property
    def rule_files(self) -> list[Document]:
        """The rule-file documents."""
        return [d for d in self.documents if d.kind == "rules"]

    @cached_property
    def recorded_names(self) -> frozenset[str]:
        """Names of every recording rule in the documents: known metrics for other checks."""
        return frozenset(
            rule["record"]
            for document in self.rule_files
            for group in rule_groups(document.data)
            for rule in group_rules(group)
            if isinstance(rule.get("record"), str)
        )

    @cached_property
    def recording_rules(self) -> dict[str, list[ParsedExpression]]:
        """The parsed expressions of the recording rules, by the name they record."""
        rules: dict[str, list[ParsedExpression]] = {}
        for parsed in self.expressions:
            record = parsed.source.rule.get("record") if parsed.source.kind == "record" else None
            if isinstance(record, str):
                rules.setdefault(record, []).append(parsed)
        return rules
