"""The input-pipeline verdict of the GPU Training dashboard reads right in each scenario: a real
Prometheus holds the synthetic fleet's history for the scenario (promtool backfill, then live
scrapes; the recording rules evaluated over the history, since the panel reads the recorded
per-job signals), and the verdict panel's query is sent as Grafana sends it when a user opens
the dashboard (generator.runtime.panel_data.read_panel: variables resolved through Prometheus,
$__rate_interval and the panel's step filled in), its last value turned into text by the
panel's own value mappings.

Grafana itself cannot be installed here; generator.runtime.panel_data and
generator.grafana_variables do its part. Without prometheus/promtool these tests skip, or fail
with REQUIRE_PROMETHEUS=1 (CI sets it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from prometheus_harness import fleet_prometheus

from generator.bottleneck import VERDICTS
from generator.runtime import FleetPrometheus, QueryClient
from generator.runtime.panel_data import read_panel

TRAINING_UID = "ee6mbjghme96oc"
VERDICT_PANEL = "Input-pipeline verdict"

# Scenario -> what the verdict panel shows for the training job once the scenario has begun.
EXPECTED = {
    "healthy": "compute-bound",
    "data-starved": "data-starved",
    "idle-allocated-gpus": "idle",
    "thermal-throttling": "compute-bound",  # hot and slower, but still busy
    "kv-cache-saturated": "compute-bound",  # an inference problem: training is unaffected
    # One of the job's two GPUs fell off the bus and idles, the other computes: half busy
    # with nothing saturated.
    "xid-error": "partly-busy",
}


def all_panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    panels = []
    for panel in dashboard["panels"]:
        panels += [panel, *panel.get("panels", [])]
    return panels


def mapped_text(panel: dict[str, Any], value: float) -> str:
    """The text Grafana shows for `value` through the panel's value mappings."""
    for mapping in panel["fieldConfig"]["defaults"]["mappings"]:
        found = mapping["options"].get(f"{value:g}")
        if mapping["type"] == "value" and found is not None:
            return str(found["text"])
    return f"{value:g} (unmapped)"


def shown_verdicts(fleet: FleetPrometheus) -> dict[str, str]:
    """Ray cluster -> the text the verdict panel shows at the end of its range."""
    (dashboard,) = [d for d in fleet.dashboards() if d["uid"] == TRAINING_UID]
    (panel,) = [p for p in all_panels(dashboard) if p["title"] == VERDICT_PANEL]
    shown = read_panel(QueryClient(fleet.url), dashboard, VERDICT_PANEL, fleet.scrape_seconds)
    (series,) = shown.values()
    # A stat panel reduces its range to the last value (lastNotNull).
    return {s.labels.get("ray_cluster", ""): mapped_text(panel, s.points[-1][1]) for s in series}


@pytest.mark.parametrize("scenario", sorted(EXPECTED))
def test_the_verdict_panel_names_the_scenarios_bottleneck(scenario: str, tmp_path: Path) -> None:
    # The panel reads recorded series: recorded over the history as a Prometheus running all
    # along would have.
    with fleet_prometheus(scenario, tmp_path) as fleet:
        verdicts = shown_verdicts(fleet)
        assert fleet.simulation is not None
        cluster = fleet.simulation.fleet.training.ray_cluster
    assert verdicts == {cluster: EXPECTED[scenario]}


def test_every_verdict_has_a_distinct_code_name_and_colour() -> None:
    assert [v.code for v in VERDICTS] == sorted({v.code for v in VERDICTS})
    assert len({v.name for v in VERDICTS}) == len({v.color for v in VERDICTS}) == len(VERDICTS)
    names = {v.name for v in VERDICTS}
    assert {"idle", "data-starved", "cpu-bound", "compute-bound"} <= names
