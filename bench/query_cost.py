"""What a refresh of each dashboard costs a real Prometheus holding a 1,024-GPU fleet.

The synthetic fleet of BENCHMARK_SHAPE (128 nodes x 8 GPUs, a Ray Train job on 896 GPUs and
64 vLLM replicas) is simulated at the scrape interval of obsgen.yaml over the longest default
time range of the dashboards (plus ten minutes for rate windows), backfilled with promtool in
15-minute slices into a Prometheus that scrapes nothing more (FleetPrometheus, live=False).
If a bundled dashboard reads a series recorded by obsgen's rules, the recording rules are
evaluated over the same history too (FleetPrometheus recorded_history: `promtool tsdb
create-blocks-from rules`), since Prometheus does not evaluate rules over backfilled history.

Every bundled dashboard is found in the build, and the reference architecture's dashboards
are read from ../shared/reference/anchors when that directory exists. For each, every
Prometheus target runs as Grafana sends it on refresh (generator.runtime.refresh_queries:
variables resolved as a user opening the dashboard gets them, a range query over the
default range at the step of a full-width panel), one query at a time, timed from request to
decoded JSON. A panel's cost is the sum of its targets' times and a dashboard's the sum of its
panels': the work Prometheus does for one refresh (a browser sends several at once). A warm-up
pass over every dashboard comes first, then 5 timed passes; each figure is the median. The
warm-up pass also asks for Prometheus' query statistics: for a heavy panel the report shows
how much of its time Prometheus spent evaluating and how many series and points it returned
(the rest is the transfer and decoding of the answer, which Grafana pays too).

Run: `python bench/query_cost.py` (add --json for machine-readable results).
"""

from __future__ import annotations

import json
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import measure

sys.path.insert(0, str(measure.ROOT))

from generator.build import BuildResult, build
from generator.checks.expressions import dashboard_expressions
from generator.durations import parse_duration
from generator.grafana_variables import substitute
from generator.promql_ast import metric_names
from generator.runtime import (
    INSTALL_HINT,
    FleetPrometheus,
    QueryClient,
    QueryError,
    TargetQuery,
    refresh_queries,
)
from generator.runtime.fleet import HISTORY_MARGIN_SECONDS
from generator.runtime.time_range import longest_default_range
from generator.settings import load_settings
from generator.synthetic import BENCHMARK_SHAPE

RUNS = 5
SLICE_SECONDS = 900.0
GOAL_DASHBOARD_SECONDS = 1.0
GOAL_PANEL_SECONDS = 0.1
REFERENCE_DIR = measure.ROOT.parent / "shared" / "reference" / "anchors"


@dataclass(frozen=True)
class Dashboard:
    """A dashboard to refresh: its JSON model and where it comes from."""

    source: str  # "bundled" or "reference"
    model: dict[str, Any]

    @property
    def title(self) -> str:
        return str(self.model.get("title", "(untitled)"))


def reference_dashboards(directory: Path = REFERENCE_DIR) -> list[Dashboard] | None:
    """Returns the reference architecture's dashboards, None when `directory` is absent."""
    if not directory.is_dir():
        return None
    return [
        Dashboard("reference", json.loads(path.read_text(encoding="utf-8")))
        for path in sorted(directory.glob("*.json"))
    ]


def recorded_series(content: BuildResult) -> set[str]:
    """Returns the series names obsgen's recording rules write."""
    return {
        rule["record"]
        for artifact in content.artifacts
        if artifact.kind == "rules"
        for group in artifact.document["groups"]
        for rule in group["rules"]
        if "record" in rule
    }


def reads(expr: str) -> set[str]:
    """Returns the metric names an expression selects (none when it does not parse); Grafana
    variables may still be in it."""
    try:
        return set(metric_names(substitute(expr)))
    except ValueError:
        return set()


def recorded_series_read(content: BuildResult) -> list[str]:
    """Returns the series of obsgen's recording rules that the bundled dashboards read."""
    recorded = recorded_series(content)
    return sorted(
        {
            name
            for artifact in content.artifacts
            if artifact.kind == "dashboard"
            for expression in dashboard_expressions(artifact.document, artifact.path)
            for name in reads(expression.text)
            if name in recorded
        }
    )


def panel_costs(
    queries: list[TargetQuery], seconds: list[list[float]]
) -> dict[tuple[int, str], list[float]]:
    """Returns each panel's cost per run (the sum of its queries' seconds in that run), by
    (panel id, title) in panel order; `seconds[i]` holds query i's time in every run."""
    costs: dict[tuple[int, str], list[float]] = defaultdict(lambda: [0.0] * len(seconds[0]))
    for query, runs in zip(queries, seconds, strict=True):
        panel = costs[(query.panel_id, query.panel_title)]
        for run, value in enumerate(runs):
            panel[run] += value
    return dict(costs)


