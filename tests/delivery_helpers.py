"""Helpers for the `obsgen push` / `obsgen diff` tests: a double of Grafana's HTTP API with
the environment pointing at it, team dashboard modules, and a person editing a dashboard
through the API the way Grafana's UI saves it."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from grafana_client.api import GrafanaApi
from grafana_double import ADMIN_USER, EDITOR_TOKEN, GrafanaApiDouble

from generator.deliver.grafana import retry

TRAINING_UID = "ee6mbjghme96oc"
INFERENCE_UID = "bec31e71-3ac5-4133-b2e3-b9f75c8ab56c"
FLEET_UID = "obsgen-gpu-fleet"
BUNDLED_UIDS = {TRAINING_UID, INFERENCE_UID, FLEET_UID}


def grafana_environment(
    monkeypatch: pytest.MonkeyPatch, **options: Any
) -> Iterator[GrafanaApiDouble]:
    """A running double with GRAFANA_URL and GRAFANA_TOKEN (an Editor token) pointing at it,
    and retries that wait milliseconds instead of seconds. Stopped afterwards."""
    monkeypatch.setattr(retry, "DEFAULT_POLICY", retry.RetryPolicy(base_delay=0.01, max_delay=0.02))
    for name in ("GRAFANA_USER", "GRAFANA_PASSWORD", "GRAFANA_ORG_ID"):
        monkeypatch.delenv(name, raising=False)
    with GrafanaApiDouble(**options) as double:
        monkeypatch.setenv("GRAFANA_URL", double.url)
        monkeypatch.setenv("GRAFANA_TOKEN", EDITOR_TOKEN)
        yield double


def panel_source(title: str, metric: str) -> str:
    return (
        f'timeseries("{title}", "What {title} shows.", "percent", '
        f'[target(aggregate("avg", q.selector("{metric}"), ("gpu",)), "GPU {{{{gpu}}}}")], '
        "min_value=0, max_value=100)"
    )


def dashboard_module(
    uid: str,
    title: str,
    panels: tuple[tuple[str, str], ...] = (("GPU utilisation", "DCGM_FI_DEV_GPU_UTIL"),),
    copies: int = 1,
) -> str:
    """A dashboard module built with the authoring helpers; `copies` > 1 returns that many
    dashboards, uids `uid-0`, `uid-1`, ..."""
    panel_list = ", ".join(panel_source(t, m) for t, m in panels)
    return textwrap.dedent(
        f'''\
        """{title}: a team's own dashboard."""

        from generator.panels import Section, dashboard, timeseries, target
        from generator.queries import Queries, aggregate


        def one(settings, uid, title):
            q = Queries(settings)
            return dashboard(
                settings,
                uid=uid,
                title=title,
                description="Team dashboard",
                variables=[],
                sections=[Section("GPUs", [{panel_list}])],
            )


        def build(settings):
            if {copies} == 1:
                return one(settings, "{uid}", "{title}")
            return [one(settings, f"{uid}-{{i}}", f"{title} {{i}}") for i in range({copies})]
        '''
    )


def write_module(directory: Path, name: str, source: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(source, encoding="utf-8")
    return path


def edit_as_a_person(
    double: GrafanaApiDouble,
    uid: str,
    change: Callable[[dict[str, Any]], None],
    folder_uid: str | None = None,
) -> int:
    """What saving in Grafana's UI sends, as user admin over the API: the dashboard as read,
    changed, with its version and folder (or `folder_uid`: moved) and no overwrite. Returns
    the new version."""
    parts = urlsplit(double.url)
    person = GrafanaApi(auth=ADMIN_USER, host=parts.hostname, port=parts.port)
    current = person.dashboard.get_dashboard(uid)
    dashboard = current["dashboard"]
    change(dashboard)
    saved = person.dashboard.update_dashboard(
        {
            "dashboard": dashboard,
            "folderUid": current["meta"]["folderUid"] if folder_uid is None else folder_uid,
            "message": "fixed during the incident",
            "overwrite": False,
        }
    )
    person.client.s.close()
    return int(saved["version"])


def create_as_a_person(
    double: GrafanaApiDouble, dashboard: dict[str, Any], folder_uid: str = ""
) -> None:
    """A dashboard someone made by hand (no obsgen marker)."""
    parts = urlsplit(double.url)
    person = GrafanaApi(auth=ADMIN_USER, host=parts.hostname, port=parts.port)
    person.dashboard.update_dashboard({"dashboard": dashboard, "folderUid": folder_uid})
    person.client.s.close()


def dashboard_writes(double: GrafanaApiDouble) -> list[str]:
    """'POST <uid>' / 'DELETE <uid>' for every dashboard write request, in order."""
    writes = []
    for request in double.writes():
        if request.path == "/api/dashboards/db":
            writes.append(f"POST {request.body['dashboard'].get('uid')}")
        elif request.path.startswith("/api/dashboards/uid/"):
            writes.append(f"{request.method} {request.path.rsplit('/', 1)[1]}")
    return writes
