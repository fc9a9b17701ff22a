"""The message Grafana's version history records for each save: obsgen's version and commit."""

from __future__ import annotations

import subprocess
from pathlib import Path

from generator import __version__

GIT_TIMEOUT = 2.0


def commit_message(directory: Path | None = None) -> str:
    """'obsgen 0.1.0 (git 1a2b3c4)', or 'obsgen 0.1.0' outside a git checkout."""
    commit = git_commit(directory)
    return f"obsgen {__version__}" + (f" (git {commit})" if commit else "")


def git_commit(directory: Path | None = None) -> str | None:
    """The short commit of HEAD in `directory` (default: the working directory), or None
    when git is missing, slow, or this is not a checkout."""
    try:
        completed = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=directory,
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = completed.stdout.strip()
    return commit if completed.returncode == 0 and commit else None
