"""The `obsgen` command: thin click wrappers; domain errors become one-line messages here."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click

from generator import __version__
from generator.errors import ObsgenError

_CONFIG_HELP = "Settings file (default: $OBSGEN_CONFIG, else ./obsgen.yaml)."

# Options every content-reading command shares.
config_option = click.option("--config", "config_path", metavar="PATH", help=_CONFIG_HELP)
dashboards_option = click.option(
    "--dashboards",
    "dashboard_dirs",
    multiple=True,
    metavar="DIR",
    type=click.Path(path_type=Path),
    help="Extra dashboard modules beside the bundled ones (repeatable).",
)
alerts_option = click.option(
    "--alerts",
    "alert_dirs",
    multiple=True,
    metavar="DIR",
    type=click.Path(path_type=Path),
    help="Extra alert modules beside the bundled ones (repeatable).",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="obsgen")
def cli() -> None:
    """Monitoring as code for AI/ML GPU workloads: Grafana dashboards and Prometheus
    alerts for Ray Train and vLLM, validated before they ship."""


@cli.command()
@config_option
@click.option(
    "--out",
    "out_dir",
    default="out",
    show_default=True,
    metavar="DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help="Output directory.",
)
@dashboards_option
@alerts_option
def build(
    config_path: str | None,
    out_dir: Path,
    dashboard_dirs: tuple[Path, ...],
    alert_dirs: tuple[Path, ...],
) -> None:
    """Build dashboards (JSON), rule files and the Alertmanager configuration (YAML), the
    Kubernetes objects that deliver them (kubernetes/) and manifest.json into --out."""
    from generator.build import build as run_build
    from generator.deliver.files import write_build

    started = time.perf_counter()
    settings = _settings(config_path)
    result = _domain(run_build, settings, dashboard_dirs, alert_dirs)
    errors = [p for p in result.problems if p.severity == "error"]
    for problem in result.problems:
        click.echo(problem.describe(), err=True)
    if errors:
        raise click.ClickException(
            f"{len(errors)} error(s) in the generated output (see above); nothing was written"
        )
    report = _domain(write_build, result, out_dir)
    alerts = sum(
        len(g["rules"]) for a in result.artifacts if a.kind == "rules" for g in a.document["groups"]
    )
    receivers = sum(
        len(a.document["receivers"]) for a in result.artifacts if a.kind == "alertmanager"
    )
    objects = sum(
        1 for a in result.artifacts if a.kind == "kubernetes" and "metadata" in a.document
    )
    click.echo(
        f"obsgen: {result.count('dashboard')} dashboards, {result.count('rules')} rule "
        f"files ({alerts} rules), {result.count('alertmanager')} Alertmanager config "
        f"({receivers} receivers), {objects} Kubernetes objects -> {out_dir}/  "
        f"[{len(report.written)} written, "
        f"{len(report.unchanged)} unchanged, {len(report.removed)} removed] "
        f"in {time.perf_counter() - started:.2f}s"
    )
    for artifact in result.artifacts:
        click.echo(f"  {artifact.path}  <- {artifact.source}")


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@config_option
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json", "github"]),
    default="text",
    show_default=True,
    help="Report format.",
)
@click.option(
    "--fail-on",
    type=click.Choice(["error", "warning"]),
    default="error",
    show_default=True,
    help="Lowest severity that makes the exit code 1.",
)
@click.option(
    "--prometheus",
    "prometheus_url",
    metavar="URL",
    default="",
    help="Also run the live checks against this Prometheus (read-only).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(0.1, 300),
    default=5.0,
    show_default=True,
    help="Seconds per request of the live checks.",
)
@dashboards_option
@alerts_option
def validate(
    paths: tuple[Path, ...],
    config_path: str | None,
    output_format: str,
    fail_on: str,
    prometheus_url: str,
    timeout: float,
    dashboard_dirs: tuple[Path, ...],
    alert_dirs: tuple[Path, ...],
) -> None:
    """Check dashboards and rules: the bundled build, or the files and directories in PATHS.

    PATHS may hold Grafana dashboard JSON (bare or under "dashboard"), Prometheus rule files,
    PrometheusRule manifests and dashboard ConfigMaps (other Kubernetes objects are skipped).
    An `obsgen build` output directory is read through its manifest.json: each dashboard and
    rule file once, not again as its ConfigMap or PrometheusRule.
    Exit 0 when nothing reaches --fail-on, 1 when something does, 2 for usage errors."""
    from generator.checks.problem import SEVERITY_RANK
    from generator.checks.report import render, summary

    if prometheus_url and not prometheus_url.startswith(("http://", "https://")):
        raise click.BadParameter(
            f"{prometheus_url!r} is not an http:// or https:// URL", param_hint="--prometheus"
        )
    settings = _usage(_load_settings, config_path)
    documents, problems = _usage(_documents, settings, paths, dashboard_dirs, alert_dirs)
    from generator.checks.runner import validate_documents

    problems += validate_documents(
        documents, settings, prometheus_url=prometheus_url, prometheus_timeout=timeout
    )
    problems.sort(key=lambda p: p.sort_key())
    click.echo(render(problems, output_format), nl=False)
    click.echo(summary(problems, len(documents)), err=output_format != "text")
    threshold = SEVERITY_RANK[fail_on]
    if any(SEVERITY_RANK[p.severity] >= threshold for p in problems):
        sys.exit(1)


@cli.command()
@config_option
@click.option(
    "--scenario",
    default="healthy",
    show_default=True,
    metavar="NAME",
    help="What the synthetic fleet does: healthy, data-starved, thermal-throttling, xid-error, "
    "kv-cache-saturated, ttft-slo-breach, requests-queueing, request-errors or "
    "idle-allocated-gpus.",
)
@click.option(
    "--port",
    default=9090,
    show_default=True,
    type=click.IntRange(1, 65535),
    help="Port on 127.0.0.1 for Prometheus.",
)
def demo(config_path: str | None, scenario: str, port: int) -> None:
    """Run a real Prometheus on a synthetic GPU fleet to see the dashboards alive.

    Backfills the fleet's history over the dashboards' default time range, keeps it live,
    loads the generated rules, prints the URL to add to Grafana as a datasource, and runs
    until Ctrl-C or SIGTERM. Needs the prometheus and promtool programs."""
    from generator.runtime.demo import run_demo
    from generator.synthetic import scenario_names

    if scenario not in scenario_names():
        raise click.BadParameter(
            f"unknown scenario {scenario!r}; choose one of: {', '.join(scenario_names())}",
            param_hint="--scenario",
        )
    settings = _settings(config_path)
    _domain(run_demo, settings, scenario, port, click.echo)


def _documents(
    settings: Any,
    paths: tuple[Path, ...],
    dashboard_dirs: tuple[Path, ...],
    alert_dirs: tuple[Path, ...],
) -> tuple[list[Any], list[Any]]:
    """The documents to validate: the given paths, or else a fresh build of the content."""
    if paths:
        if dashboard_dirs or alert_dirs:
            raise click.UsageError("--dashboards and --alerts apply only without PATHS")
        from generator.checks.documents import read_paths

        return read_paths(paths)
    from generator.build import build as run_build

    result = run_build(settings, dashboard_dirs, alert_dirs)
    # The Kubernetes objects are no documents; their own problems (sizes) come with the build.
    delivery = [p for p in result.problems if p.check.startswith("kubernetes/")]
    return result.documents(), delivery


def _usage(function: Any, *args: Any) -> Any:
    """Calls into the domain; an ObsgenError is a usage error here (exit 2)."""
    try:
        return function(*args)
    except ObsgenError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)


def _load_settings(config_path: str | None) -> Any:
    from generator.settings import BUILT_IN, settings_for

    settings = settings_for(config_path)
    if settings.source == BUILT_IN:
        click.echo("obsgen: no obsgen.yaml here; using the built-in defaults", err=True)
    return settings


def _settings(config_path: str | None) -> Any:
    return _domain(_load_settings, config_path)


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


# ---- delivery to Grafana's HTTP API: obsgen push, obsgen diff ------------------------------


def _grafana_options(function: Any) -> Any:
    """The options of every command that talks to Grafana's HTTP API."""
    options = (
        click.option("--grafana-url", metavar="URL", help="Grafana's URL (default: $GRAFANA_URL)."),
        click.option(
            "--token",
            metavar="TOKEN",
            help="Service-account token (default: $GRAFANA_TOKEN, else basic auth with "
            "$GRAFANA_USER and $GRAFANA_PASSWORD). Prefer the variable: flags show in ps.",
        ),
        click.option(
            "--org-id", type=click.IntRange(1), help="Organisation to act in (X-Grafana-Org-Id)."
        ),
        click.option(
            "--timeout",
            type=click.FloatRange(0.1, 300),
            default=10.0,
            show_default=True,
            help="Seconds per request before it is retried.",
        ),
        click.option("--insecure", is_flag=True, help="Do not verify Grafana's TLS certificate."),
        click.option(
            "--concurrency",
            type=click.IntRange(1, 32),
            default=4,
            show_default=True,
            help="Requests in flight at once.",
        ),
    )
    for option in reversed(options):
        function = option(function)
    return function


