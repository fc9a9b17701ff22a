"""promql/syntax: every expression parses (dashboard queries after variable substitution)."""

from __future__ import annotations

from collections.abc import Iterator

from generator.checks import promtool
from generator.checks.base import Check, CheckContext
from generator.checks.problem import Problem


def run(context: CheckContext) -> Iterator[Problem]:
    failing = [p for p in context.expressions if p.error and not p.too_deep]
    for parsed in context.expressions:
        if parsed.too_deep:
            yield CHECK.at(
                parsed.source, parsed.error, hint="split the expression with recording rules"
            )
    positions = promtool.locate([p.parser_text for p in failing])
    for index, parsed in enumerate(failing):
        location = dict(parsed.source.location)
        message = parsed.error
        if index in positions:
            line, column, promtool_message = positions[index]
            location.update({"line": line, "column": column})
            message = f"{parsed.error} (promtool: {promtool_message})"
        yield CHECK.problem(
            f"cannot parse: {message}",
            parsed.source.file,
            location,
            hint=_hint(parsed.source.text, location),
        )


def _hint(text: str, location: dict[str, str | int]) -> str:
    if not text.strip():
        return "give the target or rule a query, or remove it"
    line, column = location.get("line"), location.get("column")
    if isinstance(line, int) and isinstance(column, int):
        lines = text.splitlines() or [text]
        source = lines[line - 1] if 0 < line <= len(lines) else text
        snippet = source[max(0, column - 1) : column + 29]
        return f"near: {snippet!r}" if snippet.strip() else "the expression ends too early"
    return "check brackets, quotes and operators"


CHECK = Check("promql/syntax", "error", "the expression parses as PromQL", run)
