"""Does every panel show data? Opens a dashboard the way a user would and runs its targets.

For each dashboard: its variables are set in templating order (a query variable's
label_values(selector, label) is asked of Prometheus over the default time range; the saved
default is kept when Prometheus offers it, else the first value; multi-value and include-all
variables select every value), every Prometheus target is interpolated as Grafana does
(generator.grafana_variables) with the step Grafana picks for a full-width panel, and run as a
range query over the dashboard's default time range. A target without data there is reported
with its dashboard, panel, refId and the query Prometheus was sent.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from generator.grafana_variables import (
    VariableValue,
    builtin_values,
    interpolate,
    referenced_names,
)
from generator.runtime.query import QueryClient, QueryError, RangeSeries
from generator.runtime.time_range import default_range

MAX_DATA_POINTS = 1000  # a full-width panel on a common screen is about 1000 pixels wide
MIN_COVERAGE = 0.9  # share of the range's steps that must have a value
_LABEL_VALUES = re.compile(r"^\s*label_values\(\s*(?:(.*\S)\s*,\s*)?(\w+)\s*\)\s*$", re.DOTALL)
_DURATION = re.compile(r"^>?\s*(\d+(?:\.\d+)?)(ms|s|m|h|d)$")
_DURATION_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_ALL = "$__all"

Variables = dict[str, VariableValue]


@dataclass(frozen=True)
class EmptyTarget:
    """A panel target that shows no data over the dashboard's default range, and why."""

    dashboard: str  # title
    uid: str
    panel_id: int
    panel_title: str
    ref_id: str
    query: str  # as interpolated and sent to Prometheus
    reason: str

    def describe(self) -> str:
        """Returns e.g. `dashboard "GPU Training" (uid ...), panel 3 "...", refId B: no
        series` and the query on the next line."""
        return (
            f'dashboard "{self.dashboard}" (uid {self.uid}), panel {self.panel_id} '
            f'"{self.panel_title}", refId {self.ref_id}: {self.reason}\n    query: {self.query}'
        )


def grafana_step(
    range_seconds: float, min_interval_seconds: float, max_data_points: int = MAX_DATA_POINTS
) -> int:
    """Returns the step (whole seconds) Grafana uses: the range over the panel's data points,
    at least the minimum interval (the scrape interval unless the panel sets one)."""
    return max(1, math.ceil(range_seconds / max_data_points), math.ceil(min_interval_seconds))


def check_dashboard_data(
    client: QueryClient,
    dashboards: Iterable[Mapping[str, Any]],
    scrape_seconds: float,
    now: float | None = None,
) -> list[EmptyTarget]:
    """Returns every Prometheus target of `dashboards` that shows no data over its
    dashboard's default time range (ending `now`, default: the current time); [] when every
    panel has data. `scrape_seconds` is the datasource's scrape interval."""
    empty: list[EmptyTarget] = []
    for dashboard in dashboards:
        empty += _check_dashboard(client, dashboard, scrape_seconds, now or time.time())
    return empty


def resolve_variables(
    client: QueryClient,
    dashboard: Mapping[str, Any],
    start: float,
    end: float,
    builtins: Mapping[str, str],
) -> Variables:
    """Returns each variable's selection as a user opening the dashboard gets it, resolving
    query variables through Prometheus between `start` and `end`, in templating order."""
    variables: Variables = {}
    for variable in dashboard.get("templating", {}).get("list", []):
        name = variable.get("name")
        if not name:
            continue
        options = _options(client, variable, variables, builtins, start, end)
        variables[name] = _select(variable, options)
    return variables


