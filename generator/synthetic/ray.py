"""Ray series from the metrics agent of every Ray pod: node and GPU gauges, Ray Train state.

Ray tags (ip, Version, SessionName, IsHeadNode, RayNodeType, and GpuIndex/GpuDeviceName per
GPU) plus the labels of KubeRay's PodMonitor/ServiceMonitor: instance "<pod IP>:8080",
namespace, pod, container and ray_io_cluster. Units are Ray's: utilisation 0-100, GRAM in MiB.
Cumulative Ray Train times are gauges that only grow. The object store reports shared memory
per node (it holds the batches the data pipeline prefetches) and nothing spilled.
"""

from __future__ import annotations

from generator.synthetic.families import Gauge, Registry
from generator.synthetic.fleet import Fleet, Pod
from generator.synthetic.state import FleetState

RAY_VERSION = "2.40.0"
PORT = 8080
_NODE_GAUGES = (
    "ray_node_cpu_utilization",
    "ray_node_cpu_count",
    "ray_node_mem_used",
    "ray_node_mem_total",
    "ray_node_disk_io_read_speed",
    "ray_node_disk_io_write_speed",
    "ray_node_network_receive_speed",
    "ray_node_network_send_speed",
)
_GPU_GAUGES = (
    "ray_node_gpus_utilization",
    "ray_node_gpus_available",
    "ray_node_gram_used",
    "ray_node_gram_available",
)
_OBJECT_LOCATIONS = ("MMAP_SHM", "SPILLED")
OBJECT_STORE_BASE_BYTES = 5e8
OBJECT_STORE_PER_READ = 2.0  # bytes held per byte/s read from the data disk (prefetched batches)


def ray_target_labels(fleet: Fleet, pod: Pod) -> dict[str, str]:
    """Returns the labels Prometheus puts on everything scraped from a Ray pod's agent."""
    cluster, _session = fleet.ray_cluster_of(pod)
    head = pod.role.endswith("head")
    return {
        "instance": f"{pod.ip}:{PORT}",
        "job": f"{cluster}-head-svc" if head else f"{pod.namespace}/ray-workers-monitor",
        "namespace": pod.namespace,
        "pod": pod.name,
        "container": pod.container,
        "ray_io_cluster": cluster,
    }


def ray_node_tags(fleet: Fleet, pod: Pod) -> dict[str, str]:
    """Returns the tags Ray's reporter agent puts on node metrics of a Ray pod."""
    _cluster, session = fleet.ray_cluster_of(pod)
    head = pod.role.endswith("head")
    return {
        "ip": pod.ip,
        "Version": RAY_VERSION,
        "SessionName": session,
        "IsHeadNode": "true" if head else "false",
        "RayNodeType": "head" if head else "worker",
    }


class RayMetrics:
    """Sets the Ray series of every Ray pod from the fleet state."""

    def __init__(self, registry: Registry, fleet: Fleet) -> None:
        self._fleet = fleet
        self._nodes: list[tuple[Pod, dict[str, Gauge], list[tuple[str, dict[str, Gauge]]]]] = []
        for pod in fleet.ray_pods():
            labels = {**ray_node_tags(fleet, pod), **ray_target_labels(fleet, pod)}
            registry.up(ray_target_labels(fleet, pod))
            node = {name: registry.gauge([name], labels) for name in _NODE_GAUGES}
            objects = {**labels, "ObjectState": "SEALED"}
            for location in _OBJECT_LOCATIONS:
                node[location] = registry.gauge(
                    ["ray_object_store_memory"], {**objects, "Location": location}
                )
            gpus = []
            for local, gpu in enumerate(fleet.gpus_of(pod)):
                gpu_labels = {**labels, "GpuIndex": str(local), "GpuDeviceName": gpu.model}
                gauges = {name: registry.gauge([name], gpu_labels) for name in _GPU_GAUGES}
                gpus.append((gpu.uuid, gauges))
            self._nodes.append((pod, node, gpus))
        self._train(registry, fleet)

    def _train(self, registry: Registry, fleet: Fleet) -> None:
        job = fleet.training
        head = job.head
        labels = {
            "ray_train_run_name": job.name,
            "ray_train_run_id": job.run_id,
            "SessionName": job.session_name,
            **ray_target_labels(fleet, head),
        }
        for state, value in (("RUNNING", 1), ("SCHEDULING", 0)):
            registry.gauge(
                ["ray_train_controller_state"], {**labels, "ray_train_controller_state": state}
            ).set(value)
        registry.gauge(["ray_train_worker_group_start_total_time_s"], labels).set(38.4)
        self._blocked = [
            registry.gauge(
                ["ray_train_report_total_blocked_time_s"],
                {
                    **labels,
                    "ray_train_worker_world_rank": str(rank),
                    "ray_train_worker_actor_id": worker.uid.replace("-", "")[:32],
                },
            )
            for rank, worker in enumerate(job.workers)
        ]
        self._blocked_seconds = [0.0] * len(self._blocked)

    def update(self, dt: float, state: FleetState) -> None:
        """Sets every Ray pod's gauges and grows the cumulative Ray Train times by `dt`."""
        for pod, node_gauges, gpus in self._nodes:
            node = state.nodes[pod.node]
            cpus = self._fleet.node(pod.node).cpus
            pod_reading = state.pods[pod.name]
            node_gauges["ray_node_cpu_utilization"].set(round(100 * node.cpu_busy, 2))
            node_gauges["ray_node_cpu_count"].set(cpus)
            node_gauges["ray_node_mem_used"].set(round(pod_reading.memory))
            node_gauges["ray_node_mem_total"].set(float(pod.memory_request))
            node_gauges["ray_node_disk_io_read_speed"].set(round(node.data_read))
            node_gauges["ray_node_disk_io_write_speed"].set(round(node.data_write))
            node_gauges["ray_node_network_receive_speed"].set(round(pod_reading.network_receive))
            node_gauges["ray_node_network_send_speed"].set(round(pod_reading.network_transmit))
            held = OBJECT_STORE_BASE_BYTES + OBJECT_STORE_PER_READ * node.data_read
            node_gauges["MMAP_SHM"].set(round(held))
            node_gauges["SPILLED"].set(0)
            for uuid, gauges in gpus:
                gpu = state.gpus[uuid]
                gauges["ray_node_gpus_utilization"].set(gpu.utilisation)
                gauges["ray_node_gpus_available"].set(1)
                gauges["ray_node_gram_used"].set(gpu.framebuffer_used)
                gauges["ray_node_gram_available"].set(gpu.framebuffer_free)
        for i, gauge in enumerate(self._blocked):
            self._blocked_seconds[i] += 0.004 * dt
            gauge.set(round(self._blocked_seconds[i], 3))
