"""docs/runbooks.md has a section for every bundled alert, at the anchor its runbook_url names,
and the PromQL it tells the on-call engineer to paste parses and reads known metrics."""

from __future__ import annotations

import re
from pathlib import Path

import promql_parser
import pytest

from generator.build import build
from generator.catalog import load_catalog
from generator.promql_ast import vector_selectors
from generator.settings import Settings

RUNBOOKS = Path(__file__).resolve().parents[1] / "docs" / "runbooks.md"
TEXT = RUNBOOKS.read_text(encoding="utf-8")
RULES = [
    rule
    for artifact in build(Settings()).artifacts
    if artifact.kind == "rules"
    for group in artifact.document["groups"]
    for rule in group["rules"]
]
ALERTS = sorted(rule["alert"] for rule in RULES if "alert" in rule)
RECORDED = {rule["record"] for rule in RULES if "record" in rule}
PROMQL_BLOCKS = re.findall(r"```promql\n(.*?)```", TEXT, flags=re.DOTALL)


def github_anchor(heading: str) -> str:
    """The id GitHub gives a Markdown heading: lower case, punctuation dropped, '-' for spaces."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def alert_sections() -> dict[str, str]:
    """Anchor of each `### ` heading -> the text under it."""
    parts = re.split(r"^### (.+)$", TEXT, flags=re.MULTILINE)
    return {
        github_anchor(title): body for title, body in zip(parts[1::2], parts[2::2], strict=True)
    }


def test_github_anchor_follows_githubs_rule() -> None:
    assert github_anchor("GpuXidError") == "gpuxiderror"
    assert github_anchor("GPU health") == "gpu-health"
    assert github_anchor("What `for` means?") == "what-for-means"


def test_the_default_runbook_url_points_into_this_file() -> None:
    assert Settings().alerts.runbook_url.split("#")[0].endswith("/docs/runbooks.md")


@pytest.mark.parametrize("alert", ALERTS)
def test_every_bundled_alert_has_its_runbook_section(alert: str) -> None:
    (rule,) = [rule for rule in RULES if rule.get("alert") == alert]
    anchor = rule["annotations"]["runbook_url"].split("#", 1)[1]
    section = alert_sections().get(anchor)
    assert section is not None, f"docs/runbooks.md has no '### {alert}' (anchor #{anchor})"
    assert len(section.split()) >= 30, f"the runbook of {alert} says next to nothing"


def test_there_are_promql_examples() -> None:
    assert len(PROMQL_BLOCKS) >= len(ALERTS) // 2


@pytest.mark.parametrize("block", PROMQL_BLOCKS, ids=lambda b: b.splitlines()[0][:60])
def test_runbook_promql_parses_and_reads_known_metrics(block: str) -> None:
    catalog = load_catalog()
    # A query may continue on an indented line; each unindented line starts a new one.
    queries = re.split(r"\n(?=\S)", block.strip())
    for query in queries:
        expr = promql_parser.parse(query)
        for selector in vector_selectors(expr):
            name = selector.name
            assert name in RECORDED or name in catalog or name == "up", (name, query)
