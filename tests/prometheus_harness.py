"""Test helpers: a real `prometheus` process scraping a tiny exposition server, both on loopback.

Every process and server started here is stopped by the context manager that started it
(terminate, wait, then kill), so a failing test leaves nothing running.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

TEXT_FORMAT = "text/plain; version=0.0.4; charset=utf-8"
OPENMETRICS_FORMAT = "application/openmetrics-text; version=1.0.0; charset=utf-8"
Page = tuple[str, str]  # content type, body
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: no proxies


def require_binary(name: str) -> str:
    """The path of `name`; without it the test skips, or fails when REQUIRE_PROMETHEUS=1."""
    path = shutil.which(name)
    if path is None:
        message = (
            f"the real `{name}` binary is not installed; "
            f"apt-get install prometheus prometheus-alertmanager"
        )
        if os.environ.get("REQUIRE_PROMETHEUS") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listened on a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


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


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """Terminates `process` (by its PID), then kills it if it does not exit in 10 s."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


@contextmanager
def running_prometheus(
    directory: Path, scrapes: list[tuple[str, str, str]], startup_seconds: float = 20
) -> Iterator[str]:
    """A real Prometheus scraping every second; `scrapes` is [(job, host:port, path)].

    Yields its base URL once it is ready. The TSDB, config and log live in `directory`."""
    binary = require_binary("prometheus")
    jobs = [
        {
            "job_name": job,
            "metrics_path": path,
            "static_configs": [{"targets": [target]}],
        }
        for job, target, path in scrapes
    ]
    config = {"global": {"scrape_interval": "1s", "scrape_timeout": "1s"}, "scrape_configs": jobs}
    config_file = directory / "prometheus.yml"
    config_file.write_text(json.dumps(config), encoding="utf-8")  # JSON is YAML
    log_file = directory / "prometheus.log"
    for _attempt in range(3):  # another process may take the free port first
        port = free_port()
        with log_file.open("wb") as log:
            process = subprocess.Popen(
                [
                    binary,
                    f"--config.file={config_file}",
                    f"--storage.tsdb.path={directory / 'data'}",
                    f"--web.listen-address=127.0.0.1:{port}",
                    "--log.level=warn",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            url = f"http://127.0.0.1:{port}"
            if not _wait(_started(process, url), startup_seconds):
                raise AssertionError(f"not ready in {startup_seconds}s: {_tail(log_file)}")
            if process.poll() is None:
                yield url
                return
        finally:
            stop_process(process)
    raise AssertionError(f"prometheus did not start: {_tail(log_file)}")


def _started(process: subprocess.Popen[bytes], url: str) -> Callable[[], bool]:
    """True once `process` has exited or answers as ready."""
    return lambda: process.poll() is not None or _ready(url)


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

    if not _wait(ready, seconds):
        raise AssertionError(f"no series for {names} after {seconds}s")


def _ready(url: str) -> bool:
    try:
        with _DIRECT.open(f"{url}/-/ready", timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _wait(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def _tail(log_file: Path) -> str:
    return log_file.read_text(encoding="utf-8", errors="replace")[-2000:]
