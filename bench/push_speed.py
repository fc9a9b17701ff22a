"""How fast `obsgen push` delivers 200 dashboards to a double of Grafana's HTTP API.

No Grafana server can be installed here: the target is the double the tests use
(tests/grafana_double.py), a threaded HTTP server on 127.0.0.1 driven by the real
grafana-client, so the figures measure obsgen and grafana-client, not Grafana. The double runs
in its own process, so it does not share obsgen's interpreter lock. The 200 dashboards are
variants of the bundled ones (new uid and title each), rendered once.

Timed in-process (push_dashboards: connect, folder, reads, plan, writes), each the median of
5 runs after a warm-up:

- first push into an empty double at --concurrency 1 and 4 (the folder and 200 dashboards
  created; a fresh double per run, started outside the timing), once with the double
  answering at once and once with 5 ms added to every answer, standing for a Grafana across
  a network (with its database behind it);
- the second push, which must send zero write requests (asserted on the double's log);
- the floor: 200 plain POST /api/dashboards/db through grafana-client, one after another.

Run: `python bench/push_speed.py` (add --json for machine-readable results).
"""

from __future__ import annotations

import copy
import json
import multiprocessing
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from grafana_client.api import GrafanaApi  # noqa: E402
from grafana_double import EDITOR_TOKEN, GrafanaApiDouble  # noqa: E402

from generator.build import build  # noqa: E402
from generator.deliver.grafana.plan import DesiredDashboard  # noqa: E402
from generator.deliver.grafana.state import managed_dashboard  # noqa: E402
from generator.deliver.grafana.target import resolve_target  # noqa: E402
from generator.deliver.grafana.workflow import PushOptions, push_dashboards  # noqa: E402
from generator.settings import load_settings  # noqa: E402

DASHBOARDS = 200
RUNS = 5
LATENCY = 0.005  # seconds added to every answer: a Grafana across a network
FOLDER = "GPU Workloads"


def variants(count: int = DASHBOARDS) -> list[DesiredDashboard]:
    """`count` distinct dashboards: the bundled ones under new uids and titles."""
    bundled = [
        a.document
        for a in build(load_settings(ROOT / "obsgen.yaml")).artifacts
        if a.kind == "dashboard"
    ]
    desired = []
    for i in range(count):
        document = copy.deepcopy(bundled[i % len(bundled)])
        document["uid"] = f"bench-{i:03d}"
        document["title"] = f"{document['title']} {i:03d}"
        desired.append(
            DesiredDashboard(
                document["uid"], document["title"], "bench", managed_dashboard(document)
            )
        )
    return desired


class DoubleProcess:
    """A double of Grafana's HTTP API in a child process, controlled over a pipe."""

    def __init__(self, latency: float = 0.0) -> None:
        context = multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")
        self._pipe, child = context.Pipe()
        self._process = context.Process(  # type: ignore[attr-defined]
            target=_serve, args=(child, latency), daemon=True
        )
        self._process.start()
        self.url: str = self._pipe.recv()

    def ask(self, command: str) -> Any:
        self._pipe.send(command)
        return self._pipe.recv()

    def stop(self) -> None:
        if self._process.is_alive():
            self.ask("stop")
            self._process.join(5)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(5)


def _serve(pipe: Any, latency: float) -> None:
    double = GrafanaApiDouble(latency=latency).start()
    pipe.send(double.url)
    while True:
        command = pipe.recv()
        if command == "writes":
            pipe.send(len(double.writes()))
        elif command == "clear":
            double.clear_log()
            pipe.send(None)
        elif command == "stop":
            double.stop()
            pipe.send(None)
            return


def _push(double: DoubleProcess, desired: list[DesiredDashboard], concurrency: int) -> Any:
    target = resolve_target({"GRAFANA_URL": double.url, "GRAFANA_TOKEN": EDITOR_TOKEN})
    result = push_dashboards(
        target, FOLDER, desired, PushOptions(concurrency=concurrency, message="bench")
    )
    assert result.ok, [o.detail for o in result.not_written()]
    return result


