"""Authoring helpers for dashboard content: grafanalib panels described by title, unit and query.

Sizes are given per panel; positions, ids, refIds and datasources are filled in later
(`layout` here, then the normalization in render/dashboards.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import grafanalib.core as G

from generator.settings import Settings

GRID_WIDTH = 24
DATASOURCE_VARIABLE = "${datasource}"


def target(
    expr: str, legend: str = "", *, instant: bool = False, heatmap: bool = False
) -> G.Target:
    """One Prometheus query of a panel; `legend` uses Grafana's {{label}} syntax."""
    return G.Target(
        expr=expr,
        legendFormat=legend,
        instant=instant,
        format="heatmap" if heatmap else "time_series",
    )


def thresholds(*steps: tuple[str, float]) -> list[G.Threshold]:
    """Threshold steps above a green base, e.g. thresholds(("orange", 80), ("red", 90))."""
    base = [G.Threshold("green", 0, 0.0)]
    return base + [
        G.Threshold(color, i + 1, float(value)) for i, (color, value) in enumerate(steps)
    ]


def timeseries(
    title: str,
    description: str,
    unit: str,
    targets: Sequence[G.Target],
    *,
    width: int = 12,
    height: int = 8,
    min_value: float | None = None,
    max_value: float | None = None,
    steps: Sequence[tuple[str, float]] = (),
    stacked: bool = False,
    no_value: str = "",
) -> G.TimeSeries:
    """A time-series panel; `steps` draws threshold lines (e.g. the SLO target)."""
    return G.TimeSeries(
        title=title,
        description=description,
        unit=unit,
        targets=list(targets),
        gridPos=G.GridPos(h=height, w=width, x=0, y=0),
        valueMin=min_value,
        valueMax=max_value,
        thresholds=thresholds(*steps) if steps else [],
        thresholdsStyleMode="line" if steps else "off",
        stacking={"mode": "normal", "group": "A"} if stacked else {"mode": "none"},
        fillOpacity=30 if stacked else 10,
        legendDisplayMode="table",
        legendPlacement="bottom",
        legendCalcs=["mean", "max", "lastNotNull"],
        tooltipMode="multi",
        tooltipSort="desc",
        extraJson={"fieldConfig": {"defaults": {"noValue": no_value}}} if no_value else None,
    )


def stat(
    title: str,
    description: str,
    unit: str,
    targets: Sequence[G.Target],
    *,
    width: int = 6,
    height: int = 4,
    steps: Sequence[tuple[str, float]] = (),
    decimals: int | None = None,
    no_value: str = "",
    base: str = "green",
) -> G.Stat:
    """A single-number panel showing the last value of its query; `base` colours values below
    the first step (red where low is bad, e.g. an error budget)."""
    return G.Stat(
        title=title,
        description=description,
        format=unit,
        targets=list(targets),
        gridPos=G.GridPos(h=height, w=width, x=0, y=0),
        reduceCalc="lastNotNull",
        thresholds=[{"color": base, "value": None}]
        + [{"color": color, "value": float(value)} for color, value in steps],
        graphMode="area",
        colorMode="value",
        decimals=decimals,
        noValue=no_value or "none",
    )


def heatmap(
    title: str,
    description: str,
    unit: str,
    targets: Sequence[G.Target],
    *,
    width: int = 12,
    height: int = 8,
) -> G.Heatmap:
    """A heatmap of histogram buckets (targets must be built with heatmap=True)."""
    return G.Heatmap(
        title=title,
        description=description,
        targets=list(targets),
        gridPos=G.GridPos(h=height, w=width, x=0, y=0),
        dataFormat="tsbuckets",
        yAxis=G.YAxis(format=unit),
        hideZeroBuckets=True,
    )


def bar_gauge(
    title: str,
    description: str,
    unit: str,
    targets: Sequence[G.Target],
    *,
    width: int = 12,
    height: int = 8,
    min_value: float | None = None,
    max_value: float | None = None,
    steps: Sequence[tuple[str, float]] = (),
    base: str = "green",
) -> G.BarGauge:
    """One horizontal bar per series (e.g. per node), showing each one's last value."""
    return G.BarGauge(
        title=title,
        description=description,
        targets=list(targets),
        gridPos=G.GridPos(h=height, w=width, x=0, y=0),
        # Current Grafana reads fieldConfig and reduceOptions; grafanalib writes fieldOptions.
        extraJson={
            "fieldConfig": {
                "defaults": {
                    "unit": unit,
                    "min": min_value,
                    "max": max_value,
                    "thresholds": {
                        "steps": [{"color": base, "value": None}]
                        + [{"color": color, "value": float(value)} for color, value in steps]
                    },
                }
            },
            "options": {
                "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                "displayMode": "gradient",
                "orientation": "horizontal",
                "showUnfilled": True,
            },
        },
    )


@dataclass(frozen=True)
class Section:
    """A titled row of panels; panels flow left to right and wrap at the grid width."""

    title: str
    panels: Sequence[G.Panel]
    collapsed: bool = False


