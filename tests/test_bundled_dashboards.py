"""The bundled dashboards as a set: enough panels that each say what they show, and links
between them (and to the runbooks) that keep the time range and the variables they share."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from generator.build import build
from generator.panels import BUNDLED_DASHBOARDS
from generator.settings import AlertSettings, ClusterSettings, Settings

TRAINING_UID = "ee6mbjghme96oc"
INFERENCE_UID = "bec31e71-3ac5-4133-b2e3-b9f75c8ab56c"
FLEET_UID = "obsgen-gpu-fleet"
MIN_PANELS = 40


def dashboards(settings: Settings) -> dict[str, dict[str, Any]]:
    """The rendered bundled dashboards by uid."""
    built = build(settings).artifacts
    return {a.document["uid"]: a.document for a in built if a.kind == "dashboard"}


def data_panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    """Every panel but rows, collapsed rows' panels included."""
    found = []
    for panel in dashboard["panels"]:
        found += [p for p in panel.get("panels", [])]
        if panel["type"] != "row":
            found.append(panel)
    return found


def variable_names(dashboard: dict[str, Any]) -> list[str]:
    return [v["name"] for v in dashboard["templating"]["list"]]


def test_the_bundled_dashboards_have_at_least_40_panels_each_with_unit_and_description() -> None:
    panels = [p for d in dashboards(Settings()).values() for p in data_panels(d)]
    assert len(panels) >= MIN_PANELS
    for panel in panels:
        assert panel["fieldConfig"]["defaults"].get("unit", "").strip(), panel["title"]
        assert panel.get("description", "").strip(), panel["title"]


def test_the_link_table_names_exactly_the_bundled_dashboards() -> None:
    built = dashboards(Settings())
    assert {uid: d["title"] for uid, d in built.items()} == dict(BUNDLED_DASHBOARDS)
    assert set(built) == {TRAINING_UID, INFERENCE_UID, FLEET_UID}


@pytest.mark.parametrize("uid", [TRAINING_UID, INFERENCE_UID, FLEET_UID])
def test_each_dashboard_links_to_the_others_keeping_time_and_variables(uid: str) -> None:
    built = dashboards(Settings())
    links = [link for link in built[uid]["links"] if link["url"].startswith("/d/")]
    assert sorted(link["url"] for link in links) == sorted(f"/d/{u}" for u in built if u != uid)
    for link in links:
        assert link["type"] == "link"
        assert link["includeVars"] is True and link["keepTime"] is True
        assert link["title"] == built[link["url"].removeprefix("/d/")]["title"]


def test_shared_variables_have_one_name_everywhere() -> None:
    """includeVars passes var-<name>: a variable means the same thing under the same name."""
    built = dashboards(Settings())
    names = {uid: variable_names(d) for uid, d in built.items()}
    for listed in names.values():
        assert listed[:2] == ["datasource", "cluster"]
    assert "namespace" in names[TRAINING_UID]
    assert "namespace" in names[INFERENCE_UID] and "model_name" in names[INFERENCE_UID]
    assert {"namespace", "node", "gpu_model"} <= set(names[FLEET_UID])


@pytest.mark.parametrize(
    ("runbook_url", "index"),
    [
        ("https://runbooks.example.com/obsgen/{alert}", "https://runbooks.example.com/obsgen/"),
        (
            "https://git.example/gpu/obsgen/blob/main/docs/runbooks.md#{alert_lower}",
            "https://git.example/gpu/obsgen/blob/main/docs/runbooks.md",
        ),
    ],
)
def test_the_runbooks_link_follows_the_runbook_url_setting(runbook_url: str, index: str) -> None:
    settings = dataclasses.replace(Settings(), alerts=AlertSettings(runbook_url=runbook_url))
    for dashboard in dashboards(settings).values():
        (runbooks,) = [link for link in dashboard["links"] if link["title"] == "Runbooks"]
        assert runbooks["url"] == index
        assert runbooks["targetBlank"] is True


def test_links_keep_the_cluster_variable_in_multi_cluster_mode() -> None:
    settings = dataclasses.replace(Settings(), cluster=ClusterSettings(enabled=True))
    for dashboard in dashboards(settings).values():
        (cluster,) = [v for v in dashboard["templating"]["list"] if v["name"] == "cluster"]
        assert cluster["hide"] == 0  # shown, and passed on by includeVars like the others
        assert all(
            link["includeVars"]
            for link in dashboard["links"]
            if link["type"] == "link" and link["url"].startswith("/d/")
        )
