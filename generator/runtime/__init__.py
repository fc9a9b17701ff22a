"""Running the real programs: Prometheus and Alertmanager as child processes on loopback, a
read-only query client, a Prometheus fed by the synthetic fleet, the panel-data check and the
`obsgen demo` loop.

    with AlertmanagerServer(tmp / "am", config_file) as alertmanager:
        with FleetPrometheus(settings, "xid-error", directory=tmp / "prom",
                             alertmanager_url=alertmanager.url) as fleet:
            QueryClient(fleet.url).query('ALERTS{alertstate="firing"}')

Modules, one job each: binaries (finding the programs), process (start, ready, stop by PID),
prometheus / alertmanager (their flags and configuration), query (the HTTP API client),
time_range (dashboards' default ranges), fleet (the fleet Prometheus), panel_data (does every
panel show data), demo (`obsgen demo`).
"""

from generator.runtime.alertmanager import AlertmanagerServer
from generator.runtime.binaries import INSTALL_HINT, MissingBinaryError, find_binary
from generator.runtime.fleet import FleetPrometheus
from generator.runtime.panel_data import (
    EmptyTarget,
    TargetQuery,
    check_dashboard_data,
    grafana_step,
    read_panel,
    refresh_queries,
)
from generator.runtime.process import (
    LOOPBACK,
    PortInUseError,
    ServerProcess,
    StartupError,
    free_port,
    port_is_free,
    stop_process,
    wait_until,
)
from generator.runtime.prometheus import (
    PrometheusServer,
    prometheus_config,
    write_prometheus_config,
)
from generator.runtime.query import QueryClient, QueryError, RangeSeries, Sample
from generator.runtime.time_range import default_range, longest_default_range

__all__ = [
    "INSTALL_HINT",
    "LOOPBACK",
    "AlertmanagerServer",
    "EmptyTarget",
    "FleetPrometheus",
    "MissingBinaryError",
    "PortInUseError",
    "PrometheusServer",
    "QueryClient",
    "QueryError",
    "RangeSeries",
    "Sample",
    "ServerProcess",
    "StartupError",
    "TargetQuery",
    "check_dashboard_data",
    "default_range",
    "find_binary",
    "free_port",
    "grafana_step",
    "longest_default_range",
    "port_is_free",
    "prometheus_config",
    "read_panel",
    "refresh_queries",
    "stop_process",
    "wait_until",
    "write_prometheus_config",
]