def layout(sections: Sequence[Section]) -> list[G.Panel]:
    """Places every panel on Grafana's 24-column grid and returns rows and panels in order."""
    placed: list[G.Panel] = []
    y = 0
    for section in sections:
        row_panels = _flow(section.panels, y + 1)
        row = G.RowPanel(
            title=section.title,
            collapsed=section.collapsed,
            gridPos=G.GridPos(h=1, w=GRID_WIDTH, x=0, y=y),
            panels=row_panels if section.collapsed else [],
        )
        placed.append(row)
        bottom = max((p.gridPos.y + p.gridPos.h for p in row_panels), default=y + 1)
        if not section.collapsed:
            placed.extend(row_panels)
        y = y + 1 if section.collapsed else bottom
    return placed


def _flow(panels: Sequence[G.Panel], top: int) -> list[G.Panel]:
    x, y, line_height = 0, top, 0
    for panel in panels:
        size = panel.gridPos
        if x + size.w > GRID_WIDTH:
            x, y, line_height = 0, y + line_height, 0
        panel.gridPos = G.GridPos(h=size.h, w=size.w, x=x, y=y)
        x += size.w
        line_height = max(line_height, size.h)
    return list(panels)


def query_variable(
    name: str,
    label: str,
    query: str,
    *,
    multi: bool = False,
    include_all: bool = False,
    default: str = "",
    description: str = "",
) -> G.Template:
    """A variable filled from Prometheus (label_values(...)), refreshed on time-range change."""
    return G.Template(
        name=name,
        label=label,
        query=query,
        dataSource=DATASOURCE_VARIABLE,
        multi=multi,
        includeAll=include_all,
        default=default or None,
        refresh=G.REFRESH_ON_TIME_RANGE_CHANGE,
        sort=G.SORT_ALPHA_IGNORE_CASE_ASC,
        type="query",
    )


def _standard_variables(settings: Settings) -> list[G.Template]:
    cluster = settings.cluster
    datasource = G.Template(
        name="datasource",
        label="Data source",
        query=settings.datasource.type,
        type="datasource",
        default=settings.datasource.default,
    )
    cluster_variable = G.Template(
        name="cluster",
        label="Cluster",
        type="query",
        dataSource=DATASOURCE_VARIABLE,
        query=f"label_values(up, {cluster.label})",
        refresh=G.REFRESH_ON_TIME_RANGE_CHANGE,
        sort=G.SORT_ALPHA_IGNORE_CASE_ASC,
        hide=G.SHOW if cluster.enabled else G.HIDE_VARIABLE,
    )
    return [datasource, cluster_variable]


# The bundled dashboards (uid, title), linked from every dashboard; their content modules
# keep these uids (tests/test_bundled_dashboards.py checks both agree).
BUNDLED_DASHBOARDS = (
    ("ee6mbjghme96oc", "GPU Training"),
    ("bec31e71-3ac5-4133-b2e3-b9f75c8ab56c", "Inference"),
    ("obsgen-gpu-fleet", "GPU Fleet"),
)


def runbooks_index(settings: Settings) -> str:
    """Returns the runbooks' address: alerts.runbook_url up to its first placeholder (such
    as {alert}) and the anchor sign before it."""
    return settings.alerts.runbook_url.split("{", 1)[0].rstrip("#")


def _links(settings: Settings, uid: str) -> list[G.DashboardLink]:
    """Links to the other bundled dashboards, keeping the time range and the variables both
    have (Grafana passes each as var-<name>), and to the runbooks."""
    others = [
        G.DashboardLink(
            title=title,
            type="link",
            uri=f"/d/{other}",
            icon="dashboard",
            includeVars=True,
            keepTime=True,
            tooltip=f"Open {title} with this time range and these variables",
        )
        for other, title in BUNDLED_DASHBOARDS
        if other != uid
    ]
    runbooks = G.DashboardLink(
        title="Runbooks",
        type="link",
        uri=runbooks_index(settings),
        icon="doc",
        keepTime=False,
        targetBlank=True,
        tooltip="What each alert means, how to confirm it and what to do",
    )
    return [*others, runbooks]


def dashboard(
    settings: Settings,
    *,
    uid: str,
    title: str,
    description: str,
    variables: Sequence[G.Template],
    sections: Sequence[Section],
    time_from: str = "now-1h",
    tags: Sequence[str] = (),
) -> G.Dashboard:
    """A dashboard with the standard `datasource` and `cluster` variables first, linked to the
    other bundled dashboards and the runbooks."""
    return G.Dashboard(
        uid=uid,
        title=title,
        description=description,
        tags=sorted({*settings.grafana.tags, *tags}),
        templating=G.Templating(list=[*_standard_variables(settings), *variables]),
        links=_links(settings, uid),
        panels=layout(sections),
        time=G.Time(time_from, "now"),
        refresh=settings.grafana.refresh,
        timezone="browser",
        graphTooltip=G.GRAPH_TOOLTIP_MODE_SHARED_CROSSHAIR,
    )