def _samples(
    latency: float, run: Callable[[DoubleProcess], None], runs: int, fresh: bool = True
) -> list[float]:
    """Seconds of `run(double)` for a warm-up and `runs` timed runs; a new double each run
    when `fresh`, started and stopped outside the timing."""
    samples = []
    shared = None if fresh else DoubleProcess(latency)
    try:
        for attempt in range(runs + 1):
            double = shared or DoubleProcess(latency)
            try:
                started = time.perf_counter()
                run(double)
                elapsed = time.perf_counter() - started
            finally:
                if shared is None:
                    double.stop()
            if attempt:
                samples.append(elapsed)
    finally:
        if shared is not None:
            shared.stop()
    return samples


def _figure(name: str, samples: list[float], count: int, **parameters: Any) -> dict[str, Any]:
    return {
        "name": name,
        "parameters": {"dashboards": count, "runs": len(samples), **parameters},
        "median": statistics.median(samples),
        "min": min(samples),
        "max": max(samples),
        "unit": "s",
        "dashboards_per_second": count / statistics.median(samples),
    }


def _first_push(
    desired: list[DesiredDashboard], concurrency: int, latency: float, runs: int
) -> list[float]:
    def run(double: DoubleProcess) -> None:
        result = _push(double, desired, concurrency)
        assert sum(1 for o in result.outcomes if o.result == "created") == len(desired)

    return _samples(latency, run, runs)


def _second_push(desired: list[DesiredDashboard], latency: float, runs: int) -> list[float]:
    writes: list[int] = []

    def run(double: DoubleProcess) -> None:
        if not writes and double.ask("writes") == 0:
            _push(double, desired, 4)  # the first push, before the warm-up
        double.ask("clear")
        _push(double, desired, 4)
        writes.append(double.ask("writes"))

    samples = _samples(latency, run, runs, fresh=False)
    assert writes == [0] * len(writes), f"the second push sent write requests: {writes}"
    return samples


def _floor(desired: list[DesiredDashboard], runs: int) -> list[float]:
    def run(double: DoubleProcess) -> None:
        parts = urlsplit(double.url)
        api = GrafanaApi(auth=EDITOR_TOKEN, host=parts.hostname, port=parts.port)
        for dashboard in desired:
            api.dashboard.update_dashboard(  # type: ignore[no-untyped-call]
                {"dashboard": dashboard.dashboard, "folderUid": ""}
            )
        api.client.s.close()

    return _samples(0.0, run, runs)


def run(count: int = DASHBOARDS, runs: int = RUNS) -> list[dict[str, Any]]:
    """Every figure of this benchmark, one result object each."""
    desired = variants(count)
    floor = _figure(
        "floor: sequential POST /api/dashboards/db via grafana-client", _floor(desired, runs), count
    )
    results = []
    for latency in (0.0, LATENCY):
        where = f", {latency * 1000:g} ms per answer" if latency else ""
        for concurrency in (1, 4):
            figure = _figure(
                f"first push (creates all), --concurrency {concurrency}{where}",
                _first_push(desired, concurrency, latency, runs),
                count,
                concurrency=concurrency,
                latency_seconds=latency,
            )
            if not latency:
                figure["ratio"] = figure["median"] / floor["median"]
                figure["compared_to"] = floor["name"]
            results.append(figure)
        results.append(
            _figure(
                f"second push (nothing changed), --concurrency 4{where}",
                _second_push(desired, latency, runs),
                count,
                concurrency=4,
                latency_seconds=latency,
                write_requests=0,
            )
        )
    results.append(floor)
    return results


def table(results: list[dict[str, Any]]) -> str:
    lines = [f"{'benchmark':66} {'median':>8} {'min':>8} {'max':>8}  dashboards/s  ratio"]
    for result in results:
        ratio = f"{result['ratio']:.2f}x" if "ratio" in result else ""
        lines.append(
            f"{result['name']:66} {result['median']:7.3f}s {result['min']:7.3f}s "
            f"{result['max']:7.3f}s  {result['dashboards_per_second']:12,.0f}  {ratio}"
        )
    lines.append(
        f"\n{results[0]['parameters']['dashboards']} dashboards to a double of Grafana's HTTP "
        "API in another process on loopback; the second pushes sent 0 write requests"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    figures = run()
    print(json.dumps(figures, indent=2) if "--json" in sys.argv[1:] else table(figures))
