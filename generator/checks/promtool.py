"""Positions for syntax errors from `promtool check rules`, when promtool is installed.

promql-parser reports a bare message; promtool reports `line:column` inside the expression.
All failing expressions go through one promtool process as recording rules of one group.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

import yaml

TIMEOUT_SECONDS = 20
_ERROR = re.compile(r'rule (\d+), "[^"]*": could not parse expression: (\d+):(\d+): (.*)$')


def locate(expressions: Sequence[str]) -> dict[int, tuple[int, int, str]]:
    """{index: (line, column, promtool's message)} for each expression promtool rejects.

    Empty when promtool is missing, times out or says nothing usable."""
    promtool = shutil.which("promtool")
    if not promtool or not expressions:
        return {}
    rules = [{"record": f"obsgen:probe:{i}", "expr": text} for i, text in enumerate(expressions)]
    document = {"groups": [{"name": "obsgen-syntax-probe", "rules": rules}]}
    with tempfile.TemporaryDirectory(prefix="obsgen-promtool-") as scratch:
        path = Path(scratch) / "probe.rules.yaml"
        path.write_text(yaml.safe_dump(document, width=1_000_000), encoding="utf-8")
        try:
            completed = subprocess.run(
                [promtool, "check", "rules", str(path)],
                capture_output=True,
                text=True,
                timeout=TIMEOUT_SECONDS,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            return {}
    found: dict[int, tuple[int, int, str]] = {}
    for line in (completed.stdout + completed.stderr).splitlines():
        match = _ERROR.search(line)
        if match:
            index = int(match.group(1)) - 1
            found[index] = (int(match.group(2)), int(match.group(3)), match.group(4).strip())
    return found
