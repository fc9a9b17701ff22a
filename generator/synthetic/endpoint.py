"""The live /metrics endpoint: a threaded HTTP server on loopback that serves a Simulation's
current values in the Prometheus text format, advancing it with the wall clock.

Scrape it with `honor_labels: true` (see `scrape_config`): its series carry their own `job`,
`instance`, `namespace` and `pod`, like a federation endpoint, and must keep them so that live
samples continue the backfilled series.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

from generator.service import Service
from generator.synthetic.openmetrics import TEXT_CONTENT_TYPE, render_text
from generator.synthetic.simulation import Simulation

_POLL_SECONDS = 0.1  # how quickly serve_forever notices stop()


class MetricsEndpoint(Service):
    """Serves `simulation` at http://HOST:PORT/metrics; port 0 picks a free port on start.

    start()/stop() run it in a background thread; serve_forever() runs it in the caller's
    thread until stop() is called (from another thread or a signal handler). Also a context
    manager: `with MetricsEndpoint(sim) as endpoint: ...` starts and stops it."""

    def __init__(
        self,
        simulation: Simulation,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.simulation = simulation
        self._host = host
        self._port = port
        self._clock = clock
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._bound_port: int | None = None
        self.scrapes = 0  # answered /metrics requests

    # ---- address -----------------------------------------------------------------------

    @property
    def port(self) -> int:
        """Returns the port; the first call binds the socket (stop() closes it for good)."""
        if self._bound_port is None:
            self._bind()
        assert self._bound_port is not None
        return self._bound_port

    @property
    def address(self) -> str:
        """Returns "host:port", a Prometheus static target."""
        return f"{self._host}:{self.port}"

    @property
    def url(self) -> str:
        """Returns the URL of the metrics page."""
        return f"http://{self.address}/metrics"

    def scrape_config(
        self, job_name: str = "synthetic-fleet", interval: str = "15s"
    ) -> dict[str, Any]:
        """Returns a Prometheus scrape_configs entry for this endpoint (honor_labels: true)."""
        return {
            "job_name": job_name,
            "honor_labels": True,
            "scrape_interval": interval,
            "scrape_timeout": interval if _seconds(interval) < 10 else "10s",
            "static_configs": [{"targets": [self.address]}],
        }

    # ---- content -----------------------------------------------------------------------

    def render(self) -> str:
        """Advances the simulation to the clock and returns the page in the text format."""
        with self._lock:
            self.simulation.advance_to(self._clock())
            return render_text(self.simulation.families())

    # ---- life cycle --------------------------------------------------------------------

    def start(self) -> Self:
        """Starts serving in a daemon thread; returns self."""
        if self._thread is None:
            self._bind()
            self._stopping.clear()
            self._thread = threading.Thread(
                target=self._serve, name="obsgen-metrics-endpoint", daemon=True
            )
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serves in the calling thread until stop() is called, then closes the socket."""
        self._bind()
        self._stopping.clear()
        try:
            self._serve()
        finally:
            self._close()

    def stop(self) -> None:
        """Stops serving (safe from any thread, a signal handler included, and twice)."""
        self._stopping.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(5)
            self._thread = None
            self._close()

    # ---- internals ---------------------------------------------------------------------

    def _bind(self) -> ThreadingHTTPServer:
        if self._server is None:
            server = ThreadingHTTPServer((self._host, self._port), _handler(self))
            server.daemon_threads = True
            server.timeout = _POLL_SECONDS
            self._server = server
            self._bound_port = int(server.server_address[1])
        return self._server

    def _serve(self) -> None:
        server = self._bind()
        while not self._stopping.is_set():
            server.handle_request()  # returns after at most _POLL_SECONDS

    def _close(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.server_close()


def _handler(endpoint: MetricsEndpoint) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                body = endpoint.render().encode()
                endpoint.scrapes += 1
                self._answer(200, TEXT_CONTENT_TYPE, body)
            elif path == "/":
                self._answer(
                    200, "text/plain; charset=utf-8", b"obsgen synthetic fleet: /metrics\n"
                )
            else:
                self._answer(404, "text/plain; charset=utf-8", b"not found\n")

        def _answer(self, status: int, content_type: str, body: bytes) -> None:
            with contextlib.suppress(OSError):  # the scraper went away
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # a scrape every few seconds is not news

    return Handler


def _seconds(duration: str) -> float:
    units = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
    for suffix in ("ms", "s", "m", "h"):
        if duration.endswith(suffix):
            return float(duration[: -len(suffix)]) * units[suffix]
    return float(duration)
