"""Problems as text for people, JSON for tools, or GitHub Actions annotations."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence

from generator.checks.problem import Problem

FORMATS = ("text", "json", "github")


def render(problems: Sequence[Problem], output_format: str) -> str:
    """The report in `output_format` (one of FORMATS)."""
    if output_format == "json":
        return json.dumps([p.to_json() for p in problems], indent=2, ensure_ascii=False) + "\n"
    if output_format == "github":
        return "".join(_annotation(p) + "\n" for p in problems)
    return _text(problems)


def summary(problems: Sequence[Problem], checked: int) -> str:
    """'3 problems (1 error, 2 warnings) in 4 documents' or 'no problems in 4 documents'."""
    counts = Counter(p.severity for p in problems)
    if not problems:
        return f"no problems in {checked} document{'s' * (checked != 1)}"
    parts = [
        f"{counts[s]} {s}{'s' * (counts[s] != 1)}"
        for s in ("error", "warning", "info")
        if counts[s]
    ]
    total = len(problems)
    return (
        f"{total} problem{'s' * (total != 1)} ({', '.join(parts)}) in {checked} "
        f"document{'s' * (checked != 1)}"
    )


def _text(problems: Sequence[Problem]) -> str:
    lines = []
    for problem in problems:
        lines.append(problem.describe())
        if problem.docs:
            lines.append(f"    see {problem.docs}")
    return "".join(line + "\n" for line in lines)


def _annotation(problem: Problem) -> str:
    level = {"error": "error", "warning": "warning"}.get(problem.severity, "notice")
    # line/column count inside the expression, not the file, so they go in the text.
    properties = {"file": problem.file, "title": f"obsgen {problem.check}"}
    where = ", ".join(f"{k} {v}" for k, v in problem.ordered_location().items())
    text = f"{where}: {problem.message}" if where else problem.message
    if problem.hint:
        text += f" ({problem.hint})"
    joined = ",".join(f"{k}={_escape(v, property_value=True)}" for k, v in properties.items())
    return f"::{level} {joined}::{_escape(text)}"


def _escape(value: str, *, property_value: bool = False) -> str:
    # GitHub's workflow-command escaping: % CR LF always, : and , inside properties.
    value = value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if property_value:
        value = value.replace(":", "%3A").replace(",", "%2C")
    return value
