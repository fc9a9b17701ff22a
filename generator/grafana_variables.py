"""Grafana template variables in PromQL, replaced so promql-parser can read the expression.

Each reference is replaced by text of the same length that is valid where it stands, so a
column in the substituted text is the same column in what the user wrote:

- inside quoted strings references stay as they are: `"$namespace"` is a valid string and regex;
- in a range `[...]` or after `offset` they become a duration (`$__rate_interval` ->
  `00000000060000ms`; PromQL accepts leading zeros);
- after `@`, and for the numeric built-ins ($__range_s, $__interval_ms, ...), a number;
- before `(` they become a function name (`$agg(` -> `sum (`);
- anywhere else they become an identifier (`$threshold` -> `v_________`), which parses as a
  metric name or, inside `by (...)`, as a label name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Grafana's own reference syntax: $var, [[var]] / [[var:fmt]], ${var}, ${var.field}, ${var:fmt}.
REFERENCE = re.compile(
    r"\$(\w+)|\[\[([\s\S]+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:^}]+))?(?::([^}]+))?\}"
)
_QUOTES = "\"'`"
_OFFSET_BEFORE = re.compile(r"offset\s*$")
_AT_BEFORE = re.compile(r"@\s*$")
_CALL_AFTER = re.compile(r"\s*\(")
_NUMERIC_SUFFIXES = ("_s", "_ms")


@dataclass(frozen=True)
class VariableReference:
    """One reference in an expression: the variable's name and where it stands."""

    name: str
    start: int
    end: int
    in_string: bool


def references(text: str) -> list[VariableReference]:
    """Every variable reference in `text`, in order, noting those inside quoted strings."""
    return _references(text, _quoted_positions(text))


def _references(text: str, quoted: set[int]) -> list[VariableReference]:
    return [
        VariableReference(
            name=m.group(1) or m.group(2) or m.group(4),
            start=m.start(),
            end=m.end(),
            in_string=m.start() in quoted,
        )
        for m in REFERENCE.finditer(text)
    ]


def referenced_names(text: str) -> list[str]:
    """Variable names referenced anywhere in `text`, in order of first appearance."""
    return list(dict.fromkeys(ref.name for ref in references(text)))


def substitute(expr: str) -> str:
    """Returns `expr` with every reference outside strings replaced by same-length PromQL."""
    if "$" not in expr and "[[" not in expr:
        return expr
    quoted = _quoted_positions(expr)
    found = _references(expr, quoted)
    depth_at = _bracket_depths(expr, quoted, found)
    pieces: list[str] = []
    last = 0
    for ref in found:
        if ref.in_string:
            continue
        pieces.append(expr[last : ref.start])
        pieces.append(_placeholder(expr, ref, depth_at[ref.start] > 0))
        last = ref.end
    pieces.append(expr[last:])
    return "".join(pieces)


def _placeholder(expr: str, ref: VariableReference, in_range: bool) -> str:
    length = ref.end - ref.start
    if ref.name.endswith(_NUMERIC_SUFFIXES):
        # $__range_s, $__interval_ms, ...: bare numbers, used as `[${__range_s}s]` or in math.
        return "1".rjust(length, "0")
    before = expr[: ref.start]
    if in_range or _OFFSET_BEFORE.search(before):
        return _duration(length)
    if _AT_BEFORE.search(before):
        return "1".rjust(length, "0")
    if _CALL_AFTER.match(expr, ref.end):
        return "ln" if length == 2 else "sum".ljust(length)
    return "v" + "_" * (length - 1)


def _duration(length: int) -> str:
    # 60000ms fits references of 7 characters or more; shorter ones get minutes.
    return "60000ms".rjust(length, "0") if length >= 7 else "1m".rjust(length, "0")


def _bracket_depths(expr: str, quoted: set[int], found: list[VariableReference]) -> list[int]:
    """Depth of `[...]` nesting at every position; strings and [[var]] references don't count."""
    inside_reference = {i for ref in found for i in range(ref.start, ref.end)}
    depths = []
    depth = 0
    for index, char in enumerate(expr):
        depths.append(depth)
        if index in quoted or index in inside_reference:
            continue
        if char == "[":
            depth += 1
        elif char == "]" and depth:
            depth -= 1
    return depths


def _quoted_positions(expr: str) -> set[int]:
    positions: set[int] = set()
    quote = ""
    escaped = False
    for index, char in enumerate(expr):
        if quote:
            positions.add(index)
            if escaped:
                escaped = False
            elif char == "\\" and quote != "`":
                escaped = True
            elif char == quote:
                quote = ""
        elif char in _QUOTES:
            quote = char
            positions.add(index)
    return positions


# ---- interpolation: what Grafana sends to Prometheus ----------------------------------------

_REGEX_SPECIALS = re.compile(r"[$^*{}\[\]+?.()|\\]")


@dataclass(frozen=True)
class VariableValue:
    """A dashboard variable's selection: one or more values, and whether it is multi-value
    (multi or include-all), which makes Grafana join the values as a regex alternation."""

    values: tuple[str, ...]
    multi: bool = False


def builtin_values(range_seconds: int, step_seconds: int, scrape_seconds: int) -> dict[str, str]:
    """Grafana's built-in interval variables for a panel, as its Prometheus backend fills them.

    $__rate_interval is max($__interval + scrape interval, 4 x scrape interval)."""
    rate = max(step_seconds + scrape_seconds, 4 * scrape_seconds)
    return {
        "__interval": f"{step_seconds}s",
        "__interval_ms": str(step_seconds * 1000),
        "__rate_interval": f"{rate}s",
        "__rate_interval_ms": str(rate * 1000),
        "__range": f"{range_seconds}s",
        "__range_s": str(range_seconds),
        "__range_ms": str(range_seconds * 1000),
    }


def interpolate(expr: str, variables: dict[str, VariableValue], builtins: dict[str, str]) -> str:
    """`expr` with every reference replaced the way Grafana does for a Prometheus query.

    A reference to an unknown variable is left as it is (Grafana does the same)."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2) or match.group(4)
        fmt = match.group(3) or match.group(6) or ""
        if name in builtins:
            return builtins[name]
        variable = variables.get(name)
        if variable is None:
            return match.group(0)
        if variable.multi or fmt == "regex" or len(variable.values) > 1:
            escaped = [
                _REGEX_SPECIALS.sub(lambda m: "\\\\" + m.group(0), v) for v in variable.values
            ]
            return escaped[0] if len(escaped) == 1 else "(" + "|".join(escaped) + ")"
        value = variable.values[0] if variable.values else ""
        # Escaped for the double-quoted label values obsgen's queries use.
        return value.replace("\\", "\\\\").replace('"', '\\"')

    return REFERENCE.sub(replace, expr)
