"""Every target of every bundled dashboard shows data: a real Prometheus (started per settings
variant) holds the synthetic fleet's `healthy` history over the dashboards' default time range,
backfilled with the real promtool, and keeps scraping the live fleet. The recording rules are
evaluated over that history too (as a Prometheus running all along would have), since panels
read recorded series.

Grafana itself cannot be installed here, so generator.runtime.panel_data does what Grafana does
when a user opens a dashboard: variables resolved through Prometheus in templating order
(saved default if offered, else the first value; multi-value and include-all select All),
targets interpolated by generator.grafana_variables with the step of a full-width panel, and
run as range queries over the default range. A failure names dashboard, panel and refId.

Without prometheus/promtool these tests skip, or fail with REQUIRE_PROMETHEUS=1 (CI sets it).
"""

from __future__ import annotations

import copy
import dataclasses
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_harness import fleet_prometheus, require_binary

from generator.grafana_variables import VariableValue, builtin_values
from generator.runtime import (
    EmptyTarget,
    FleetPrometheus,
    QueryClient,
    check_dashboard_data,
    grafana_step,
)
from generator.runtime.panel_data import resolve_variables
from generator.settings import (
    ClusterSettings,
    DcgmSettings,
    ExporterSettings,
    Settings,
    VllmSettings,
)

TRAINING_UID = "ee6mbjghme96oc"
INFERENCE_UID = "bec31e71-3ac5-4133-b2e3-b9f75c8ab56c"
FLEET_UID = "obsgen-gpu-fleet"


def variant(prefix: str, naming: str, pod_label: str, cluster: bool) -> Settings:
    exporters = ExporterSettings(
        vllm=VllmSettings(prefix=prefix, naming=naming),  # type: ignore[arg-type]
        dcgm=DcgmSettings(pod_label=pod_label),  # type: ignore[arg-type]
    )
    return dataclasses.replace(
        Settings(), exporters=exporters, cluster=ClusterSettings(enabled=cluster, label="region")
    )


# Each variant runs its own Prometheus (about 2.5 s): the defaults, and the two other ends of
# the exporter settings with the visible `cluster` variable on.
VARIANTS = {
    "defaults": Settings(),
    "ray-serve-either-pod-multicluster": variant("ray_vllm:", "either", "pod", True),
    "ray-serve-legacy-pod-name-multicluster": variant("ray_vllm_", "legacy", "pod_name", True),
}


@pytest.fixture(scope="module", params=sorted(VARIANTS))
def fleet(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FleetPrometheus]:
    """A fleet Prometheus in `healthy` for one settings variant; stopped by PID afterwards."""
    directory = tmp_path_factory.mktemp(f"dashboard-data-{request.param}")
    with fleet_prometheus("healthy", directory, VARIANTS[request.param]) as running:
        yield running


def check(fleet: FleetPrometheus, dashboards: list[dict[str, Any]]) -> list[EmptyTarget]:
    return check_dashboard_data(QueryClient(fleet.url), dashboards, fleet.scrape_seconds)


def targets(
    dashboards: list[dict[str, Any]], instant: bool | None = None
) -> list[tuple[str, int, str, str]]:
    """(uid, panel id, refId, expr) of every target, panels in rows included; `instant` True
    or False keeps only instant or only range targets."""
    found = []
    for dashboard in dashboards:
        panels = list(dashboard["panels"])
        while panels:
            panel = panels.pop(0)
            panels += panel.get("panels", [])
            for target in panel.get("targets", []):
                if instant is None or bool(target.get("instant")) == instant:
                    found.append((dashboard["uid"], panel["id"], target["refId"], target["expr"]))
    return found


def test_every_target_of_every_bundled_dashboard_has_data(fleet: FleetPrometheus) -> None:
    dashboards = fleet.dashboards()
    assert {d["uid"] for d in dashboards} == {TRAINING_UID, INFERENCE_UID, FLEET_UID}
    assert len(targets(dashboards)) >= 20
    empty = check(fleet, dashboards)
    assert not empty, "panels without data:\n" + "\n".join(e.describe() for e in empty)


