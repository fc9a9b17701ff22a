"""The GPU-health scenarios show in the panels meant for them, on the Training and GPU Fleet
dashboards alike, read the way Grafana reads a panel (generator.runtime.read_panel) from a real
Prometheus over the synthetic fleet's history: `xid-error` on the XID panels, `thermal-throttling`
on the temperature panels, on the pod or node the scenario hits and nowhere else.

Without prometheus/promtool these tests skip, or fail with REQUIRE_PROMETHEUS=1 (CI sets it).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from prometheus_harness import fleet_prometheus

from generator.runtime import FleetPrometheus, QueryClient, read_panel
from generator.runtime.query import RangeSeries
from generator.settings import Settings
from generator.synthetic.fleet import Gpu
from generator.synthetic.scenarios import first_training_gpu

TRAINING_UID = "ee6mbjghme96oc"
FLEET_UID = "obsgen-gpu-fleet"
LIMITS = Settings().thresholds
HARDWARE_XID = 79  # what the xid-error scenario reports


@pytest.fixture(scope="module", params=["healthy", "xid-error", "thermal-throttling"])
def fleet(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FleetPrometheus]:
    with fleet_prometheus(request.param, tmp_path_factory.mktemp(request.param)) as running:
        yield running


def shown(fleet: FleetPrometheus, uid: str, title: str) -> list[RangeSeries]:
    """Every series the panel draws (all its targets), as Grafana gets them."""
    (dashboard,) = [d for d in fleet.dashboards() if d["uid"] == uid]
    answers = read_panel(QueryClient(fleet.url), dashboard, title, fleet.scrape_seconds)
    series = [s for answer in answers.values() for s in answer if s.points]
    assert series, f"{title!r} shows nothing in {fleet.scenario.name}"
    return series


def last(series: RangeSeries) -> float:
    return series.points[-1][1]


def hit_gpu(fleet: FleetPrometheus) -> Gpu:
    assert fleet.simulation is not None
    return first_training_gpu(fleet.simulation.fleet)


def is_hit_pod(fleet: FleetPrometheus, series: RangeSeries) -> bool:
    """The series is the hit GPU's pod (the default settings name it exported_pod)."""
    gpu = hit_gpu(fleet)
    return (
        series.labels.get("exported_pod") == gpu.pod and series.labels.get("Hostname") == gpu.node
    )


def hit_node(fleet: FleetPrometheus) -> str:
    return hit_gpu(fleet).node


def test_training_xid_panel_shows_the_hardware_code(fleet: FleetPrometheus) -> None:
    (series,) = shown(fleet, TRAINING_UID, "Last XID error")
    assert last(series) == (HARDWARE_XID if fleet.scenario.name == "xid-error" else 0)


def test_fleet_xid_panel_counts_one_gpu_on_the_hit_node(fleet: FleetPrometheus) -> None:
    counts = {
        s.labels.get("Hostname", ""): last(s)
        for s in shown(fleet, FLEET_UID, "GPUs with an XID error, by node")
    }
    with_errors = {node: count for node, count in counts.items() if count > 0}
    assert with_errors == ({hit_node(fleet): 1} if fleet.scenario.name == "xid-error" else {})


def test_training_temperature_panel_shows_the_hot_pod_only(fleet: FleetPrometheus) -> None:
    series = shown(fleet, TRAINING_UID, "GPU temperature")
    hot = [s for s in series if last(s) > LIMITS.gpu_temperature_warning_celsius]
    if fleet.scenario.name == "thermal-throttling":
        assert len(hot) == 1 and is_hit_pod(fleet, hot[0])
        assert last(hot[0]) > LIMITS.gpu_temperature_critical_celsius
    else:
        assert hot == []


def test_fleet_counts_the_gpus_above_the_warning_temperature(fleet: FleetPrometheus) -> None:
    (count,) = [last(s) for s in shown(fleet, FLEET_UID, "GPUs above the warning temperature")]
    assert count == (1 if fleet.scenario.name == "thermal-throttling" else 0)