@dataclass(frozen=True)
class TargetQuery:
    """One panel target as Grafana sends it when the dashboard refreshes: interpolated, over
    the default time range aligned to the step, with the step of a full-width panel."""

    panel_id: int
    panel_title: str
    ref_id: str
    expr: str  # as the dashboard writes it
    query: str  # as sent to Prometheus
    start: float
    end: float
    step: int
    instant: bool  # an instant query at `end` instead of a range query
    unset: tuple[str, ...] = ()  # variables the expression uses that have no value

    def run(self, client: QueryClient) -> list[RangeSeries]:
        """Sends the query; an instant query's samples come back as one-point series."""
        if self.instant:
            return [
                RangeSeries(s.labels, ((self.end, s.value),))
                for s in client.query(self.query, self.end)
            ]
        return client.query_range(self.query, self.start, self.end, self.step)

    def request(self) -> tuple[str, list[tuple[str, str]]]:
        """Returns the API path and parameters of the query, as Grafana sends them."""
        if self.instant:
            return "/api/v1/query", [("query", self.query), ("time", f"{self.end:.3f}")]
        return "/api/v1/query_range", [
            ("query", self.query),
            ("start", f"{self.start:.3f}"),
            ("end", f"{self.end:.3f}"),
            ("step", str(self.step)),
        ]


def refresh_queries(
    client: QueryClient, dashboard: Mapping[str, Any], scrape_seconds: float, now: float
) -> list[TargetQuery]:
    """Returns every Prometheus query a refresh of `dashboard` at `now` sends, in panel
    order, its variables resolved through `client` as a user opening it gets them."""
    ago_from, ago_to = default_range(dashboard)
    start, end = now - ago_from, now - ago_to
    range_seconds = end - start
    step = grafana_step(range_seconds, scrape_seconds)
    variables = resolve_variables(
        client,
        dashboard,
        start,
        end,
        builtin_values(int(range_seconds), step, math.ceil(scrape_seconds)),
    )
    return [
        _target_query(panel, target, variables, (start, end), scrape_seconds)
        for panel in _panels(dashboard.get("panels", []))
        for target in panel.get("targets", []) or []
        if not target.get("hide") and _is_prometheus(target, panel)
    ]


def read_panel(
    client: QueryClient,
    dashboard: Mapping[str, Any],
    panel_title: str,
    scrape_seconds: float,
    now: float | None = None,
) -> dict[str, list[RangeSeries]]:
    """Returns what each Prometheus target of the panel titled `panel_title` shows over the
    dashboard's default range (ending `now`), by refId, as a user opening it would see it.
    Instant targets give one point at the end. Raises KeyError when no panel has the title."""
    panels = [p for p in _panels(dashboard.get("panels", [])) if p.get("title") == panel_title]
    if not panels:
        raise KeyError(f"no panel titled {panel_title!r} in {dashboard.get('title')!r}")
    queries = refresh_queries(client, dashboard, scrape_seconds, now or time.time())
    panel_id = int(panels[0].get("id", 0))
    return {q.ref_id: q.run(client) for q in queries if q.panel_id == panel_id}


# ---- one dashboard -------------------------------------------------------------------------


def _check_dashboard(
    client: QueryClient, dashboard: Mapping[str, Any], scrape_seconds: float, now: float
) -> list[EmptyTarget]:
    empty = []
    for query in refresh_queries(client, dashboard, scrape_seconds, now):
        found = _check_target(client, dashboard, query)
        if found is not None:
            empty.append(found)
    return empty


def _target_query(
    panel: Mapping[str, Any],
    target: Mapping[str, Any],
    variables: Variables,
    window: tuple[float, float],
    scrape_seconds: float,
) -> TargetQuery:
    start, end = window
    minimum = _seconds(target.get("interval")) or _seconds(panel.get("interval"))
    points = int(panel.get("maxDataPoints") or MAX_DATA_POINTS)
    step = grafana_step(end - start, minimum or scrape_seconds, points)
    builtins = builtin_values(int(end - start), step, math.ceil(scrape_seconds))
    expr = str(target.get("expr") or "")
    return TargetQuery(
        int(panel.get("id", 0)),
        str(panel.get("title", "")),
        str(target.get("refId", "")),
        expr,
        interpolate(expr, variables, builtins),
        start // step * step,  # as Grafana aligns
        end // step * step,
        step,
        bool(target.get("instant") and not target.get("range")),
        tuple(n for n in referenced_names(expr) if n in variables and not variables[n].values),
    )