@cli.command()
@config_option
@dashboards_option
@_grafana_options
@click.option("--dry-run", is_flag=True, help="Show what would be written; write nothing.")
@click.option(
    "--force",
    is_flag=True,
    help="Overwrite dashboards edited in Grafana since obsgen wrote them (and, with --prune, "
    "delete edited orphans); the remote copy is backed up first.",
)
@click.option(
    "--prune",
    is_flag=True,
    help="Delete dashboards that carry obsgen's managed tag in the managed folder but are no "
    "longer generated. Nothing else is ever deleted.",
)
@click.option(
    "--backup-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("out/backups"),
    show_default=True,
    help="Where remote copies go before an overwrite or delete, in a directory per push "
    "named by its UTC time.",
)
def push(
    config_path: str | None,
    dashboard_dirs: tuple[Path, ...],
    grafana_url: str | None,
    token: str | None,
    org_id: int | None,
    timeout: float,
    insecure: bool,
    concurrency: int,
    dry_run: bool,
    force: bool,
    prune: bool,
    backup_dir: Path,
) -> None:
    """Deliver the dashboards to Grafana through its HTTP API, safely and idempotently.

    Creates the folder from obsgen.yaml when missing and writes only dashboards whose content
    changed, so an unchanged dashboard keeps its version. A dashboard edited in Grafana since
    obsgen wrote it is refused unless --force. Exit 0 when everything was written, 1 when
    anything was refused or failed (a rerun finishes the job)."""
    from generator.deliver.grafana import report
    from generator.deliver.grafana.workflow import PushOptions, push_dashboards

    folder, desired = _delivery_content(config_path, dashboard_dirs)
    target = _grafana_target(grafana_url, token, org_id, timeout, insecure)
    options = PushOptions(
        dry_run=dry_run, force=force, prune=prune, backup_root=backup_dir, concurrency=concurrency
    )
    result = _domain(
        lambda: push_dashboards(target, folder, desired, options, progress=_progress_bar)
    )
    if dry_run:
        click.echo("\n".join(report.dry_run_report(result, force=force, prune=prune)))
        return
    click.echo("\n".join(report.push_report(result)))
    if not result.ok:
        raise click.ClickException(
            f"{len(result.not_written())} dashboard change(s) not written (listed above); once "
            "their cause is fixed, `obsgen push` finishes the job (what was written is now "
            "unchanged)"
        )