def run(runs: int = RUNS) -> list[dict[str, Any]]:
    """Every figure of this benchmark, one result object each; none without Prometheus."""
    missing = [b for b in ("prometheus", "promtool") if shutil.which(b) is None]
    if missing:
        print(f"query_cost: skipped, {' and '.join(missing)} not installed ({INSTALL_HINT})")
        return []
    settings = load_settings(measure.ROOT / "obsgen.yaml")
    content = build(settings)
    errors = [p for p in content.problems if p.severity == "error"]
    assert not errors, errors[0].describe()
    dashboards = [
        Dashboard("bundled", a.document) for a in content.artifacts if a.kind == "dashboard"
    ]
    reference = reference_dashboards()
    if reference is None:
        print(f"query_cost: {REFERENCE_DIR} not found; the reference dashboards are skipped")
    dashboards += reference or []
    scrape = parse_duration(settings.prometheus.scrape_interval) or 30.0
    recorded = recorded_series_read(content)
    history = longest_default_range(d.model for d in dashboards) + HISTORY_MARGIN_SECONDS
    with tempfile.TemporaryDirectory(prefix="obsgen-bench-query-") as scratch:
        started = time.perf_counter()
        fleet = FleetPrometheus(
            settings,
            "healthy",
            directory=Path(scratch),
            content=content,
            history_seconds=history,
            step=scrape,
            shape=BENCHMARK_SHAPE,
            live=False,
            backfill_slice_seconds=SLICE_SECONDS,
            recorded_history=bool(recorded),
            prometheus_args=["--query.timeout=60s"],
        )
        with fleet:
            assert fleet.history is not None
            now = fleet.history.end
            client = QueryClient(fleet.url, timeout=60.0)
            setup_seconds = time.perf_counter() - started
            plans = [(d, _sent(refresh_queries(client, d.model, scrape, now))) for d in dashboards]
            timings, answers = _time_refreshes(client, plans, runs)
        setup = _setup_figure(fleet, setup_seconds, recorded)
    results = [setup]
    for (dashboard, queries), seconds, answered in zip(plans, timings, answers, strict=True):
        results.append(
            _dashboard_figure(dashboard, queries, seconds, answered, recorded, fleet.step)
        )
    return results


def _sent(queries: list[TargetQuery]) -> list[TargetQuery]:
    """Returns the queries Grafana sends: a target without an expression is not sent."""
    return [q for q in queries if q.query.strip()]


@dataclass
class Answer:
    """What one query gave in the warm-up pass: Prometheus' own evaluation time (its query
    stats) and the size of the answer, which the client must transfer and decode."""

    eval_seconds: float = 0.0
    series: int = 0
    points: int = 0
    error: str = ""


def _time_refreshes(
    client: QueryClient, plans: list[tuple[Dashboard, list[TargetQuery]]], runs: int
) -> tuple[list[list[list[float]]], list[list[Answer]]]:
    """Returns seconds[dashboard][query][run] and answers[dashboard][query]: a warm-up pass
    (that also asks for Prometheus' query statistics), then `runs` timed passes, every
    dashboard refreshed once per pass."""
    seconds: list[list[list[float]]] = [[[] for _ in queries] for _, queries in plans]
    answers = [[Answer() for _ in queries] for _, queries in plans]
    for attempt in range(runs + 1):
        for d, (_, queries) in enumerate(plans):
            for q, query in enumerate(queries):
                path, params = query.request()
                began = time.perf_counter()
                try:
                    data = client.get(path, params if attempt else [*params, ("stats", "all")])
                except QueryError as exc:  # timed all the same: Grafana shows the error
                    answers[d][q].error = str(exc)
                    continue
                finally:
                    if attempt:
                        seconds[d][q].append(time.perf_counter() - began)
                if not attempt:
                    answers[d][q] = _answer(data)
    for d, (dashboard, queries) in enumerate(plans):
        for q, answer in enumerate(answers[d]):
            if answer.error:
                print(f"query_cost: {dashboard.title}: {queries[q].panel_title}: {answer.error}")
    return seconds, answers


def _answer(data: Any) -> Answer:
    result = data.get("result", [])
    timings = data.get("stats", {}).get("timings", {})
    return Answer(
        float(timings.get("evalTotalTime", 0.0)),
        len(result) if isinstance(result, list) else 1,
        sum(len(r.get("values", [])) or 1 for r in result) if isinstance(result, list) else 1,
    )


def _setup_figure(fleet: FleetPrometheus, seconds: float, recorded: list[str]) -> dict[str, Any]:
    history = fleet.history
    assert history is not None and fleet.simulation is not None
    shape = fleet.simulation.fleet.shape
    return measure.figure(
        "fleet Prometheus setup (generate, backfill, start; one run)",
        {
            "gpus": shape.nodes * shape.gpus_per_node,
            "nodes": shape.nodes,
            "vllm_replicas": shape.models * shape.replicas_per_model,
            "history_seconds": history.end - history.start,
            "step_seconds": fleet.step,
            "series": history.series,
            "samples": history.samples,
            "generate_seconds": history.seconds,
            "backfill_wall_seconds": fleet.backfill_seconds,
            "blocks": len(fleet.blocks),
            "recorded_series_backfilled": recorded,
        },
        [seconds],
        "s",
    )


