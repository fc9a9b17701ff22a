"""Runs every check over a set of documents and returns their problems in a stable order."""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator

from generator.catalog import Catalog, load_catalog
from generator.checks.base import CheckContext, parse_expressions
from generator.checks.documents import Document
from generator.checks.expressions import Expression, dashboard_expressions, rule_expressions
from generator.checks.problem import Problem
from generator.checks.registry import ALL_CHECKS
from generator.settings import Settings


def document_expressions(documents: Iterable[Document]) -> Iterator[Expression]:
    """Every expression of every document."""
    for document in documents:
        if document.kind == "dashboard":
            yield from dashboard_expressions(document.data, document.file)
        else:
            yield from rule_expressions(document.data, document.file)


def validate_documents(
    documents: list[Document],
    settings: Settings,
    *,
    catalog: Catalog | None = None,
    prometheus_url: str = "",
    prometheus_timeout: float = 5.0,
) -> list[Problem]:
    """Runs the offline checks (and the live ones when `prometheus_url` is set)."""
    # The cyclic collector rescans every AST wrapper and Problem many times over a large run and
    # doubles its time; nothing here creates reference cycles that must be freed early.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _validate(documents, settings, catalog, prometheus_url, prometheus_timeout)
    finally:
        if collecting:
            gc.enable()


def _validate(
    documents: list[Document],
    settings: Settings,
    catalog: Catalog | None,
    prometheus_url: str,
    prometheus_timeout: float,
) -> list[Problem]:
    context = CheckContext(
        settings=settings,
        catalog=catalog or load_catalog(),
        documents=documents,
        expressions=parse_expressions(document_expressions(documents)),
        prometheus_url=prometheus_url,
        prometheus_timeout=prometheus_timeout,
    )
    problems: list[Problem] = []
    for check in ALL_CHECKS:
        if check.live and not prometheus_url:
            continue
        try:
            problems.extend(check.run(context))
        except Exception as exc:  # one broken check must not hide every other finding
            problems.append(
                Problem(
                    "obsgen/internal",
                    "error",
                    f"check {check.id} failed: {type(exc).__name__}: {exc}",
                    "(obsgen)",
                    hint="please report this as a bug",
                )
            )
    return sorted(problems, key=Problem.sort_key)
