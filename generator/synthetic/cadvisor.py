"""cAdvisor series (the kubelet's /metrics/cadvisor) for every pod and node.

Each pod has its container's series plus the pod cgroup aggregate with container="" (the sum of
its containers), and each node has the root cgroup (id="/", no pod labels). Queries must drop
container="" or they count every pod twice. Network series exist at pod level only. Containers
have a CPU limit equal to their request, so their CFS periods count throttling when they need
more.
"""

from __future__ import annotations

from generator.synthetic.families import Counter, Gauge, Registry
from generator.synthetic.fleet import Fleet, Pod
from generator.synthetic.state import FleetState

JOB = "kubelet"
PORT = 10250
IMAGES = {
    "training-submitter": "rayproject/ray:2.40.0",
    "training-head": "rayproject/ray-ml:2.40.0-gpu",
    "training-worker": "rayproject/ray-ml:2.40.0-gpu",
    "serving": "vllm/vllm-openai:v0.11.0",
    "serving-head": "rayproject/ray-llm:2.40.0-py311-cu124",
    "dcgm-exporter": "nvcr.io/nvidia/k8s/dcgm-exporter:4.2.3-4.1.3-ubuntu22.04",
}
_RAY_SERVE_IMAGE = "rayproject/ray-llm:2.40.0-py311-cu124"
CFS_PERIODS_PER_SECOND = 10.0  # the kernel's default 100 ms period
# Throttling starts when demand passes this share of the limit (bursts within a period).
_THROTTLE_FROM = 0.6


class _CgroupSeries:
    """CPU and memory handles of one cgroup."""

    def __init__(self, registry: Registry, labels: dict[str, str]) -> None:
        self.cpu: Counter = registry.counter(
            ["container_cpu_usage_seconds_total"], {**labels, "cpu": "total"}, start=3600.0
        )
        self.memory: Gauge = registry.gauge(["container_memory_working_set_bytes"], labels)
        self.periods: Counter = registry.counter(
            ["container_cpu_cfs_periods_total"], labels, start=36000.0, integer=True
        )
        self.throttled: Counter = registry.counter(
            ["container_cpu_cfs_throttled_periods_total"], labels, start=360.0, integer=True
        )


class _PodSeries:
    """The handles of one pod: its container, its cgroup aggregate and its network."""

    def __init__(self, registry: Registry, pod: Pod, target: dict[str, str], image: str) -> None:
        cgroup = f"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{pod.uid}.slice"
        container_id = pod.uid.replace("-", "")[::-1] + pod.uid.replace("-", "")[:32]
        pod_labels = {"namespace": pod.namespace, "pod": pod.name}
        self.container = _CgroupSeries(
            registry,
            {
                "container": pod.container,
                **pod_labels,
                "id": f"{cgroup}/cri-containerd-{container_id}.scope",
                "image": image,
                "name": container_id,
                **target,
            },
        )
        aggregate = {"container": "", **pod_labels, "id": cgroup, **target}
        self.aggregate = _CgroupSeries(registry, aggregate)
        network = {**aggregate, "interface": "eth0"}
        self.receive = registry.counter(
            ["container_network_receive_bytes_total"], network, start=1e8, integer=True
        )
        self.transmit = registry.counter(
            ["container_network_transmit_bytes_total"], network, start=1e8, integer=True
        )


class Cadvisor:
    """Sets the cAdvisor series of every pod and node from the fleet state."""

    def __init__(self, registry: Registry, fleet: Fleet) -> None:
        self._pods: list[tuple[Pod, _PodSeries]] = []
        self._roots: list[tuple[str, _CgroupSeries]] = []
        for node in fleet.nodes:
            target = {
                "instance": f"{node.host_ip}:{PORT}",
                "job": JOB,
                "metrics_path": "/metrics/cadvisor",
                "node": node.name,
            }
            registry.up(target)
            self._roots.append((node.name, _CgroupSeries(registry, {"id": "/", **target})))
            for pod in fleet.pods_on(node.name):
                image = IMAGES[pod.role]
                if fleet.ray_serve and pod.role == "serving":
                    image = _RAY_SERVE_IMAGE
                self._pods.append((pod, _PodSeries(registry, pod, target, image)))

    def update(self, dt: float, state: FleetState) -> None:
        """Advances every cgroup's counters by `dt` seconds and sets its gauges."""
        for pod, series in self._pods:
            r = state.pods[pod.name]
            throttled = min(1.0, max(0.0, r.cpu_cores / pod.cpu_request - _THROTTLE_FROM))
            for cgroup in (series.container, series.aggregate):
                cgroup.cpu.inc(r.cpu_cores * dt)
                cgroup.periods.inc(CFS_PERIODS_PER_SECOND * dt)
                cgroup.throttled.inc(CFS_PERIODS_PER_SECOND * throttled * dt)
            series.container.memory.set(round(r.memory))
            series.aggregate.memory.set(round(r.memory + 2e6))  # plus the pause container
            series.receive.inc(r.network_receive * dt)
            series.transmit.inc(r.network_transmit * dt)
        for node, root in self._roots:
            reading = state.nodes[node]
            root.cpu.inc(reading.cpu_busy * state.fleet.node(node).cpus * dt)
            root.memory.set(round(reading.memory_used))