def _check_target(
    client: QueryClient, dashboard: Mapping[str, Any], query: TargetQuery
) -> EmptyTarget | None:
    def empty(reason: str) -> EmptyTarget:
        if query.unset:
            reason += "; variables without values: " + ", ".join(f"${n}" for n in query.unset)
        return EmptyTarget(
            str(dashboard.get("title", "")),
            str(dashboard.get("uid", "")),
            query.panel_id,
            query.panel_title,
            query.ref_id,
            query.query,
            reason,
        )

    if not query.expr.strip():
        return empty("the target has no expression")
    try:
        series = query.run(client)
        if query.instant:
            values = any(math.isfinite(v) for s in series for _, v in s.points)
            reason = None if values else "no value at the end of the range"
        else:
            reason = _missing_data(series, query.start, query.end, query.step)
    except QueryError as exc:
        reason = str(exc)
    return None if reason is None else empty(reason)


def _missing_data(series: list[RangeSeries], start: float, end: float, step: int) -> str | None:
    """Returns why a range result shows no data over [start, end], or None when it does."""
    if not series:
        return "no series"
    times = {t for s in series for t, v in s.points if math.isfinite(v)}
    if not times:
        return f"{len(series)} series, but every value is NaN or infinite"
    steps = int((end - start) // step) + 1
    if len(times) < MIN_COVERAGE * steps:
        return (
            f"values at only {len(times)} of {steps} steps ({_clock(min(times))} to "
            f"{_clock(max(times))} UTC; the range is {_clock(start)} to {_clock(end)})"
        )
    return None


# ---- variables -----------------------------------------------------------------------------


def _options(
    client: QueryClient,
    variable: Mapping[str, Any],
    known: Variables,
    builtins: Mapping[str, str],
    start: float,
    end: float,
) -> list[str]:
    """Returns the values a variable offers, in the order Grafana lists them."""
    kind = variable.get("type")
    query = variable.get("query", "")
    if isinstance(query, Mapping):  # newer schema: {"query": "...", "refId": ...}
        query = query.get("query", "")
    query = interpolate(str(query or ""), dict(known), dict(builtins))
    if kind == "query":
        values = _query_values(client, query, start, end)
        return _apply_regex(values, str(variable.get("regex") or ""))
    if kind in ("custom", "interval"):
        return [part.strip() for part in query.split(",") if part.strip()]
    if kind in ("constant", "textbox"):
        return [query] if query else _current(variable)
    return _current(variable)  # datasource, adhoc, ...: what the dashboard saved


def _query_values(client: QueryClient, query: str, start: float, end: float) -> list[str]:
    match = _LABEL_VALUES.match(query)
    if match is None:
        return []  # not a label_values() query: the variable stays empty and failures say so
    selector, label = match.groups()
    try:
        return client.label_values(label, [selector] if selector else [], start, end)
    except QueryError:
        return []


def _apply_regex(values: list[str], regex: str) -> list[str]:
    if not regex:
        return values
    pattern = re.compile(regex[1:-1] if len(regex) > 1 and regex[0] == regex[-1] == "/" else regex)
    kept = []
    for value in values:
        found = pattern.search(value)
        if found:
            kept.append(found.group(1) if pattern.groups else value)
    return list(dict.fromkeys(kept))


def _select(variable: Mapping[str, Any], options: list[str]) -> VariableValue:
    if variable.get("multi") or variable.get("includeAll"):
        return VariableValue(tuple(options), multi=True)  # All
    wanted = [v for v in _current(variable) if v != _ALL]
    chosen = wanted[0] if wanted and wanted[0] in options else (options[0] if options else "")
    return VariableValue((chosen,) if chosen else ())


def _current(variable: Mapping[str, Any]) -> list[str]:
    current = variable.get("current") or {}
    value = current.get("value") if isinstance(current, Mapping) else None
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)] if value not in (None, "") else []


# ---- panels and targets --------------------------------------------------------------------


def _panels(panels: Iterable[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []) or [])  # panels inside collapsed rows


def _is_prometheus(target: Mapping[str, Any], panel: Mapping[str, Any]) -> bool:
    datasource = target.get("datasource") or panel.get("datasource")
    if isinstance(datasource, Mapping):
        return datasource.get("type") in (None, "prometheus")
    return True  # a name or a ${variable}: the dashboard's Prometheus


def _seconds(interval: Any) -> float:
    match = _DURATION.match(str(interval or "").strip())
    return float(match.group(1)) * _DURATION_SECONDS[match.group(2)] if match else 0.0


def _clock(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%H:%M:%S")
