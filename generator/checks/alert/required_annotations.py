"""alert/annotations: every alert explains itself and links to its runbook.

An alerting rule needs non-empty `summary`, `description` and `runbook_url` annotations, and
the runbook_url must be an http:// or https:// URL: the person paged reads these first.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from generator.checks.alert._common import alerting_rules
from generator.checks.base import Check, CheckContext
from generator.checks.problem import Problem

REQUIRED = ("summary", "description", "runbook_url")
_URL = re.compile(r"https?://[^\s/?#]+\S*")
_ACTION = re.compile(r"\{\{.*?\}\}", re.DOTALL)  # a template action stands for its value


def run(context: CheckContext) -> Iterator[Problem]:
    for alert in alerting_rules(context):
        annotations = alert.text_fields("annotations")
        missing = [k for k in REQUIRED if not annotations.get(k, "").strip()]
        if missing:
            yield CHECK.problem(
                f"alert '{alert.name}' has no {_join(missing)} annotation"
                + ("s" if len(missing) > 1 else ""),
                alert.file,
                alert.location,
                hint="summary: one line with the affected object; description: what is "
                "wrong, its impact and the first thing to check; runbook_url: a link to "
                "the runbook",
            )
        runbook = annotations.get("runbook_url", "").strip()
        if runbook and not _URL.fullmatch(_ACTION.sub("x", runbook)):
            yield CHECK.problem(
                f"alert '{alert.name}' has runbook_url {runbook!r}, which is not an "
                f"http:// or https:// URL",
                alert.file,
                alert.location,
                hint="use an absolute link such as https://runbooks.example.com/AlertName",
            )


def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


CHECK = Check(
    "alert/annotations",
    "warning",
    "every alert has summary, description and an http(s) runbook_url",
    run,
)
