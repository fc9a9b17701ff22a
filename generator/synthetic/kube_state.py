"""kube-state-metrics series: pods, their owners and phases, GPU requests, the RayJob's
Kubernetes Job, and node capacity. Scraped with honorLabels: true, so `namespace` and `pod` are
the object's own. These series are constant over a run.
"""

from __future__ import annotations

from generator.synthetic.families import Registry
from generator.synthetic.fleet import GIB, Fleet, Pod

JOB = "kube-state-metrics"
INSTANCE = "10.244.0.250:8080"
GPU_RESOURCE = "nvidia_com_gpu"  # kube-state-metrics sanitises nvidia.com/gpu
_PHASES = ("Pending", "Running", "Succeeded", "Failed", "Unknown")


def _resources(pod: Pod) -> list[tuple[str, str, float]]:
    """The (resource, unit, amount) requests of a pod's container."""
    resources = [("cpu", "core", pod.cpu_request), ("memory", "byte", float(pod.memory_request))]
    if pod.gpus:
        resources.append((GPU_RESOURCE, "integer", float(len(pod.gpus))))
    return resources


class KubeStateMetrics:
    """Registers the (constant) kube-state-metrics series of the fleet."""

    def __init__(self, registry: Registry, fleet: Fleet) -> None:
        target = {"instance": INSTANCE, "job": JOB}
        registry.up(target)
        for pod in fleet.pods:
            self._pod(registry, fleet, pod, target)
        training = fleet.training
        registry.gauge(
            ["kube_job_owner"],
            {
                "namespace": training.namespace,
                "job_name": training.name,
                "owner_kind": "RayJob",
                "owner_name": training.name,
                "owner_is_controller": "true",
                **target,
            },
        ).set(1)
        job = {"namespace": training.namespace, "job_name": training.name, **target}
        registry.gauge(["kube_job_status_active"], job).set(1)
        for node in fleet.nodes:
            registry.gauge(
                ["kube_node_info"],
                {
                    "node": node.name,
                    "internal_ip": node.host_ip,
                    "kernel_version": "5.15.0-1063-nvidia",
                    "os_image": "Ubuntu 22.04.4 LTS",
                    "container_runtime_version": "containerd://1.7.12",
                    "kubelet_version": "v1.30.4",
                    **target,
                },
            ).set(1)
            for name in ("kube_node_status_capacity", "kube_node_status_allocatable"):
                for resource, unit, amount in (
                    ("cpu", "core", float(node.cpus)),
                    ("memory", "byte", float(node.memory_bytes - GIB)),
                    (GPU_RESOURCE, "integer", float(len(node.gpus))),
                ):
                    labels = {"node": node.name, "resource": resource, "unit": unit, **target}
                    registry.gauge([name], labels).set(amount)

    @staticmethod
    def _pod(registry: Registry, fleet: Fleet, pod: Pod, target: dict[str, str]) -> None:
        node = fleet.node(pod.node)
        identity = {"namespace": pod.namespace, "pod": pod.name, "uid": pod.uid}
        registry.gauge(
            ["kube_pod_info"],
            {
                **identity,
                "host_ip": node.host_ip,
                "pod_ip": pod.ip,
                "node": node.name,
                "created_by_kind": pod.created_by_kind,
                "created_by_name": pod.created_by_name,
                "priority_class": "",
                "host_network": "false",
                **target,
            },
        ).set(1)
        registry.gauge(
            ["kube_pod_owner"],
            {
                **identity,
                "owner_kind": pod.created_by_kind,
                "owner_name": pod.created_by_name,
                "owner_is_controller": "true",
                **target,
            },
        ).set(1)
        for phase in _PHASES:
            registry.gauge(["kube_pod_status_phase"], {**identity, "phase": phase, **target}).set(
                1 if phase == "Running" else 0
            )
        container = {**identity, "container": pod.container, "node": node.name}
        for resource, unit, amount in _resources(pod):
            labels = {**container, "resource": resource, "unit": unit, **target}
            registry.gauge(["kube_pod_container_resource_requests"], labels).set(amount)
            if resource == GPU_RESOURCE:  # extended resources need limit == request
                registry.gauge(["kube_pod_container_resource_limits"], labels).set(amount)

    def update(self, dt: float, state: object) -> None:
        """Nothing changes during a run: the values set at registration stay."""
