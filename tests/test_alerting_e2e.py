"""End to end: a real Prometheus evaluates the generated rules over the synthetic fleet and
notifies a real Alertmanager running the generated alertmanager.yaml; a webhook receiver on
loopback records what each receiver is sent.

The fleet runs the bundled `xid-error` scenario (XID 79, a hardware fault, on the first training
GPU) plus an application XID 13 on another GPU of the same node, from the first sample on. Both
XID alerts have `for: 0m`, so they fire at Prometheus' first evaluation. Expected:
GpuXidHardwareError (critical) reaches gpu-oncall; GpuXidError (warning) for the XID 13 GPU
reaches ml-platform; GpuXidError leaves hardware XIDs out, so for the XID 79 GPU it never fires
and no receiver gets it, however late the critical alert arrives.

Without prometheus, promtool or alertmanager these tests skip, or fail with
REQUIRE_PROMETHEUS=1 (CI sets it).
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import yaml
from prometheus_harness import require_binary

from generator.build import ALERTMANAGER_PATH, build
from generator.deliver.files import write_build
from generator.render.alertmanager import INHIBIT_PAIRS
from generator.runtime import AlertmanagerServer, FleetPrometheus, QueryClient, wait_until
from generator.settings import Thresholds, load_settings
from generator.synthetic import Conditions, Fleet, Gpu, Scenario, get_scenario
from generator.synthetic.scenarios import first_training_gpu

RECEIVERS = ("default", "gpu-oncall", "ml-platform")
APPLICATION_XID = 13
# Prometheus learns of its Alertmanager only at the discovery manager's first update, up to 5 s
# after start, and drops the alerts it fires before that; with --rules.alert.resend-delay=1s it
# sends them again a second later. Alertmanager flushes a new group at once when its alert
# started more than group_wait ago, so group_wait covers that delay: otherwise GpuXidError,
# which the rule group evaluates and sends just before GpuXidHardwareError, could be flushed
# before the critical alert that inhibits it arrives.
SETTINGS = """\
alertmanager:
  receivers:
{receivers}
  group_wait: 10s
  group_interval: 2s
  repeat_interval: 1h
"""
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class WebhookReceiver:
    """Records the JSON that Alertmanager POSTs to http://127.0.0.1:PORT/<receiver>."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, Any]]] = []  # (path without "/", payload)
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver._lock:
                    receiver.received.append((self.path.strip("/"), json.loads(body)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,))
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def alerts(self, receiver: str) -> list[dict[str, Any]]:
        """Every alert of every notification `receiver` got so far."""
        with self._lock:
            return [a for path, p in self.received if path == receiver for a in p["alerts"]]

    def notifications(self) -> list[tuple[str, dict[str, Any]]]:
        with self._lock:
            return list(self.received)

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


def other_gpu_on_the_same_node(fleet: Fleet) -> Gpu:
    first = first_training_gpu(fleet)
    return next(g for g in fleet.gpus if g.node == first.node and g.uuid != first.uuid)


def xid_error_and_application_fault() -> Scenario:
    """The bundled xid-error scenario plus XID 13 on another GPU of the same node."""
    xid_error = get_scenario("xid-error")

    def apply(c: Conditions, fleet: Fleet, limits: Thresholds) -> Conditions:
        hit = xid_error.apply(c, fleet, limits)
        other = other_gpu_on_the_same_node(fleet).uuid
        return dataclasses.replace(hit, gpu_xid={**hit.gpu_xid, other: APPLICATION_XID})

    return Scenario("xid-error+application-xid", xid_error.summary, apply, xid_error.affects)


@dataclass
class Alerting:
    receiver: WebhookReceiver
    alertmanager: AlertmanagerServer
    fleet: FleetPrometheus
    hardware: Gpu  # XID 79
    application: Gpu  # XID 13


@pytest.fixture(scope="module")
def alerting(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Alerting]:
    """Receiver, Alertmanager and fleet Prometheus running; all stopped afterwards (by PID)."""
    require_binary("prometheus")
    require_binary("promtool")
    require_binary("alertmanager")
    directory = tmp_path_factory.mktemp("alerting-e2e")
    with WebhookReceiver() as receiver:
        urls = "\n".join(f"    {name}: {receiver.url}/{name}" for name in RECEIVERS)
        settings_file = directory / "obsgen.yaml"
        settings_file.write_text(SETTINGS.format(receivers=urls), encoding="utf-8")
        settings = load_settings(settings_file)
        content = build(settings)
        write_build(content, directory / "out")
        config = directory / "out" / ALERTMANAGER_PATH
        with (
            AlertmanagerServer(directory / "alertmanager", config) as alertmanager,
            FleetPrometheus(
                settings,
                xid_error_and_application_fault(),
                directory=directory / "prometheus",
                content=content,
                history_seconds=120,
                onset_after=0,
                alertmanager_url=alertmanager.url,
                evaluation_interval="1s",
                prometheus_args=["--rules.alert.resend-delay=1s"],
            ) as fleet,
        ):
            assert fleet.simulation is not None
            fleet_model = fleet.simulation.fleet
            yield Alerting(
                receiver,
                alertmanager,
                fleet,
                first_training_gpu(fleet_model),
                other_gpu_on_the_same_node(fleet_model),
            )


