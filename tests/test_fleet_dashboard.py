"""The GPU Fleet dashboard counts what the synthetic fleet holds, read the way Grafana reads a
panel (generator.runtime.read_panel): a real Prometheus over the fleet's backfilled history,
the recording rules evaluated over it (the panels read the recorded join), variables set as
a user opening the dashboard gets them, instant targets asked at the end of the default range.

In `healthy` every GPU a pod holds is busy; in `idle-allocated-gpus` the training job's workers
keep their GPUs and leave them idle from ten minutes into the history on.

Without prometheus/promtool these tests skip, or fail with REQUIRE_PROMETHEUS=1 (CI sets it).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from prometheus_harness import fleet_prometheus

from generator.runtime import FleetPrometheus, QueryClient, read_panel
from generator.synthetic import Fleet

FLEET_UID = "obsgen-gpu-fleet"
LEGEND_LABEL = re.compile(r"\{\{\s*(\w+)\s*\}\}")


@pytest.fixture(scope="module", params=["healthy", "idle-allocated-gpus"])
def fleet(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FleetPrometheus]:
    with fleet_prometheus(request.param, tmp_path_factory.mktemp(request.param)) as running:
        yield running


def synthetic(fleet: FleetPrometheus) -> Fleet:
    assert fleet.simulation is not None
    return fleet.simulation.fleet


def read_fleet_panel(fleet: FleetPrometheus, title: str) -> dict[str, float]:
    """The values of a panel's single instant target by legend, as Grafana shows them."""
    (dashboard,) = [d for d in fleet.dashboards() if d["uid"] == FLEET_UID]
    shown = read_panel(QueryClient(fleet.url), dashboard, title, fleet.scrape_seconds)
    (target,) = [t for p in dashboard["panels"] if p.get("title") == title for t in p["targets"]]
    assert target["instant"], title
    return {legend(target, s.labels): s.points[-1][1] for s in shown[target["refId"]]}


def legend(target: dict[str, Any], labels: dict[str, str]) -> str:
    """The legend Grafana draws: {{label}} filled in, empty for a label the series lacks."""
    text = str(target.get("legendFormat") or "")
    return LEGEND_LABEL.sub(lambda m: labels.get(m.group(1), ""), text)


def idle_gpus_created(fleet: FleetPrometheus) -> int:
    """GPUs the scenario leaves idle while pods hold them: the training workers' in
    idle-allocated-gpus, none in healthy."""
    if fleet.scenario.name != "idle-allocated-gpus":
        return 0
    job = synthetic(fleet).training
    return sum(len(synthetic(fleet).gpus_of(worker)) for worker in job.workers)


def test_the_idle_panel_counts_exactly_the_idle_gpus_of_the_scenario(
    fleet: FleetPrometheus,
) -> None:
    expected = idle_gpus_created(fleet)
    assert fleet.scenario.name == "healthy" or expected >= 2
    assert read_fleet_panel(fleet, "GPUs allocated but idle") == {"": expected}


def test_idle_devices_are_placed_on_the_nodes_of_the_idle_pods(fleet: FleetPrometheus) -> None:
    by_node = read_fleet_panel(fleet, "Allocated but idle devices by node")
    if fleet.scenario.name == "healthy":
        assert by_node == {"": 0}
        return
    workers = synthetic(fleet).training.workers
    assert by_node == {w.node: len(w.gpus) for w in workers}


def test_inventory_and_allocation_match_the_fleet(fleet: FleetPrometheus) -> None:
    gpus = synthetic(fleet).gpus
    assert read_fleet_panel(fleet, "GPUs") == {"": len(gpus)}
    assert read_fleet_panel(fleet, "GPUs allocated") == {"": sum(1 for g in gpus if g.pod)}
    assert read_fleet_panel(fleet, "MIG instances") == {"": 0}
    models = read_fleet_panel(fleet, "GPUs by model")
    assert models == {synthetic(fleet).shape.gpu_model: len(gpus)}


def test_idle_gpu_hours_cover_the_time_the_gpus_were_held_idle(fleet: FleetPrometheus) -> None:
    (hours,) = read_fleet_panel(fleet, "GPU-hours allocated but idle").values()
    idle = idle_gpus_created(fleet)
    if not idle:
        assert hours == 0
        return
    # Idle from before the hour the dashboard shows: nearly every GPU-hour of it, less the
    # minutes the activity takes to fall below the idle ratio.
    assert 0.8 * idle <= hours <= idle
