"""The `obsgen` command: thin click wrappers; domain errors become one-line messages here."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import click

from generator import __version__
from generator.errors import ObsgenError

_CONFIG_HELP = "Settings file (default: $OBSGEN_CONFIG, else ./obsgen.yaml)."


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="obsgen")
def cli() -> None:
    """Monitoring as code for AI/ML GPU workloads: Grafana dashboards and Prometheus
    alerts for Ray Train and vLLM, validated before they ship."""


@cli.command()
@click.option("--config", "config_path", metavar="PATH", help=_CONFIG_HELP)
@click.option(
    "--out",
    "out_dir",
    default="out",
    show_default=True,
    metavar="DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help="Output directory.",
)
@click.option(
    "--dashboards",
    "dashboard_dirs",
    multiple=True,
    metavar="DIR",
    type=click.Path(path_type=Path),
    help="Extra dashboard modules (repeatable).",
)
@click.option(
    "--alerts",
    "alert_dirs",
    multiple=True,
    metavar="DIR",
    type=click.Path(path_type=Path),
    help="Extra alert modules (repeatable).",
)
def build(
    config_path: str | None,
    out_dir: Path,
    dashboard_dirs: tuple[Path, ...],
    alert_dirs: tuple[Path, ...],
) -> None:
    """Build dashboards (JSON), rule files (YAML) and manifest.json into --out."""
    from generator.build import build as run_build
    from generator.deliver.files import write_build

    started = time.perf_counter()
    settings = _settings(config_path)
    result = _domain(run_build, settings, dashboard_dirs, alert_dirs)
    errors = [p for p in result.problems if p.severity == "error"]
    for problem in result.problems:
        click.echo(problem.describe(), err=True)
    if errors:
        raise click.ClickException(f"{len(errors)} invalid expression(s); nothing was written")
    report = _domain(write_build, result, out_dir)
    alerts = sum(
        len(g["rules"]) for a in result.artifacts if a.kind == "rules" for g in a.document["groups"]
    )
    click.echo(
        f"obsgen: {result.count('dashboard')} dashboards, {result.count('rules')} rule "
        f"files ({alerts} rules) -> {out_dir}/  [{len(report.written)} written, "
        f"{len(report.unchanged)} unchanged, {len(report.removed)} removed] "
        f"in {time.perf_counter() - started:.2f}s"
    )
    for artifact in result.artifacts:
        click.echo(f"  {artifact.path}  <- {artifact.source}")


def _settings(config_path: str | None) -> Any:
    from generator.settings import load_settings, resolve_config_path

    return _domain(load_settings, resolve_config_path(config_path))


def _domain(function: Any, *args: Any) -> Any:
    """Calls into the domain; an ObsgenError becomes a clean click error (exit 1)."""
    try:
        return function(*args)
    except ObsgenError as exc:
        raise click.ClickException(str(exc)) from None


def main() -> None:
    """Console-script entry point."""
    try:
        cli(prog_name="obsgen")
    except KeyboardInterrupt:
        click.echo("obsgen: interrupted", err=True)
        sys.exit(130)