def delivered(alerting: Alerting, receiver: str, alertname: str, gpu: Gpu) -> dict[str, Any]:
    """The alert `receiver` got about `gpu`, waiting up to 30 s for it."""

    def find() -> dict[str, Any] | None:
        for alert in alerting.receiver.alerts(receiver):
            labels = alert["labels"]
            if labels["alertname"] == alertname and labels.get("UUID") == gpu.uuid:
                return alert
        return None

    wait_until(lambda: find() is not None, 30, interval=0.2)
    found = find()
    assert found is not None, (
        f"{receiver} got no {alertname} for {gpu.uuid}; notifications: "
        f"{alerting.receiver.notifications()}\nAlertmanager log: "
        f"{alerting.alertmanager.log_tail()}\n"
        f"Prometheus log: {alerting.fleet.prometheus.log_tail()}"
    )
    return found


def alertmanager_alerts(alerting: Alerting, **filters: str) -> list[dict[str, Any]]:
    query = "&".join(f"{k}={v}" for k, v in filters.items())
    with _DIRECT.open(f"{alerting.alertmanager.url}/api/v2/alerts?{query}", timeout=5) as answer:
        alerts: list[dict[str, Any]] = json.load(answer)
        return alerts


def expected_gpu_labels(alerting: Alerting, gpu: Gpu) -> dict[str, str]:
    labels = {"Hostname": gpu.node, "gpu": str(gpu.index), "UUID": gpu.uuid}
    if gpu.pod:  # an idle GPU has no workload labels
        labels[alerting.fleet.settings.exporters.dcgm.pod_label] = gpu.pod
    return labels


def test_the_hardware_xid_reaches_gpu_oncall_with_its_labels(alerting: Alerting) -> None:
    alert = delivered(alerting, "gpu-oncall", "GpuXidHardwareError", alerting.hardware)
    labels = alert["labels"]
    assert labels["severity"] == "critical"
    assert labels.items() >= expected_gpu_labels(alerting, alerting.hardware).items()
    assert alert["status"] == "firing"
    hardware = alerting.hardware
    assert alert["annotations"]["summary"] == (
        f"Hardware XID 79 on {hardware.node} GPU {hardware.index} ({hardware.uuid})"
    )
    assert alert["annotations"]["runbook_url"].endswith("runbooks.md#gpuxidhardwareerror")


def test_the_application_xid_reaches_ml_platform_as_a_warning(alerting: Alerting) -> None:
    alert = delivered(alerting, "ml-platform", "GpuXidError", alerting.application)
    assert alert["labels"]["severity"] == "warning"
    assert alert["labels"].items() >= expected_gpu_labels(alerting, alerting.application).items()
    assert alert["annotations"]["summary"].startswith(f"XID {APPLICATION_XID} on ")


def test_no_warning_fires_for_the_gpu_with_the_hardware_fault(alerting: Alerting) -> None:
    hardware = alerting.hardware
    # The GpuXidError group of this node was notified (the XID 13 GPU), so the rules ran ...
    delivered(alerting, "ml-platform", "GpuXidError", alerting.application)
    # ... and GpuXidError was never even pending for the XID 79 GPU: nothing to inhibit.
    client = QueryClient(alerting.fleet.url)
    assert client.query(f'ALERTS{{alertname="GpuXidError", UUID="{hardware.uuid}"}}') == []
    assert client.query(f'ALERTS{{alertname="GpuXidHardwareError", UUID="{hardware.uuid}"}}')
    # Alertmanager holds no such alert either, active, inhibited or otherwise.
    held = {
        (a["labels"]["alertname"], a["labels"].get("UUID")) for a in alertmanager_alerts(alerting)
    }
    assert ("GpuXidHardwareError", hardware.uuid) in held
    assert ("GpuXidError", hardware.uuid) not in held
    # One more group interval: still never delivered to anyone.
    time.sleep(2.5)
    for receiver, notification in alerting.receiver.notifications():
        for sent in notification["alerts"]:
            assert (sent["labels"]["alertname"], sent["labels"].get("UUID")) != (
                "GpuXidError",
                hardware.uuid,
            ), f"a warning about the hardware fault reached {receiver}"


def test_receivers_get_only_what_their_route_names(alerting: Alerting) -> None:
    delivered(alerting, "gpu-oncall", "GpuXidHardwareError", alerting.hardware)
    delivered(alerting, "ml-platform", "GpuXidError", alerting.application)
    for receiver, notification in alerting.receiver.notifications():
        assert notification["receiver"] == receiver
        severity = {"gpu-oncall": "critical", "ml-platform": "warning"}[receiver]  # not default
        assert notification["commonLabels"]["severity"] == severity
        assert notification["groupLabels"]["Hostname"] == alerting.hardware.node


def test_alertmanager_runs_the_generated_config_with_the_settings_intervals(
    alerting: Alerting,
) -> None:
    with _DIRECT.open(f"{alerting.alertmanager.url}/api/v2/status", timeout=5) as answer:
        running = yaml.safe_load(json.load(answer)["config"]["original"])
    route = running["route"]
    assert (route["group_wait"], route["group_interval"]) == ("10s", "2s")
    assert sorted(r["name"] for r in running["receivers"]) == sorted(RECEIVERS)
    assert len(running["inhibit_rules"]) == len(INHIBIT_PAIRS)
