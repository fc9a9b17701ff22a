"""`obsgen demo`: the dashboards alive without a GPU cluster.

Builds the content, backfills the synthetic fleet's history over at least the longest default
dashboard range, starts Prometheus on 127.0.0.1:PORT scraping the live fleet with the generated
rules loaded, says how to point Grafana at it, and runs until Ctrl-C or SIGTERM; then it stops
Prometheus (by PID) and the fleet endpoint and removes its temporary directory.
"""

from __future__ import annotations

import shutil
import signal
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from generator.build import BuildResult
from generator.durations import parse_duration
from generator.errors import ObsgenError
from generator.runtime.binaries import find_binary
from generator.runtime.fleet import FleetPrometheus
from generator.runtime.process import LOOPBACK, PortInUseError, StartupError, port_is_free
from generator.settings import Settings
from generator.synthetic import DEFAULT_STEP_SECONDS, get_scenario

WATCH_SECONDS = 0.5  # how often the loop checks that Prometheus still runs
Echo = Callable[[str], None]


def _print(line: str) -> None:
    print(line, flush=True)


def run_demo(
    settings: Settings,
    scenario: str = "healthy",
    port: int = 9090,
    echo: Echo = _print,
    stop: threading.Event | None = None,
) -> None:
    """Runs the demo until `stop` is set, or SIGINT/SIGTERM arrive (in the main thread);
    returns after everything it started is stopped and its directory removed.

    Raises an ObsgenError with a message for people: unknown scenario, port taken, program
    missing, Prometheus failing to start or dying on the way."""
    try:
        get_scenario(scenario)
    except ValueError as exc:
        raise ObsgenError(str(exc)) from None
    if not port_is_free(port):
        raise PortInUseError(
            f"{LOOPBACK}:{port} is already in use (another Prometheus?); "
            f"stop it or choose another port with --port"
        )
    find_binary("prometheus")
    find_binary("promtool")
    stop = stop or threading.Event()
    with _stop_on_signals(stop):  # from here on a signal only asks the loop below to end
        directory = Path(tempfile.mkdtemp(prefix="obsgen-demo-"))
        # Recorded series over the history too, as a Prometheus running all along has them.
        fleet = FleetPrometheus(
            settings,
            scenario,
            directory=directory,
            port=port,
            recorded_history=True,
            # Scraped and evaluated as the settings say the real Prometheus does: what the
            # `for` checks and the dashboards' rate windows assume.
            step=parse_duration(settings.prometheus.scrape_interval) or DEFAULT_STEP_SECONDS,
            evaluation_interval=settings.prometheus.scrape_interval,
        )
        try:
            fleet.start()
            _announce(fleet, scenario, echo)
            while not stop.wait(WATCH_SECONDS):
                if not fleet.prometheus.running():
                    raise StartupError(
                        f"Prometheus (pid {fleet.pid}) stopped unexpectedly; the end of its "
                        f"log:\n{fleet.prometheus.log_tail()}"
                    )
            echo(f"stopping: Prometheus (pid {fleet.pid}) and the fleet endpoint")
        finally:
            fleet.stop()
            shutil.rmtree(directory, ignore_errors=True)
    echo("stopped")


def _announce(fleet: FleetPrometheus, scenario: str, echo: Echo) -> None:
    """Prints what runs where, the datasource to add, the dashboards' uids, then `ready:`."""
    assert fleet.simulation is not None and fleet.endpoint is not None
    shape = fleet.simulation.fleet.shape
    step = f"{fleet.scrape_seconds:g}s"
    content: BuildResult = fleet.built_content()
    echo(
        f"obsgen demo: scenario {scenario!r} on a synthetic fleet of "
        f"{shape.nodes} nodes x {shape.gpus_per_node} GPUs"
    )
    if fleet.history is not None:
        minutes = (fleet.history.end - fleet.history.start) / 60
        echo(
            f"history: {minutes:.0f} minutes backfilled ({fleet.history.samples:,} samples, "
            f"{len(fleet.blocks)} blocks) in "
            f"{fleet.history.seconds + fleet.backfill_seconds:.1f}s"
        )
    echo(
        f"Prometheus: {fleet.url} (pid {fleet.pid}), scraping the live fleet at "
        f"{fleet.endpoint.url} every {step}"
    )
    rules = ", ".join(path.name for path in fleet.rule_files)
    echo(f"rules: {rules} (evaluated every {fleet.evaluation_interval}; see {fleet.url}/alerts)")
    echo(
        f'Grafana: add a Prometheus datasource named "{fleet.settings.datasource.default}" '
        f"with URL {fleet.url} (scrape interval {step}), then import the dashboards "
        f"`obsgen build` writes:"
    )
    for artifact in content.artifacts:
        if artifact.kind == "dashboard":
            document = artifact.document
            echo(f"  {document['uid']}  {document.get('title', '')}  (out/{artifact.path})")
    echo(f"ready: {fleet.url} (Ctrl-C or SIGTERM stops it)")


@contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """Sets `stop` on SIGINT and SIGTERM while inside (main thread only; elsewhere the
    caller sets `stop` itself), then restores the previous handlers."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handle(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, handle) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
