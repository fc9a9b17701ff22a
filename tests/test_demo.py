"""`obsgen demo`: the real command in a subprocess starts a real Prometheus on the synthetic
fleet, answers every bundled panel's queries through the URL it prints, and on SIGTERM or
Ctrl-C (SIGINT) stops Prometheus by PID, frees the port and removes its directory. Errors it
can meet (port taken, Prometheus missing, unknown scenario) are one clean message.

Tests that run Prometheus skip without it, or fail with REQUIRE_PROMETHEUS=1 (CI sets it).
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import Result
from prometheus_harness import free_port, require_binary, stop_process

from generator.build import build
from generator.durations import parse_duration
from generator.errors import ObsgenError
from generator.runtime import QueryClient, check_dashboard_data, port_is_free, wait_until
from generator.runtime.demo import run_demo
from generator.settings import load_settings
from generator.synthetic import scenario_names

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CONFIG = PROJECT_ROOT / "obsgen.yaml"
READY_SECONDS = 60
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class Demo:
    """`python -m generator demo ...` as a child process, its output read line by line."""

    def __init__(self, *args: str, tmp: Path) -> None:
        env = {**os.environ, "TMPDIR": str(tmp), "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "generator", "demo", "--config", str(CONFIG), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=tmp,
            env=env,
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def read_until(self, prefix: str, seconds: float) -> str:
        """The first line starting with `prefix`; fails with the output so far otherwise."""
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                line = self._queue.get(timeout=remaining)
            except queue.Empty:
                break
            if line is None:
                break
            self.lines.append(line)
            if line.startswith(prefix):
                return line
        raise AssertionError(f"no line starting with {prefix!r}; output:\n" + self.output())

    def rest(self) -> str:
        """The output after the process has exited."""
        while (line := self._queue.get(timeout=10)) is not None:
            self.lines.append(line)
        return self.output()

    def output(self) -> str:
        return "\n".join(self.lines)


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Callable[..., Demo]]:
    """Starts demos; each is stopped afterwards (SIGTERM by PID, then kill), and so is any
    Prometheus it printed the PID of that is still running."""
    started: list[Demo] = []

    def start(*args: str) -> Demo:
        started.append(Demo(*args, tmp=tmp_path))
        return started[-1]

    yield start
    for running in started:
        stop_process(running.process)
        for pid in re.findall(r"\(pid (\d+)\)", running.output()):
            if alive(int(pid)):
                os.kill(int(pid), signal.SIGKILL)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_demo_answers_every_panel_and_stops_cleanly(
    demo: Callable[..., Demo], tmp_path: Path, stop_signal: signal.Signals
) -> None:
    require_binary("prometheus")
    require_binary("promtool")
    port = free_port()
    running = demo("--port", str(port), "--scenario", "healthy")

    ready = running.read_until("ready: ", READY_SECONDS)
    url = f"http://127.0.0.1:{port}"
    assert ready.startswith(f"ready: {url} ")
    pids = re.findall(rf"^Prometheus: {url} \(pid (\d+)\)", running.output(), re.M)
    (prometheus_pid,) = map(int, pids)
    assert alive(prometheus_pid)
    settings = load_settings(CONFIG)
    dashboards = [a.document for a in build(settings).artifacts if a.kind == "dashboard"]
    for dashboard in dashboards:
        assert f"  {dashboard['uid']}  {dashboard['title']}" in running.output()
    assert f'named "{settings.datasource.default}" with URL {url}' in running.output()

    client = QueryClient(ready.split()[1])
    (gpus,) = client.query("count(DCGM_FI_DEV_GPU_UTIL)")
    assert gpus.value == 8  # 2 nodes x 4 GPUs
    # Scraped and evaluated at the settings' interval, as the real Prometheus would be.
    interval = settings.prometheus.scrape_interval
    scrape_seconds = parse_duration(interval)
    assert scrape_seconds
    empty = check_dashboard_data(client, dashboards, scrape_seconds=scrape_seconds)
    assert not empty, "\n".join(e.describe() for e in empty)
    (endpoint,) = re.findall(
        rf"scraping the live fleet at (\S+) every {interval}$", running.output(), re.M
    )
    with _DIRECT.open(f"{url}/api/v1/status/config", timeout=5) as answer:
        config = json.load(answer)["data"]["yaml"]
    assert f"evaluation_interval: {interval}" in config
    assert endpoint.split("/")[2] in config  # Prometheus scrapes the live fleet ...
    with _DIRECT.open(endpoint, timeout=5) as answer:  # ... which serves current values
        assert b"DCGM_FI_DEV_GPU_UTIL{" in answer.read()

    began = time.monotonic()
    running.process.send_signal(stop_signal)
    assert running.process.wait(10) == 0
    assert time.monotonic() - began < 10
    rest = running.rest()
    assert rest.endswith("stopped") and "Traceback" not in rest
    assert not alive(prometheus_pid)
    assert port_is_free(port)
    assert not list(tmp_path.glob("obsgen-demo-*"))  # its temporary directory is gone


def test_the_demo_ends_with_a_clear_error_when_prometheus_dies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_binary("prometheus")
    require_binary("promtool")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    lines: list[str] = []
    errors: list[ObsgenError] = []
    stop = threading.Event()

    def run() -> None:
        try:
            run_demo(load_settings(CONFIG), "healthy", free_port(), lines.append, stop)
        except ObsgenError as exc:
            errors.append(exc)

    demo_thread = threading.Thread(target=run)  # off the main thread: no signal handlers
    demo_thread.start()
    try:
        assert wait_until(lambda: any(line.startswith("ready: ") for line in lines), 60), lines
        output = "\n".join(lines)
        (pid,) = (int(p) for p in re.findall(r"^Prometheus: \S+ \(pid (\d+)\)", output, re.M))
        os.kill(pid, signal.SIGKILL)  # Prometheus dies under the demo
        demo_thread.join(10)
        assert not demo_thread.is_alive()
    finally:
        stop.set()
        demo_thread.join(10)
    (error,) = errors
    assert f"Prometheus (pid {pid}) stopped unexpectedly" in str(error)
    assert not list(tmp_path.glob("obsgen-demo-*"))


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        yield int(listener.getsockname()[1])


def test_a_taken_port_is_one_clear_message(cli_error: Callable[..., str], taken_port: int) -> None:
    output = cli_error("demo", "--config", CONFIG, "--port", str(taken_port))
    assert f"127.0.0.1:{taken_port} is already in use" in output
    assert "--port" in output


def test_without_prometheus_it_says_how_to_install_it(
    cli_error: Callable[..., str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no prometheus, no promtool
    output = cli_error("demo", "--config", CONFIG, "--port", str(free_port()))
    assert "`prometheus` is not installed" in output
    assert "apt-get install prometheus prometheus-alertmanager" in output


def test_an_unknown_scenario_lists_the_known_ones(cli_error: Callable[..., str]) -> None:
    output = cli_error("demo", "--config", CONFIG, "--scenario", "meltdown")
    assert "unknown scenario 'meltdown'" in output
    assert all(name in output for name in scenario_names())


def test_help_names_every_scenario(run_cli: Callable[..., Result]) -> None:
    result = run_cli("demo", "--help")
    assert result.exit_code == 0
    text = "".join(result.output.split())  # help wraps lines at hyphens too
    assert all(name in text for name in scenario_names())
    assert "--port" in text and "9090" in text
