"""docs/checks.md explains every check the validator runs, with a failing and a passing case."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from generator.checks.registry import ALL_CHECKS

DOCS = Path(__file__).resolve().parent.parent / "docs" / "checks.md"


def sections() -> dict[str, str]:
    """Check id -> the text under its `### `id`` heading."""
    text = DOCS.read_text(encoding="utf-8")
    parts = re.split(r"^### `([^`]+)`\s*$", text, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


@pytest.mark.parametrize("check", ALL_CHECKS, ids=lambda c: c.id)
def test_every_check_is_documented_with_examples(check) -> None:
    section = sections().get(check.id)
    assert section is not None, f"docs/checks.md has no section for {check.id}"
    assert f"**{check.severity}" in section, f"{check.id}: severity not stated"
    assert "Why:" in section
    assert "fails" in section and "passes" in section


def test_docs_links_point_at_existing_anchors() -> None:
    anchors = {check_id.replace("/", "") for check_id in sections()}
    for check in ALL_CHECKS:
        assert check.docs.startswith("docs/checks.md#")
        assert check.docs.split("#", 1)[1] in anchors
