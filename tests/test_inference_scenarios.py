"""Inference failure scenarios show where the Inference dashboard says they should: a real
Prometheus holds each scenario's history (the anomaly starts at the beginning of the default
hour) and the panels are read as Grafana shows them (generator.runtime.read_panel: variables
resolved, targets interpolated, range queries over the default range), with obsgen's recording
rules evaluated over that history.

Without prometheus/promtool these tests skip, or fail with REQUIRE_PROMETHEUS=1 (CI sets it).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from prometheus_harness import fleet_prometheus

from generator.runtime import FleetPrometheus, QueryClient, RangeSeries, read_panel

INFERENCE_UID = "bec31e71-3ac5-4133-b2e3-b9f75c8ab56c"
SETTLED_SECONDS = 600.0  # readings follow a new condition within minutes; judge after this


@pytest.fixture(scope="module")
def kv_cache_saturated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FleetPrometheus]:
    with fleet_prometheus("kv-cache-saturated", tmp_path_factory.mktemp("kv")) as fleet:
        yield fleet


@pytest.fixture(scope="module")
def requests_queueing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FleetPrometheus]:
    with fleet_prometheus("requests-queueing", tmp_path_factory.mktemp("queue")) as fleet:
        yield fleet


@pytest.fixture(scope="module")
def request_errors(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FleetPrometheus]:
    with fleet_prometheus("request-errors", tmp_path_factory.mktemp("errors")) as fleet:
        yield fleet


@pytest.fixture(scope="module")
def ttft_slo_breach(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FleetPrometheus]:
    with fleet_prometheus("ttft-slo-breach", tmp_path_factory.mktemp("ttft")) as fleet:
        yield fleet


def inference(fleet: FleetPrometheus) -> dict[str, Any]:
    (dashboard,) = [d for d in fleet.dashboards() if d["uid"] == INFERENCE_UID]
    return dashboard


def panel(dashboard: dict[str, Any], title: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [p for p in dashboard["panels"] if p.get("title") == title]
    assert len(found) == 1, title
    return found[0]


def shown(fleet: FleetPrometheus, title: str, legend_suffix: str = "") -> list[RangeSeries]:
    """The series of `title`'s target whose legend ends with `legend_suffix` (the only one
    when empty), as Grafana shows them."""
    dashboard = inference(fleet)
    targets = panel(dashboard, title)["targets"]
    (ref_id,) = [t["refId"] for t in targets if t["legendFormat"].endswith(legend_suffix)]
    series = read_panel(QueryClient(fleet.url), dashboard, title, fleet.scrape_seconds)[ref_id]
    assert series, f"{title} {ref_id} shows nothing"
    return series


def settled(series: RangeSeries) -> list[float]:
    """Values after the readings had time to follow the scenario's onset."""
    first = series.points[0][0]
    return [v for t, v in series.points if t >= first + SETTLED_SECONDS]


def affected(fleet: FleetPrometheus) -> dict[str, str]:
    """Labels of what the scenario hits (replica pod, model)."""
    assert fleet.simulation is not None
    return fleet.simulation.affected()


def red_line(dashboard: dict[str, Any], title: str) -> float:
    steps = panel(dashboard, title)["fieldConfig"]["defaults"]["thresholds"]["steps"]
    (line,) = [s["value"] for s in steps if s["color"] == "red"]
    return float(line)


def assert_only_beyond(
    values: dict[str, list[float]], key: str, line: float, above: bool = True
) -> None:
    """`key`'s values all lie beyond `line` (above, or below when not `above`) and every
    other key's values on the other side."""
    assert key in values and len(values) > 1, (key, values)
    own = values[key]
    rest = [v for other, vs in values.items() if other != key for v in vs]
    if above:
        assert min(own) > line > max(rest), (key, values)
    else:
        assert max(own) < line < min(rest), (key, values)


def test_kv_cache_saturated_replica_stands_out_in_kv_cache_usage(
    kv_cache_saturated: FleetPrometheus,
) -> None:
    fleet = kv_cache_saturated
    limit = fleet.settings.thresholds.kv_cache_usage_ratio
    assert red_line(inference(fleet), "KV-cache usage per replica") == limit
    hit = affected(fleet)
    series = shown(fleet, "KV-cache usage per replica")
    assert {s.labels["model_name"] for s in series if s.labels["pod"] == hit["pod"]} == {
        hit["model_name"]
    }
    assert_only_beyond({s.labels["pod"]: settled(s) for s in series}, hit["pod"], limit)


def test_kv_cache_saturated_replica_preempts_and_queues(
    kv_cache_saturated: FleetPrometheus,
) -> None:
    fleet = kv_cache_saturated
    pod = affected(fleet)["pod"]
    for title in ("Preemptions per replica", "Waiting requests per replica"):
        by_pod = {s.labels["pod"]: max(settled(s)) for s in shown(fleet, title)}
        busiest = max(by_pod, key=lambda name: by_pod[name])
        assert busiest == pod and by_pod[pod] > 0, (title, by_pod)


def test_ttft_slo_breach_shows_p99_above_the_target_for_the_model(
    ttft_slo_breach: FleetPrometheus,
) -> None:
    fleet = ttft_slo_breach
    target = fleet.settings.thresholds.ttft_target_seconds
    assert red_line(inference(fleet), "Time to first token") == target
    p99 = {s.labels["model_name"]: settled(s) for s in shown(fleet, "Time to first token", "p99")}
    assert_only_beyond(p99, affected(fleet)["model_name"], target)


def test_ttft_slo_breach_spends_the_error_budget_of_that_model_only(
    ttft_slo_breach: FleetPrometheus,
) -> None:
    fleet = ttft_slo_breach
    model = affected(fleet)["model_name"]
    within = shown(fleet, "Requests within latency targets", "TTFT")
    objective = fleet.settings.slo.objective
    assert_only_beyond(
        {s.labels["model_name"]: settled(s) for s in within}, model, objective, False
    )
    budget = shown(fleet, "Error budget remaining", "TTFT")
    assert_only_beyond({s.labels["model_name"]: [s.points[-1][1]] for s in budget}, model, 0, False)


def test_requests_queueing_shows_the_model_waiting_above_the_threshold(
    requests_queueing: FleetPrometheus,
) -> None:
    fleet = requests_queueing
    limit = fleet.settings.thresholds.waiting_requests
    model = affected(fleet)["model_name"]
    waiting = shown(fleet, "Running and waiting requests", "waiting")
    assert_only_beyond({s.labels["model_name"]: settled(s) for s in waiting}, model, limit)
    queue_p50 = {s.labels["model_name"]: settled(s) for s in shown(fleet, "Queue time", "p50")}
    # Half of the queued requests wait more than half the TTFT target before their prefill.
    assert_only_beyond(queue_p50, model, fleet.settings.thresholds.ttft_target_seconds / 2)


def test_request_errors_show_the_model_failing_above_the_error_ratio(
    request_errors: FleetPrometheus,
) -> None:
    fleet = request_errors
    limit = fleet.settings.thresholds.request_error_ratio
    assert red_line(inference(fleet), "Failed request ratio") == limit
    ratio = {s.labels["model_name"]: settled(s) for s in shown(fleet, "Failed request ratio")}
    assert_only_beyond(ratio, affected(fleet)["model_name"], limit)
    aborted = shown(fleet, "Finished requests by reason")
    assert {s.labels["finished_reason"] for s in aborted} == {"stop", "length", "abort"}
