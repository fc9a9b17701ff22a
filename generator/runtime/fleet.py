"""A fleet Prometheus: a real Prometheus answering for the synthetic GPU fleet.

For settings and a scenario it builds the content, backfills the fleet's history over the
longest default time range of the dashboards (plus a margin for rate windows) with promtool,
serves the same simulation live on a loopback /metrics endpoint, and starts Prometheus
scraping it with the generated rule files loaded and, optionally, an Alertmanager to notify.

    with FleetPrometheus(settings, "healthy", directory=tmp) as fleet:
        QueryClient(fleet.url).query("count(DCGM_FI_DEV_GPU_UTIL)")
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Self

from generator.build import BuildResult, build
from generator.errors import ObsgenError
from generator.runtime.binaries import find_binary
from generator.runtime.process import StartupError
from generator.runtime.prometheus import PrometheusServer, write_prometheus_config
from generator.runtime.time_range import longest_default_range
from generator.service import Service
from generator.settings import Settings
from generator.synthetic import (
    DEFAULT_STEP_SECONDS,
    BackfillError,
    FleetShape,
    HistoryStats,
    MetricsEndpoint,
    Scenario,
    Simulation,
    backfill_history,
    create_rule_blocks,
    get_scenario,
)

HISTORY_MARGIN_SECONDS = 600.0  # samples before the range, for rate windows at its start
SCRAPE_JOB = "synthetic-fleet"


class FleetPrometheus(Service):
    """Prometheus on the synthetic fleet's backfilled history and live endpoint, in
    `directory` (config, rules/, data/, log). Starts with start() or `with`.

    `history_seconds` None backfills the longest default dashboard range plus a margin; 0
    backfills nothing. The scenario's anomaly begins `onset_after` seconds after the history
    starts (default: the Simulation's ten minutes). `port` None picks a free port;
    `prometheus_args` are further Prometheus flags. `live` False serves no endpoint: Prometheus
    holds the backfilled history only and scrapes nothing. `backfill_slice_seconds` writes and
    backfills the history in slices of that length (see backfill_history), for large fleets.
    `recorded_history` also evaluates the recording rules over the backfilled history (which
    Prometheus itself never does), so panels reading recorded series show the whole range."""

    def __init__(
        self,
        settings: Settings,
        scenario: str | Scenario = "healthy",
        *,
        directory: Path | str,
        content: BuildResult | None = None,
        history_seconds: float | None = None,
        onset_after: float | None = None,
        port: int | None = None,
        alertmanager_url: str = "",
        step: float = DEFAULT_STEP_SECONDS,
        evaluation_interval: str = "15s",
        prometheus_args: Sequence[str] = (),
        shape: FleetShape | None = None,
        seed: int = 0,
        live: bool = True,
        backfill_slice_seconds: float | None = None,
        recorded_history: bool = False,
    ) -> None:
        self.settings = settings
        self.scenario = get_scenario(scenario) if isinstance(scenario, str) else scenario
        self.directory = Path(directory)
        self.content = content
        self.history_seconds = history_seconds
        self.onset_after = onset_after
        self.alertmanager_url = alertmanager_url
        self.step = step
        self.evaluation_interval = evaluation_interval
        self.shape = shape
        self.seed = seed
        self.live = live
        self.backfill_slice_seconds = backfill_slice_seconds
        self.recorded_history = recorded_history
        self.prometheus = PrometheusServer(self.directory, port, extra_args=prometheus_args)
        self.simulation: Simulation | None = None
        self.endpoint: MetricsEndpoint | None = None
        self.history: HistoryStats | None = None
        self.blocks: tuple[str, ...] = ()
        self.backfill_seconds = 0.0
        self.rule_files: list[Path] = []

    # ---- what a caller uses ------------------------------------------------------------

    @property
    def url(self) -> str:
        """Returns Prometheus' base URL, http://127.0.0.1:PORT."""
        return self.prometheus.url

    @property
    def pid(self) -> int:
        """Returns the PID of the Prometheus child process."""
        return self.prometheus.pid

    @property
    def scrape_seconds(self) -> float:
        """Returns how often Prometheus scrapes the live endpoint (the simulation step)."""
        return self.step

    def built_content(self) -> BuildResult:
        """Returns the built content (dashboards, rules, Alertmanager config), building it
        from the settings on first use; raises ObsgenError when the build has errors."""
        if self.content is None:
            content = build(self.settings)
            errors = [p for p in content.problems if p.severity == "error"]
            if errors:
                raise ObsgenError(
                    f"{len(errors)} error(s) in the generated content, the first: "
                    f"{errors[0].describe()}; run `obsgen validate` for all of them"
                )
            self.content = content
        return self.content

    def dashboards(self) -> list[dict[str, Any]]:
        """Returns the rendered dashboards of the content."""
        return [a.document for a in self.built_content().artifacts if a.kind == "dashboard"]

    # ---- life cycle --------------------------------------------------------------------

    def start(self) -> Self:
        """Builds, backfills, starts the endpoint and Prometheus; returns self once
        Prometheus is ready. Raises an ObsgenError (MissingBinaryError, PortInUseError,
        StartupError, ...) with a message for people; nothing is left running then."""
        find_binary("prometheus")
        promtool = find_binary("promtool")
        content = self.built_content()
        self.rule_files = self._write_rules(content)
        now = time.time()
        history = self._history_seconds(content)
        simulation = Simulation(
            self.settings,
            self.scenario,
            start=now - history,
            step=self.step,
            onset=None if self.onset_after is None else now - history + self.onset_after,
            shape=self.shape,
            seed=self.seed,
        )
        self.simulation = simulation
        if history > 0:
            self._backfill(simulation, now, promtool)
        self.endpoint = MetricsEndpoint(simulation).start() if self.live else None
        try:
            write_prometheus_config(
                self.prometheus.config_file,
                [self._scrape_config(self.endpoint, simulation)] if self.endpoint else [],
                rule_files=self.rule_files,
                alertmanager_url=self.alertmanager_url,
                scrape_interval=_duration(self.step),
                evaluation_interval=self.evaluation_interval,
            )
            self.prometheus.start()
            if self.recorded_history and history > 0:
                self._backfill_recorded(now - history, now, promtool)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stops Prometheus (by PID) and then the endpoint; safe to call twice."""
        self.prometheus.stop()
        if self.endpoint is not None:
            self.endpoint.stop()

    # ---- internals ---------------------------------------------------------------------

    def _write_rules(self, content: BuildResult) -> list[Path]:
        rules_dir = self.directory / "rules"
        rules_dir.mkdir(parents=True, exist_ok=True)
        written = []
        for artifact in content.artifacts:
            if artifact.kind == "rules":
                path = rules_dir / Path(artifact.path).name
                path.write_text(artifact.text, encoding="utf-8")
                written.append(path)
        return written

    def _history_seconds(self, content: BuildResult) -> float:
        if self.history_seconds is not None:
            return max(0.0, self.history_seconds)
        dashboards = [a.document for a in content.artifacts if a.kind == "dashboard"]
        return longest_default_range(dashboards) + HISTORY_MARGIN_SECONDS

    def _backfill(self, simulation: Simulation, end: float, promtool: str) -> None:
        try:
            self.history, stats = backfill_history(
                simulation,
                self.prometheus.data_dir,
                end,
                scratch_dir=self.directory,
                slice_seconds=self.backfill_slice_seconds,
                promtool=promtool,
            )
        except BackfillError as exc:
            raise StartupError(str(exc)) from None
        self.blocks, self.backfill_seconds = stats.blocks, stats.seconds

    def _backfill_recorded(self, start: float, end: float, promtool: str) -> None:
        """Writes the recording rules' series from `start` to `end` as blocks, then restarts
        Prometheus so it reads them now instead of at its next (minutely) block reload."""
        try:
            create_rule_blocks(
                self.rule_files, self.prometheus.data_dir, self.url, start, end, self.step, promtool
            )
        except BackfillError as exc:
            raise StartupError(str(exc)) from None
        self.prometheus.stop()
        self.prometheus.start()

    def _scrape_config(self, endpoint: MetricsEndpoint, simulation: Simulation) -> dict[str, Any]:
        config = endpoint.scrape_config(SCRAPE_JOB, _duration(self.step))
        cluster = self.settings.cluster
        if cluster.enabled:
            # Like a per-cluster relabeling: `up` and the other scrape series get the label too.
            labels = {cluster.label: simulation.fleet.shape.cluster_name}
            config["static_configs"] = [{**c, "labels": labels} for c in config["static_configs"]]
        return config


def _duration(seconds: float) -> str:
    """Returns a Prometheus duration: whole seconds as "15s", anything else in milliseconds."""
    return f"{seconds:g}s" if float(seconds).is_integer() else f"{round(seconds * 1000)}ms"
