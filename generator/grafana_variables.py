"""Grafana template variables in PromQL, replaced so promql-parser can read the expression.

Each reference is replaced by text of the same length, so a column in the substituted text is
the same column in what the user wrote. Inside quoted strings references stay as they are:
`"$namespace"` is already a valid PromQL string and regex.
"""

from __future__ import annotations

import re

# Grafana's own reference syntax: $var, [[var]] / [[var:fmt]], ${var}, ${var.field}, ${var:fmt}.
REFERENCE = re.compile(
    r"\$(\w+)|\[\[([\s\S]+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:^}]+))?(?::([^}]+))?\}"
)

_QUOTES = "\"'`"


def referenced_names(text: str) -> list[str]:
    """Variable names referenced anywhere in `text`, in order of first appearance."""
    names = (m.group(1) or m.group(2) or m.group(4) for m in REFERENCE.finditer(text))
    return list(dict.fromkeys(names))


def substitute(expr: str) -> str:
    """Returns `expr` with every reference outside strings replaced by same-length PromQL."""
    quoted = _quoted_positions(expr)
    pieces: list[str] = []
    last = 0
    for match in REFERENCE.finditer(expr):
        start, end = match.span()
        if start in quoted:
            continue
        pieces.append(expr[last:start])
        pieces.append(_placeholder(expr, start, end - start))
        last = end
    pieces.append(expr[last:])
    return "".join(pieces)


def _placeholder(expr: str, start: int, length: int) -> str:
    if _inside_brackets(expr, start):
        # A duration such as 0000060000ms; PromQL accepts leading zeros.
        return "60000ms".rjust(length, "0") if length >= 7 else "1m".rjust(length, "0")
    return "v" + "_" * (length - 1)


def _inside_brackets(expr: str, position: int) -> bool:
    depth = 0
    for char in expr[:position]:
        depth += {"[": 1, "]": -1}.get(char, 0)
    return depth > 0


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