@cli.command()
@config_option
@dashboards_option
@_grafana_options
@click.option(
    "--exit-code",
    is_flag=True,
    help="Exit 2 when anything differs (new, changed, drifted or orphaned dashboards).",
)
def diff(
    config_path: str | None,
    dashboard_dirs: tuple[Path, ...],
    grafana_url: str | None,
    token: str | None,
    org_id: int | None,
    timeout: float,
    insecure: bool,
    concurrency: int,
    exit_code: bool,
) -> None:
    """Show what `obsgen push` would change in Grafana, per dashboard and per panel.

    States: new, unchanged, changed, drifted (edited in Grafana since obsgen wrote it, or
    not written by obsgen) and orphaned (carries obsgen's managed tag in the managed folder,
    no longer generated). Writes nothing. Exit 0, or 2 with --exit-code when anything
    differs; 1 for errors."""
    from generator.deliver.grafana import report
    from generator.deliver.grafana.workflow import diff_dashboards

    folder, desired = _delivery_content(config_path, dashboard_dirs)
    target = _grafana_target(grafana_url, token, org_id, timeout, insecure)
    result = _domain(
        lambda: diff_dashboards(
            target, folder, desired, concurrency=concurrency, progress=_progress_bar
        )
    )
    click.echo("\n".join(report.diff_report(result)))
    if exit_code and result.plan.has_changes():
        sys.exit(2)


def _delivery_content(config_path: str | None, dashboard_dirs: tuple[Path, ...]) -> Any:
    """(the configured folder, the dashboards as obsgen writes them); refuses a build with
    errors in the dashboards."""
    from generator.build import build as run_build
    from generator.deliver.grafana.workflow import desired_dashboards

    settings = _settings(config_path)
    result = _domain(run_build, settings, dashboard_dirs)
    others = {a.path for a in result.artifacts if a.kind != "dashboard"}
    errors = [p for p in result.problems if p.severity == "error" and p.file not in others]
    for problem in errors:
        click.echo(problem.describe(), err=True)
    if errors:
        raise click.ClickException(
            f"{len(errors)} error(s) in the generated dashboards (see above); nothing was sent "
            "to Grafana"
        )
    return settings.grafana.folder, desired_dashboards(result.artifacts)


def _grafana_target(
    url: str | None, token: str | None, org_id: int | None, timeout: float, insecure: bool
) -> Any:
    import os

    from generator.deliver.grafana.target import resolve_target

    return _domain(
        lambda: resolve_target(
            os.environ, url=url, token=token, org_id=org_id, timeout=timeout, insecure=insecure
        )
    )


@contextlib.contextmanager
def _progress_bar(label: str, total: int) -> Iterator[Callable[[int], None]]:
    """A progress bar on a terminal; nothing when stdout is a pipe or a file."""
    if not sys.stdout.isatty():
        yield lambda n: None
        return
    with click.progressbar(length=total, label=label) as bar:
        yield bar.update
