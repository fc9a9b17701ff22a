"""The synthetic GPU fleet: coherent series of DCGM, vLLM, Ray, Ray Serve, node-exporter,
cAdvisor and kube-state-metrics for N nodes x G GPUs, one Ray Train job and vLLM replicas,
following a scenario, written as OpenMetrics history for backfill and served live on /metrics.

    from generator.synthetic import Simulation, write_openmetrics, create_blocks, MetricsEndpoint

    sim = Simulation(settings, "kv-cache-saturated", start=now - 3600)
    stats = write_openmetrics(sim, tmp / "history.om", end=now)   # sim is now at `now`
    create_blocks(stats.path, data_dir)                          # real promtool
    with MetricsEndpoint(sim) as endpoint:                       # continues the same series
        ...  # start Prometheus on data_dir scraping endpoint.scrape_config()

Scrape the endpoint with honor_labels: true (scrape_config() does): its series carry their
own job, instance, namespace and pod.

Modules, one job each: fleet (topology), naming (stable names, IDs, IPs), scenarios
(conditions over time), state (physical readings), dcgm / node_exporter / cadvisor /
kube_state / ray / vllm / serve (one exporter each), families (exposition model), simulation
(the clock), openmetrics (text writers), backfill (promtool), endpoint (live HTTP server).
"""

from generator.synthetic.backfill import (
    BackfillError,
    BackfillStats,
    backfill_history,
    create_blocks,
    create_rule_blocks,
)
from generator.synthetic.endpoint import MetricsEndpoint
from generator.synthetic.families import Family, Series
from generator.synthetic.fleet import (
    BENCHMARK_SHAPE,
    Fleet,
    FleetShape,
    Gpu,
    Node,
    Pod,
    Replica,
    TrainingJob,
    build_fleet,
)
from generator.synthetic.openmetrics import (
    TEXT_CONTENT_TYPE,
    HistoryStats,
    render_text,
    write_openmetrics,
)
from generator.synthetic.scenarios import (
    SCENARIOS,
    Conditions,
    Scenario,
    get_scenario,
    healthy_conditions,
    scenario_names,
)
from generator.synthetic.simulation import DEFAULT_STEP_SECONDS, Simulation

__all__ = [
    "BENCHMARK_SHAPE",
    "DEFAULT_STEP_SECONDS",
    "SCENARIOS",
    "TEXT_CONTENT_TYPE",
    "BackfillError",
    "BackfillStats",
    "Conditions",
    "Family",
    "Fleet",
    "FleetShape",
    "Gpu",
    "HistoryStats",
    "MetricsEndpoint",
    "Node",
    "Pod",
    "Replica",
    "Scenario",
    "Series",
    "Simulation",
    "TrainingJob",
    "backfill_history",
    "build_fleet",
    "create_blocks",
    "create_rule_blocks",
    "get_scenario",
    "healthy_conditions",
    "render_text",
    "scenario_names",
    "write_openmetrics",
]
