"""generator.runtime: the real prometheus and alertmanager start on free loopback ports, answer,
and are gone (PID and port) after stop; a taken port, a bad configuration and a missing program
are clear errors; the query client decodes answers and names what failed; the Prometheus
configuration it writes is one the real promtool accepts.

Tests that run the programs skip without them, or fail with REQUIRE_PROMETHEUS=1 (CI sets it).
"""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_harness import require_binary

from generator.build import build
from generator.render.alertmanager import render_alertmanager_config
from generator.render.serialize import to_yaml
from generator.runtime import (
    INSTALL_HINT,
    AlertmanagerServer,
    MissingBinaryError,
    PortInUseError,
    PrometheusServer,
    QueryClient,
    QueryError,
    Sample,
    StartupError,
    default_range,
    find_binary,
    free_port,
    longest_default_range,
    port_is_free,
    prometheus_config,
    write_prometheus_config,
)
from generator.runtime.time_range import seconds_ago
from generator.settings import Settings


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusServer]:
    """A real Prometheus with no scrape jobs (queries of constants need none)."""
    require_binary("prometheus")
    directory = tmp_path_factory.mktemp("runtime-prometheus")
    write_prometheus_config(directory / "prometheus.yml", [])
    with PrometheusServer(directory) as server:
        yield server


def test_prometheus_and_alertmanager_run_on_loopback_and_stop_by_pid(tmp_path: Path) -> None:
    require_binary("prometheus")
    require_binary("alertmanager")
    config = tmp_path / "alertmanager.yaml"
    config.write_text(to_yaml(render_alertmanager_config(Settings())), encoding="utf-8")
    write_prometheus_config(tmp_path / "prometheus" / "prometheus.yml", [])
    with (
        AlertmanagerServer(tmp_path / "alertmanager", config) as alertmanager,
        PrometheusServer(tmp_path / "prometheus") as prometheus,
    ):
        servers = [alertmanager, prometheus]
        for server in servers:
            assert server.running() and not gone(server.pid)
            assert server.url == f"http://127.0.0.1:{server.port}"
            assert not port_is_free(server.port)
        assert (tmp_path / "prometheus" / "data").is_dir()
        assert (tmp_path / "alertmanager" / "alertmanager-data").is_dir()
    for server in servers:
        assert not server.running() and gone(server.pid)
        assert port_is_free(server.port)
    prometheus.stop()  # twice is fine


def test_a_taken_port_is_refused_before_starting(tmp_path: Path) -> None:
    require_binary("prometheus")
    write_prometheus_config(tmp_path / "prometheus.yml", [])
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = int(listener.getsockname()[1])
        with pytest.raises(PortInUseError, match=rf"127\.0\.0\.1:{port} is already in use"):
            PrometheusServer(tmp_path, port).start()


def test_a_bad_configuration_is_a_startup_error_quoting_the_log(tmp_path: Path) -> None:
    require_binary("prometheus")
    (tmp_path / "prometheus.yml").write_text("scrape_configs: [{job_name: 1, nope: 2}]\n")
    server = PrometheusServer(tmp_path, startup_seconds=10)
    with pytest.raises(StartupError, match=r"(?s)exited with code \d+.*field nope not found"):
        server.start()
    assert not server.running()


def test_a_missing_program_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(MissingBinaryError, match="`alertmanager` is not installed") as error:
        find_binary("alertmanager")
    assert INSTALL_HINT in str(error.value)


def test_alertmanager_is_found_under_debian_name_too() -> None:
    path = require_binary("alertmanager")
    assert Path(path).name in ("alertmanager", "prometheus-alertmanager")


def test_instant_and_range_queries_are_decoded(prometheus: PrometheusServer) -> None:
    client = QueryClient(prometheus.url)
    assert client.query("1 + 1") == [Sample({}, 2.0)]
    (sample,) = client.query('label_replace(vector(3), "gpu", "0", "", "")', at=1_700_000_000)
    assert sample == Sample({"gpu": "0"}, 3.0)
    (series,) = client.query_range("vector(time())", 1_700_000_000, 1_700_000_060, 30)
    assert series.points == tuple((t, t) for t in (1_700_000_000, 1_700_000_030, 1_700_000_060))
    assert client.label_values("job", ['up{job="none"}']) == []


def test_a_refused_query_names_the_expression(prometheus: PrometheusServer) -> None:
    with pytest.raises(QueryError, match=r"refused the query 'sum\(': bad_data: .*parse error"):
        QueryClient(prometheus.url).query("sum(")


def test_an_unreachable_prometheus_is_one_clear_error() -> None:
    port = free_port()
    with pytest.raises(QueryError, match=rf"127\.0\.0\.1:{port} .*connection refused"):
        QueryClient(f"http://127.0.0.1:{port}", timeout=2).query("up")


def test_the_written_configuration_is_valid_for_the_real_promtool(tmp_path: Path) -> None:
    promtool = require_binary("promtool")
    rule_files = []
    for artifact in build(Settings()).artifacts:
        if artifact.kind == "rules":
            rule_files.append(tmp_path / Path(artifact.path).name)
            rule_files[-1].write_text(artifact.text, encoding="utf-8")
    job = {"job_name": "fleet", "static_configs": [{"targets": ["127.0.0.1:9999"]}]}
    path = write_prometheus_config(
        tmp_path / "prometheus.yml",
        [job],
        rule_files=rule_files,
        alertmanager_url="http://127.0.0.1:9093",
        evaluation_interval="1s",
    )
    checked = subprocess.run(
        [promtool, "check", "config", str(path)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(rule_files)} rule files found" in checked.stdout
    config = prometheus_config([job], alertmanager_url="http://127.0.0.1:9093/am")
    (alertmanager,) = config["alerting"]["alertmanagers"]
    assert alertmanager["static_configs"] == [{"targets": ["127.0.0.1:9093"]}]
    assert alertmanager["path_prefix"] == "/am"
    assert "rule_files" not in config


@pytest.mark.parametrize(
    ("relative", "seconds"),
    [
        ("now", 0.0),
        ("now-1h", 3600.0),
        ("now-30m", 1800.0),
        ("now-7d", 604800.0),
        ("now-1d/d", 86400.0),
        ("2025-01-01T00:00:00Z", None),
        ("now+1h", None),
    ],
)
def test_grafana_relative_times(relative: str, seconds: float | None) -> None:
    assert seconds_ago(relative) == seconds


def test_default_ranges_of_dashboards() -> None:
    assert default_range({"time": {"from": "now-6h", "to": "now-1h"}}) == (21600.0, 3600.0)
    assert default_range({}) == (3600.0, 0.0)  # Grafana's default
    assert default_range({"time": {"from": "2025-01-01", "to": "now"}}) == (3600.0, 0.0)
    dashboards = [{"time": {"from": "now-1h", "to": "now"}}, {"time": {"from": "now-24h"}}]
    assert longest_default_range(dashboards) == 86400.0
    bundled = [a.document for a in build(Settings()).artifacts if a.kind == "dashboard"]
    assert longest_default_range(bundled) == 3600.0
