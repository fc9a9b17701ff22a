"""A running synthetic fleet: the fleet, its state and its exporters, advanced tick by tick.

Tick k is at `start + k * step`. Tick 0 is computed on creation; `advance_to(t)` moves on to
the last tick at or before `t` and never goes back, so one Simulation can first write history
and then keep serving live values that continue the same series.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from generator.catalog import Catalog, load_catalog
from generator.queries import Queries
from generator.settings import Settings
from generator.synthetic.cadvisor import Cadvisor
from generator.synthetic.dcgm import DcgmExporter
from generator.synthetic.families import Family, Registry
from generator.synthetic.fleet import Fleet, FleetShape, build_fleet
from generator.synthetic.kube_state import KubeStateMetrics
from generator.synthetic.node_exporter import NodeExporter
from generator.synthetic.ray import RayMetrics
from generator.synthetic.scenarios import DEFAULT_ONSET_SECONDS, Scenario, get_scenario
from generator.synthetic.serve import ServeMetrics
from generator.synthetic.state import FleetState
from generator.synthetic.vllm import VllmExporter

DEFAULT_STEP_SECONDS = 15.0


class _Exporter(Protocol):
    def update(self, dt: float, state: FleetState) -> None: ...


class Simulation:
    """A synthetic GPU fleet running one scenario.

    `start` is the time of the first tick (Unix seconds); the scenario's anomaly begins at
    `onset` (default: ten minutes after `start`). Same arguments, same values."""

    def __init__(
        self,
        settings: Settings,
        scenario: str | Scenario = "healthy",
        *,
        start: float,
        step: float = DEFAULT_STEP_SECONDS,
        shape: FleetShape | None = None,
        seed: int = 0,
        onset: float | None = None,
        catalog: Catalog | None = None,
    ) -> None:
        if step <= 0:
            raise ValueError("step must be positive")
        self.settings = settings
        self.scenario = get_scenario(scenario) if isinstance(scenario, str) else scenario
        self.start = float(start)
        self.step = float(step)
        self.onset = self.start + DEFAULT_ONSET_SECONDS if onset is None else float(onset)
        self.seed = seed
        ray_serve = settings.exporters.vllm.prefix != "vllm:"
        self.fleet: Fleet = build_fleet(shape, ray_serve=ray_serve)
        catalog = catalog or load_catalog()
        cluster = settings.cluster
        common = {cluster.label: self.fleet.shape.cluster_name} if cluster.enabled else {}
        self._registry = Registry(catalog, common)
        self.state = FleetState(self.fleet, seed)
        self._exporters: list[_Exporter] = [
            DcgmExporter(self._registry, self.fleet, settings),
            NodeExporter(self._registry, self.fleet, self.start),
            Cadvisor(self._registry, self.fleet),
            KubeStateMetrics(self._registry, self.fleet),
            RayMetrics(self._registry, self.fleet),
            VllmExporter(self._registry, self.fleet, Queries(settings, catalog)),
            ServeMetrics(self._registry, self.fleet),
        ]
        self.tick = -1
        self.advance()

    @property
    def time(self) -> float:
        """Returns the time (Unix seconds) of the current tick."""
        return self.start + self.tick * self.step

    def families(self) -> Sequence[Family]:
        """Returns every metric family with its series' values at the current tick."""
        return self._registry.families

    def affected(self) -> dict[str, str]:
        """Returns labels identifying what the scenario hits (see Scenario.affected)."""
        return self.scenario.affected(self.fleet)

    def advance(self) -> None:
        """Computes the next tick."""
        self.tick += 1
        now = self.time
        conditions = self.scenario.conditions(
            self.fleet, self.settings.thresholds, active=now >= self.onset
        )
        self.state.update(now - self.start, self.step, conditions)
        dt = self.step if self.tick else 0.0
        for exporter in self._exporters:
            exporter.update(dt, self.state)

    def advance_to(self, when: float) -> int:
        """Advances to the last tick at or before `when`; returns how many ticks it computed."""
        computed = 0
        while self.start + (self.tick + 1) * self.step <= when:
            self.advance()
            computed += 1
        return computed
