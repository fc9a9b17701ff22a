"""Test helpers: real `prometheus` and `alertmanager` processes and small HTTP servers, all on
loopback. Starting and stopping the programs is the product's own code (generator.runtime);
this module adds the test policy: without a program the test skips, or fails when
REQUIRE_PROMETHEUS=1 (CI sets it).

Every process and server started here is stopped by the context manager that started it
(terminate by PID, wait, then kill), so a failing test leaves nothing running.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from generator.runtime import (
    INSTALL_HINT,
    FleetPrometheus,
    MissingBinaryError,
    PrometheusServer,
    find_binary,
    free_port,
    stop_process,
    wait_until,
    write_prometheus_config,
)
from generator.settings import Settings

__all__ = [
    "OPENMETRICS_FORMAT",
    "TEXT_FORMAT",
    "answer",
    "api",
    "exposition_server",
    "fleet_prometheus",
    "free_port",
    "http_server",
    "require_binary",
    "running_prometheus",
    "silent_listener",
    "stop_process",
    "wait_for_series",
]

TEXT_FORMAT = "text/plain; version=0.0.4; charset=utf-8"
OPENMETRICS_FORMAT = "application/openmetrics-text; version=1.0.0; charset=utf-8"
Page = tuple[str, str]  # content type, body
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: no proxies


@contextmanager
def fleet_prometheus(
    scenario: str, directory: Path, settings: Settings | None = None
) -> Iterator[FleetPrometheus]:
    """A real Prometheus over the synthetic fleet in `scenario`, its recording rules evaluated
    over the backfilled history (the dashboards read recorded series); stopped by PID after."""
    require_binary("prometheus")
    require_binary("promtool")
    with FleetPrometheus(
        settings or Settings(), scenario, directory=directory, recorded_history=True
    ) as running:
        yield running


def require_binary(name: str) -> str:
    """The path of program `name` (for "alertmanager" also Debian's prometheus-alertmanager);
    without it the test skips, or fails when REQUIRE_PROMETHEUS=1."""
    try:
        return find_binary(name)
    except MissingBinaryError:
        message = f"the real `{name}` binary is not installed; {INSTALL_HINT}"
        if os.environ.get("REQUIRE_PROMETHEUS") == "1":
            pytest.fail(message)
        pytest.skip(message)


Respond = Callable[[BaseHTTPRequestHandler], None]  # writes a whole answer to a GET


@contextmanager
def http_server(respond: Respond) -> Iterator[str]:
    """An HTTP server on 127.0.0.1 answering every GET with `respond`; yields "127.0.0.1:PORT"."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            with contextlib.suppress(OSError):  # the client went away: fine for a double
                respond(self)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def answer(handler: BaseHTTPRequestHandler, status: int, content_type: str, body: bytes) -> None:
    """Writes one complete answer."""
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


@contextmanager
def exposition_server(pages: dict[str, Page]) -> Iterator[str]:
    """Serves `pages` ({path: (content type, body)}); yields "127.0.0.1:PORT"."""

    def respond(handler: BaseHTTPRequestHandler) -> None:
        page = pages.get(urllib.parse.urlsplit(handler.path).path)
        content_type, body = page or ("text/plain", "not found\n")
        answer(handler, 200 if page else 404, content_type, body.encode())

    with http_server(respond) as address:
        yield address


@contextmanager
def silent_listener() -> Iterator[str]:
    """A socket that accepts connections and never answers; yields its http:// URL."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


@contextmanager
def running_prometheus(
    directory: Path, scrapes: list[tuple[str, str, str]], startup_seconds: float = 20
) -> Iterator[str]:
    """A real Prometheus scraping every second; `scrapes` is [(job, host:port, path)].

    Yields its base URL once it is ready. The TSDB, config and log live in `directory`."""
    binary = require_binary("prometheus")
    jobs = [
        {"job_name": job, "metrics_path": path, "static_configs": [{"targets": [target]}]}
        for job, target, path in scrapes
    ]
    write_prometheus_config(directory / "prometheus.yml", jobs, scrape_interval="1s")
    with PrometheusServer(directory, binary=binary, startup_seconds=startup_seconds) as server:
        yield server.url


def api(url: str, path: str, **params: str) -> Any:
    """The `data` of GET url+path (test side; the product has its own client)."""
    query = urllib.parse.urlencode(params)
    with _DIRECT.open(f"{url}{path}?{query}", timeout=5) as response:
        return json.load(response)["data"]


def wait_for_series(url: str, names: list[str], seconds: float = 20) -> None:
    """Waits until every target is up and every metric in `names` has series and metadata."""

    def ready() -> bool:
        targets = api(url, "/api/v1/targets")["activeTargets"]
        if not targets or any(t["health"] != "up" for t in targets):
            return False
        return all(api(url, "/api/v1/series", **{"match[]": name}) for name in names)

    if not wait_until(ready, seconds):
        raise AssertionError(f"no series for {names} after {seconds}s")