def _dashboard_figure(
    dashboard: Dashboard,
    queries: list[TargetQuery],
    seconds: list[list[float]],
    answers: list[Answer],
    recorded: list[str],
    step: float,
) -> dict[str, Any]:
    panels = panel_costs(queries, seconds) if queries else {}
    totals = [sum(run) for run in zip(*(p for p in panels.values()), strict=True)] or [0.0]
    medians = {key: statistics.median(costs) for key, costs in panels.items()}
    slowest = max(medians, key=lambda key: medians[key]) if medians else (0, "")
    heavy = []
    for (panel_id, title), median in medians.items():
        if median <= GOAL_PANEL_SECONDS:
            continue
        mine = [i for i, q in enumerate(queries) if q.panel_id == panel_id]
        heavy.append(
            {
                "panel": title,
                "median_seconds": median,
                "prometheus_eval_seconds": sum(answers[i].eval_seconds for i in mine),
                "series": sum(answers[i].series for i in mine),
                "points": sum(answers[i].points for i in mine),
                "recorded_series_read": sorted(
                    set().union(*(reads(queries[i].query) for i in mine)) & set(recorded)
                ),
            }
        )
    total = statistics.median(totals)
    return measure.figure(
        f"refresh: {dashboard.title} ({dashboard.source})",
        {
            "uid": dashboard.model.get("uid", ""),
            "source": dashboard.source,
            "panels": len(panels),
            "queries": len(queries),
            "range_seconds": queries[0].end - queries[0].start if queries else 0,
            "scrape_seconds": step,
            "refused_queries": sum(1 for a in answers if a.error),
        },
        totals,
        "s",
        prometheus_eval_seconds=sum(a.eval_seconds for a in answers),
        slowest_panel={"panel": slowest[1], "median_seconds": medians.get(slowest, 0.0)},
        heavy_panels=heavy,
        goal_met=total < GOAL_DASHBOARD_SECONDS and not heavy,
    )


def table(results: list[dict[str, Any]]) -> str:
    if not results:
        return "skipped: Prometheus is not installed"
    setup, dashboards = results[0], results[1:]
    p = setup["parameters"]
    lines = [
        f"fleet: {p['gpus']:,} GPUs on {p['nodes']} nodes, {p['vllm_replicas']} vLLM replicas; "
        f"{p['series']:,} series, {p['samples']:,} samples over {p['history_seconds'] / 60:.0f} "
        f"min at {p['step_seconds']:g} s; setup {setup['median']:.0f} s (generating "
        f"{p['generate_seconds']:.0f} s, backfill wall {p['backfill_wall_seconds']:.0f} s, "
        f"{p['blocks']} blocks)",
        "",
        f"{'dashboard refresh':50} {'queries':>7} {'median':>8} {'min':>8} {'max':>8} "
        f"{'eval':>7}  slowest panel",
    ]
    for r in dashboards:
        slowest = r["slowest_panel"]
        lines.append(
            f"{r['name'][len('refresh: ') :]:50} {r['parameters']['queries']:7} "
            f"{r['median']:7.3f}s {r['min']:7.3f}s {r['max']:7.3f}s "
            f"{r['prometheus_eval_seconds']:6.3f}s  "
            f"{slowest['median_seconds'] * 1000:.0f} ms {slowest['panel']}"
        )
    for r in dashboards:
        for heavy in r["heavy_panels"]:
            served = ", ".join(heavy["recorded_series_read"]) or "no recording rule"
            lines.append(
                f"  heavy: {r['name'][len('refresh: ') :]}: {heavy['panel']}: "
                f"{heavy['median_seconds'] * 1000:.0f} ms (Prometheus evaluating "
                f"{heavy['prometheus_eval_seconds'] * 1000:.0f} ms; {heavy['series']:,} series, "
                f"{heavy['points']:,} points; {served})"
            )
    # The goal is obsgen's: the reference dashboards are measured for comparison only.
    met = all(r["goal_met"] for r in dashboards if r["parameters"]["source"] == "bundled")
    lines.append(
        f"\ngoal for the bundled dashboards: every refresh < {GOAL_DASHBOARD_SECONDS:g} s and "
        f"no panel over {GOAL_PANEL_SECONDS * 1000:.0f} ms: " + ("met" if met else "NOT met")
    )
    return "\n".join(lines)


if __name__ == "__main__":
    figures = run()
    print(json.dumps(figures, indent=2) if "--json" in sys.argv[1:] else table(figures))
    shutil.rmtree(Path(__file__).parent / "__pycache__", ignore_errors=True)
