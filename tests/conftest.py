"""Shared, generic fixtures: the project root, a CLI runner and a settings-file writer."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from generator.cli import cli

PROJECT_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def project_root() -> Path:
    """The checkout: obsgen.yaml, dashboards/ and alerts/ live here (never write into it)."""
    return PROJECT_ROOT


@pytest.fixture
def run_cli(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    """Invokes `obsgen ARGS...` in-process and returns click's Result.

    OBSGEN_CONFIG starts unset so the caller's environment cannot leak in; a test that needs
    it calls monkeypatch.setenv after requesting this fixture.
    """
    monkeypatch.delenv("OBSGEN_CONFIG", raising=False)

    def run(*args: str | Path) -> Result:
        return CliRunner().invoke(cli, [str(a) for a in args])

    return run


@pytest.fixture
def cli_error(run_cli: Callable[..., Result]) -> Callable[..., str]:
    """Invokes the CLI expecting a clean failure; returns the output (the error message).

    Clean means: non-zero exit through click (SystemExit, so no uncaught exception and no
    traceback) and a message printed as `Error: ...`.
    """

    def run(*args: str | Path) -> str:
        result = run_cli(*args)
        assert result.exit_code != 0, result.output
        assert isinstance(result.exception, SystemExit), (
            f"uncaught {result.exception!r} instead of a clean error"
        )
        assert "Traceback" not in result.output
        assert "Error: " in result.output, result.output
        return result.output

    return run


@pytest.fixture
def write_settings() -> Callable[..., Path]:
    """write_settings(directory, text, name="obsgen.yaml") writes a settings file, returns it."""

    def write(directory: Path, text: str, name: str = "obsgen.yaml") -> Path:
        path = directory / name
        path.write_text(text, encoding="utf-8")
        return path

    return write