def test_variables_are_set_as_a_user_opening_the_dashboard_gets_them(
    fleet: FleetPrometheus,
) -> None:
    client = QueryClient(fleet.url)
    now = time.time()
    builtins = builtin_values(3600, 15, 15)
    by_uid = {d["uid"]: d for d in fleet.dashboards()}
    training = resolve_variables(client, by_uid[TRAINING_UID], now - 3600, now, builtins)
    sim = fleet.simulation
    assert sim is not None
    job = sim.fleet.training
    assert training["namespace"] == VariableValue((job.namespace,))  # the saved default
    assert training["job"] == VariableValue((job.name,))  # no default: the first value
    node_ips = tuple(sorted(node.host_ip for node in sim.fleet.nodes))
    assert training["instance"] == VariableValue(node_ips, multi=True)  # All
    inference = resolve_variables(client, by_uid[INFERENCE_UID], now - 3600, now, builtins)
    assert inference["model_name"] == VariableValue(tuple(sorted(sim.fleet.models)), multi=True)
    clusters = (sim.fleet.shape.cluster_name,) if fleet.settings.cluster.enabled else ()
    assert inference["cluster"].values == clusters


# A broken target, found by its panel's title and the text it contains, and the edit that
# breaks it: a metric that does not exist, a label the series do not carry.
BREAKAGES = [
    pytest.param(
        TRAINING_UID,
        "GPU utilisation of the job",
        "min(",
        ("DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_GPU_UTILIZATION"),
        id="wrong-metric-name",
    ),
    pytest.param(
        INFERENCE_UID,
        "Time to first token",
        "histogram_quantile(0.9,",
        ('model_name=~"$model_name"', 'model=~"$model_name"'),
        id="label-not-there",
    ),
]


@pytest.mark.parametrize(("uid", "panel_title", "contains", "edit"), BREAKAGES)
def test_a_broken_target_is_reported_by_dashboard_panel_and_ref_id(
    fleet: FleetPrometheus, uid: str, panel_title: str, contains: str, edit: tuple[str, str]
) -> None:
    dashboards = copy.deepcopy(fleet.dashboards())
    (dashboard,) = [d for d in dashboards if d["uid"] == uid]
    (panel,) = [p for p in dashboard["panels"] if p.get("title") == panel_title]
    assert len(panel["targets"]) > 1  # refId must tell the broken one from its siblings
    (broken,) = [t for t in panel["targets"] if contains in t["expr"]]
    assert edit[0] in broken["expr"]
    broken["expr"] = broken["expr"].replace(*edit)

    empty = check(fleet, dashboards)

    assert [(e.uid, e.panel_id, e.ref_id) for e in empty] == [(uid, panel["id"], broken["refId"])]
    (found,) = empty
    assert found.reason == "no series"
    message = found.describe()
    broken_text = edit[1].split("$")[0]  # the query is quoted as sent, variables filled in
    for part in (dashboard["title"], panel_title, f"refId {broken['refId']}", broken_text):
        assert part in message
    assert "$" not in found.query


def test_history_shorter_than_the_default_range_is_reported(tmp_path: Path) -> None:
    """Data must cover the default range, not just exist: 15 minutes of an hour do not.
    Instant targets (a stat over $__range) ask for the value at the end only, which exists."""
    require_binary("prometheus")
    require_binary("promtool")
    with FleetPrometheus(
        Settings(), directory=tmp_path, history_seconds=900, recorded_history=True
    ) as short:
        dashboards = short.dashboards()
        empty = check(short, dashboards)
    assert targets(dashboards, instant=True)
    assert sorted((e.uid, e.panel_id, e.ref_id) for e in empty) == sorted(
        (uid, panel, ref) for uid, panel, ref, _expr in targets(dashboards, instant=False)
    )
    assert all(re.match(r"values at only \d+ of 241 steps", e.reason) for e in empty), empty[0]


def test_grafana_step_is_range_over_points_and_at_least_the_scrape_interval() -> None:
    assert grafana_step(3600, 15) == 15
    assert grafana_step(6 * 3600, 15) == 22
    assert grafana_step(7 * 86400, 30) == 605
    assert grafana_step(60, 0) == 1
