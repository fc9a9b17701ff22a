"""The GPU Fleet dashboard on a MIG-partitioned GPU: a MIG instance is a device of its own, never
a whole GPU. A real Prometheus holds a small hand-written fleet (backfilled with promtool, no
scraping) with the fleet's recording rules evaluated over it, and the panels are read as
Grafana shows them (generator.runtime.read_panel).

The fleet: gpu-node-00 has two H100s, one held by a training pod and busy, one held by nobody;
gpu-node-01 has an A100 split into three 2g.20gb MIG instances (dcgm-exporter reports each with
the parent's gpu and UUID plus GPU_I_ID and GPU_I_PROFILE): instance 1 held by an idle
notebook, instance 2 by a busy embedding pod, instance 3 by nobody. The pods request
nvidia.com/gpu or the MIG resource nvidia.com/mig-2g.20gb (the mixed strategy).

Without prometheus/promtool these tests skip, or fail with REQUIRE_PROMETHEUS=1 (CI sets it).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_harness import require_binary

from generator.build import BuildResult, build
from generator.runtime import PrometheusServer, QueryClient, read_panel, write_prometheus_config
from generator.settings import Settings
from generator.synthetic import create_blocks, create_rule_blocks

FLEET_UID = "obsgen-gpu-fleet"
H100, A100 = "NVIDIA H100 80GB HBM3", "NVIDIA A100-SXM4-80GB"
HISTORY_SECONDS, STEP_SECONDS = 1200, 30
DCGM_TARGET = {"job": "nvidia-dcgm-exporter", "namespace": "gpu-operator"}
KSM_TARGET = {"job": "kube-state-metrics", "instance": "10.244.0.250:8080"}


def device(
    node: str, gpu: str, uuid: str, model: str, activity: float, pod: str = "", mig: str = ""
) -> tuple[dict[str, str], float]:
    """DCGM labels of one device (exported_* workload labels, as the default settings expect)
    and its graphics-engine activity."""
    labels = {"Hostname": node, "gpu": gpu, "UUID": uuid, "modelName": model, **DCGM_TARGET}
    if mig:
        labels |= {"GPU_I_ID": mig, "GPU_I_PROFILE": "2g.20gb"}
    if pod:
        namespace, name = pod.split("/")
        labels |= {"exported_namespace": namespace, "exported_pod": name}
    return labels, activity


DEVICES = [
    device("gpu-node-00", "0", "GPU-aa00", H100, 0.875, pod="ml/train-0"),
    device("gpu-node-00", "1", "GPU-aa01", H100, 0.0),
    device("gpu-node-01", "0", "GPU-bb00", A100, 0.0, pod="research/notebook-a", mig="1"),
    device("gpu-node-01", "0", "GPU-bb00", A100, 0.625, pod="research/embed-0", mig="2"),
    device("gpu-node-01", "0", "GPU-bb00", A100, 0.0, mig="3"),
]
# (namespace/pod, node, kube-state-metrics resource) of the pods that request a device.
REQUESTS = [
    ("ml/train-0", "gpu-node-00", "nvidia_com_gpu"),
    ("research/notebook-a", "gpu-node-01", "nvidia_com_mig_2g_20gb"),
    ("research/embed-0", "gpu-node-01", "nvidia_com_mig_2g_20gb"),
]


def families() -> dict[str, list[tuple[dict[str, str], float]]]:
    """Metric name -> (labels, constant value) of every series of the fleet."""
    pods = [dict(zip(("namespace", "pod"), p.split("/"), strict=True)) for p, _, _ in REQUESTS]
    return {
        "DCGM_FI_DEV_FB_USED": [(labels, 1024.0) for labels, _ in DEVICES],
        "DCGM_FI_PROF_GR_ENGINE_ACTIVE": DEVICES,
        "kube_pod_container_resource_requests": [
            ({**pod, "node": node, "resource": resource, "unit": "integer", **KSM_TARGET}, 1.0)
            for pod, (_, node, resource) in zip(pods, REQUESTS, strict=True)
        ],
        "kube_pod_status_phase": [({**pod, "phase": "Running", **KSM_TARGET}, 1.0) for pod in pods],
    }


def write_history(path: Path, end: float) -> None:
    """The fleet's series every STEP_SECONDS up to `end`, in OpenMetrics text."""
    lines = []
    for name, series in families().items():
        lines.append(f"# TYPE {name} gauge")
        for labels, value in series:
            text = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
            for t in range(int(end) - HISTORY_SECONDS, int(end) + 1, STEP_SECONDS):
                lines.append(f"{name}{{{text}}} {value} {t}")
    path.write_text("\n".join([*lines, "# EOF"]) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def content() -> BuildResult:
    return build(Settings())


@pytest.fixture(scope="module")
def prometheus(
    tmp_path_factory: pytest.TempPathFactory, content: BuildResult
) -> Iterator[PrometheusServer]:
    """Prometheus on the backfilled MIG fleet and the fleet rules evaluated over it, scraping
    nothing; stopped by PID afterwards."""
    promtool = require_binary("promtool")
    require_binary("prometheus")
    directory = tmp_path_factory.mktemp("fleet-mig")
    server = PrometheusServer(directory)
    history, end = directory / "history.om", time.time()
    write_history(history, end)
    create_blocks(history, server.data_dir, promtool)
    (rules,) = [a for a in content.artifacts if a.path == "rules/fleet.rules.yaml"]
    rule_file = directory / "fleet.rules.yaml"
    rule_file.write_text(rules.text, encoding="utf-8")
    write_prometheus_config(server.config_file, [])
    with server:
        start = end - HISTORY_SECONDS
        create_rule_blocks([rule_file], server.data_dir, server.url, start, end, STEP_SECONDS)
    with server:  # a new start reads the recorded blocks at once
        yield server


@pytest.fixture(scope="module")
def dashboard(content: BuildResult) -> dict[str, Any]:
    (found,) = [a.document for a in content.artifacts if a.document.get("uid") == FLEET_UID]
    return found


def shown(prometheus: PrometheusServer, dashboard: dict[str, Any], title: str) -> dict[str, float]:
    """A panel's single target, by the value of its legend's label ("" for none)."""
    (series,) = read_panel(QueryClient(prometheus.url), dashboard, title, STEP_SECONDS).values()
    (target,) = [t for p in dashboard["panels"] if p.get("title") == title for t in p["targets"]]
    label = target["legendFormat"].strip("{}")
    return {s.labels.get(label, ""): s.points[-1][1] for s in series}


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        pytest.param("GPUs", {"": 3}, id="physical-gpus-count-a-partitioned-gpu-once"),
        pytest.param("MIG instances", {"": 3}, id="mig-instances"),
        pytest.param(
            "Devices by MIG profile", {"whole GPU": 2, "2g.20gb": 3}, id="devices-by-profile"
        ),
        pytest.param("GPUs by model", {H100: 2, A100: 1}, id="gpus-by-model"),
        pytest.param("GPUs allocated", {"": 3}, id="allocated-devices"),
        pytest.param("GPUs allocated but idle", {"": 1}, id="the-idle-mig-instance"),
        pytest.param("Allocated but idle devices by node", {"gpu-node-01": 1}, id="idle-by-node"),
    ],
)
def test_mig_instances_are_devices_not_gpus(
    prometheus: PrometheusServer,
    dashboard: dict[str, Any],
    title: str,
    expected: dict[str, float],
) -> None:
    assert shown(prometheus, dashboard, title) == expected
