"""The synthetic fleet's topology: nodes and GPUs, the pods on them, one Ray Train job and the
vLLM replicas of a few models. Pure data, deterministic: the same shape gives the same names,
IPs, UIDs and GPU UUIDs every time.

Layout: each node's first `training_gpus_per_node` GPUs belong to that node's Ray Train worker
pod; vLLM replicas take the next free GPUs, spread round-robin over the nodes so that replicas
of one model land on different nodes; any GPU left over is idle (DCGM shows it without pod
labels). With `ray_serve` the replicas are Ray Serve LLM workers of one RayService instead of
one Kubernetes Deployment per model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from generator.synthetic.naming import (
    hex_id,
    host_ip,
    kube_suffix,
    model_names,
    pci_bus_id,
    pod_ip,
    ray_session,
    slug,
    stable_uuid,
)

PodRole = Literal[
    "training-submitter",
    "training-head",
    "training-worker",
    "serving",
    "serving-head",
    "dcgm-exporter",
]
GIB = 1024**3


@dataclass(frozen=True)
class FleetShape:
    """How big the fleet is. Defaults are small so that tests run fast."""

    nodes: int = 2
    gpus_per_node: int = 4
    cpus_per_node: int = 8
    memory_bytes_per_node: int = 1024 * GIB
    training_gpus_per_node: int = 1  # GPUs of the Ray Train worker pod on each node
    models: int = 2
    replicas_per_model: int = 2
    gpus_per_replica: int = 1
    gpu_model: str = "NVIDIA H100 80GB HBM3"
    gpu_framebuffer_mib: int = 81559
    driver_version: str = "550.90.07"
    training_job: str = "llama-finetune"  # RayJob and Kubernetes Job name (job_name)
    training_namespace: str = "default"
    serving_namespace: str = "llm-serving"
    serving_app: str = "llm-serve"  # RayService name when vLLM runs in Ray Serve
    cluster_name: str = "synthetic"  # value of the cluster label when multi-cluster is on

    def __post_init__(self) -> None:
        if self.nodes < 1 or self.gpus_per_node < 1 or self.cpus_per_node < 1:
            raise ValueError("a fleet needs at least one node with one GPU and one CPU")
        if not 0 <= self.training_gpus_per_node <= self.gpus_per_node:
            raise ValueError("training_gpus_per_node must be between 0 and gpus_per_node")
        if self.models < 0 or self.replicas_per_model < 0 or self.gpus_per_replica < 1:
            raise ValueError("models and replicas_per_model must be >= 0, gpus_per_replica >= 1")
        free = self.nodes * (self.gpus_per_node - self.training_gpus_per_node)
        needed = self.models * self.replicas_per_model * self.gpus_per_replica
        if needed > free:
            raise ValueError(
                f"{needed} GPUs needed for vLLM replicas but only {free} are free after "
                f"training; add nodes or GPUs, or lower training_gpus_per_node"
            )


# Shape for benchmarks: 1024 GPUs, a job on 896 of them and 64 vLLM replicas.
BENCHMARK_SHAPE = FleetShape(
    nodes=128, gpus_per_node=8, training_gpus_per_node=7, models=4, replicas_per_model=16
)


@dataclass(frozen=True)
class Gpu:
    """One GPU; `pod`, `namespace` and `container` name its user, empty when idle."""

    node: str
    index: int
    uuid: str
    pci_bus_id: str
    model: str
    framebuffer_mib: int
    pod: str = ""
    namespace: str = ""
    container: str = ""

    @property
    def device(self) -> str:
        """The device name DCGM reports (nvidia0, nvidia1, ...)."""
        return f"nvidia{self.index}"


@dataclass(frozen=True)
class Node:
    """One Kubernetes node with its GPUs."""

    index: int
    name: str
    host_ip: str
    cpus: int
    memory_bytes: int
    gpus: tuple[Gpu, ...]


@dataclass(frozen=True)
class Pod:
    """One pod with one main container; `gpus` are indices of GPUs on its node."""

    namespace: str
    name: str
    uid: str
    node: str
    ip: str
    container: str
    role: PodRole
    created_by_kind: str
    created_by_name: str
    cpu_request: float
    memory_request: int
    gpus: tuple[int, ...] = ()
    metrics_port: int = 0  # the port Prometheus scrapes (vLLM 8000, Ray 8080), 0 for none


@dataclass(frozen=True)
class TrainingJob:
    """A KubeRay RayJob running Ray Train: its submitter Job pod, head and GPU workers."""

    name: str
    namespace: str
    ray_cluster: str
    run_id: str
    session_name: str
    submitter: Pod
    head: Pod
    workers: tuple[Pod, ...]


@dataclass(frozen=True)
class Replica:
    """One vLLM engine serving `model` from `pod`."""

    model: str
    index: int
    pod: Pod
    deployment: str  # Kubernetes Deployment, or the Ray Serve deployment
    engine: str = "0"
    worker_id: str = ""  # Ray's WorkerId tag (Ray Serve only)
    replica_id: str = ""  # Ray Serve's ReplicaId tag (Ray Serve only)


@dataclass(frozen=True)
class Fleet:
    """Everything the exporters describe; look-ups by name are precomputed."""

    shape: FleetShape
    ray_serve: bool
    nodes: tuple[Node, ...]
    pods: tuple[Pod, ...]
    training: TrainingJob
    replicas: tuple[Replica, ...]
    models: tuple[str, ...]
    serving_cluster: str = ""  # the RayService's RayCluster (Ray Serve only)
    serving_session: str = ""
    _nodes: dict[str, Node] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._nodes.update({n.name: n for n in self.nodes})

    @property
    def gpus(self) -> tuple[Gpu, ...]:
        """Every GPU, node by node."""
        return tuple(g for n in self.nodes for g in n.gpus)

    def node(self, name: str) -> Node:
        """Returns the node called `name`."""
        return self._nodes[name]

    def gpus_of(self, pod: Pod) -> tuple[Gpu, ...]:
        """Returns the GPUs `pod` uses."""
        node = self.node(pod.node)
        return tuple(node.gpus[i] for i in pod.gpus)

    def pods_on(self, node: str) -> tuple[Pod, ...]:
        """Returns the pods scheduled on `node`."""
        return tuple(p for p in self.pods if p.node == node)

    def ray_pods(self) -> tuple[Pod, ...]:
        """Returns the pods that run a Ray node (training cluster, then serving cluster)."""
        training = (self.training.head, *self.training.workers)
        serving = tuple(p for p in self.pods if p.role == "serving-head") + tuple(
            r.pod for r in self.replicas
        )
        return training + (serving if self.ray_serve else ())

    def ray_cluster_of(self, pod: Pod) -> tuple[str, str]:
        """Returns the RayCluster name and Ray session of a Ray pod."""
        if pod.role.startswith("training"):
            return self.training.ray_cluster, self.training.session_name
        return self.serving_cluster, self.serving_session


class _Builder:
    """Allocates GPUs and pod IPs node by node while pods are created."""

    def __init__(self, shape: FleetShape) -> None:
        self.shape = shape
        width = max(2, len(str(shape.nodes - 1)))
        self.node_names = [f"gpu-node-{i:0{width}d}" for i in range(shape.nodes)]
        self.next_gpu = [0] * shape.nodes
        self.next_ip = [2] * shape.nodes
        self.owners: dict[tuple[int, int], Pod] = {}
        self.pods: list[Pod] = []

    def pod(
        self,
        node: int,
        namespace: str,
        name: str,
        container: str,
        role: PodRole,
        created_by: tuple[str, str],
        requests: tuple[float, int],
        gpus: int = 0,
        metrics_port: int = 0,
    ) -> Pod:
        indices = tuple(range(self.next_gpu[node], self.next_gpu[node] + gpus))
        self.next_gpu[node] += gpus
        created_by_kind, created_by_name = created_by
        cpu, memory = requests
        pod = Pod(
            namespace=namespace,
            name=name,
            uid=stable_uuid(f"pod/{namespace}/{name}"),
            node=self.node_names[node],
            ip=pod_ip(node, self.next_ip[node]),
            container=container,
            role=role,
            created_by_kind=created_by_kind,
            created_by_name=created_by_name,
            cpu_request=cpu,
            memory_request=memory,
            gpus=indices,
            metrics_port=metrics_port,
        )
        self.next_ip[node] += 1
        for index in indices:
            self.owners[(node, index)] = pod
        self.pods.append(pod)
        return pod

    def free_gpus(self, node: int) -> int:
        return self.shape.gpus_per_node - self.next_gpu[node]

    def nodes(self) -> tuple[Node, ...]:
        shape = self.shape
        nodes = []
        for i, name in enumerate(self.node_names):
            gpus = []
            for g in range(shape.gpus_per_node):
                owner = self.owners.get((i, g))
                gpus.append(
                    Gpu(
                        node=name,
                        index=g,
                        uuid="GPU-" + stable_uuid(f"gpu/{name}/{g}"),
                        pci_bus_id=pci_bus_id(g),
                        model=shape.gpu_model,
                        framebuffer_mib=shape.gpu_framebuffer_mib,
                        pod=owner.name if owner else "",
                        namespace=owner.namespace if owner else "",
                        container=owner.container if owner else "",
                    )
                )
            nodes.append(
                Node(
                    i,
                    name,
                    host_ip(i),
                    shape.cpus_per_node,
                    shape.memory_bytes_per_node,
                    tuple(gpus),
                )
            )
        return tuple(nodes)


def build_fleet(shape: FleetShape | None = None, ray_serve: bool = False) -> Fleet:
    """Returns the fleet for `shape`; `ray_serve` puts vLLM inside Ray Serve LLM workers."""
    shape = shape or FleetShape()
    b = _Builder(shape)
    training = _training_job(b, shape)
    models = model_names(shape.models)
    serving_cluster = f"{shape.serving_app}-raycluster-{kube_suffix(shape.serving_app)}"
    if ray_serve and shape.models * shape.replicas_per_model:
        b.pod(
            0,
            shape.serving_namespace,
            f"{serving_cluster}-head-{kube_suffix(serving_cluster + '/head')}",
            "ray-head",
            "serving-head",
            ("RayCluster", serving_cluster),
            (4.0, 16 * GIB),
            metrics_port=8080,
        )
    replicas = _replicas(b, shape, models, ray_serve, serving_cluster)
    for i in range(shape.nodes):
        b.pod(
            i,
            "gpu-operator",
            f"nvidia-dcgm-exporter-{kube_suffix(f'dcgm/{i}')}",
            "nvidia-dcgm-exporter",
            "dcgm-exporter",
            ("DaemonSet", "nvidia-dcgm-exporter"),
            (0.1, GIB // 2),
            metrics_port=9400,
        )
    return Fleet(
        shape=shape,
        ray_serve=ray_serve,
        nodes=b.nodes(),
        pods=tuple(b.pods),
        training=training,
        replicas=replicas,
        models=models,
        serving_cluster=serving_cluster if ray_serve else "",
        serving_session=ray_session(serving_cluster) if ray_serve else "",
    )


def _training_job(b: _Builder, shape: FleetShape) -> TrainingJob:
    job, namespace = shape.training_job, shape.training_namespace
    cluster = f"{job}-raycluster-{kube_suffix(job + '/cluster')}"
    submitter = b.pod(
        0,
        namespace,
        f"{job}-{kube_suffix(job + '/submitter')}",
        "ray-job-submitter",
        "training-submitter",
        ("Job", job),
        (0.5, GIB),
    )
    head = b.pod(
        0,
        namespace,
        f"{cluster}-head-{kube_suffix(cluster + '/head')}",
        "ray-head",
        "training-head",
        ("RayCluster", cluster),
        (4.0, 16 * GIB),
        metrics_port=8080,
    )
    workers = []
    if shape.training_gpus_per_node:
        for i in range(shape.nodes):
            workers.append(
                b.pod(
                    i,
                    namespace,
                    f"{cluster}-gpu-group-worker-{kube_suffix(f'{cluster}/worker/{i}')}",
                    "ray-worker",
                    "training-worker",
                    ("RayCluster", cluster),
                    (max(1.0, shape.cpus_per_node * 0.75), shape.memory_bytes_per_node // 2),
                    gpus=shape.training_gpus_per_node,
                    metrics_port=8080,
                )
            )
    return TrainingJob(
        name=job,
        namespace=namespace,
        ray_cluster=cluster,
        run_id=stable_uuid(job + "/run").replace("-", "")[:32],
        session_name=ray_session(cluster),
        submitter=submitter,
        head=head,
        workers=tuple(workers),
    )


def _replicas(
    b: _Builder, shape: FleetShape, models: tuple[str, ...], ray_serve: bool, cluster: str
) -> tuple[Replica, ...]:
    replicas = []
    slot = 0
    for model in models:
        for index in range(shape.replicas_per_model):
            node = _next_node_with_room(b, shape, slot)
            slot = node + 1
            deployment = f"vllm-{slug(model.split('/')[-1])}"
            if ray_serve:
                name = f"{cluster}-gpu-group-worker-{kube_suffix(f'{cluster}/{model}/{index}')}"
                container, creator, port = "ray-worker", ("RayCluster", cluster), 8080
            else:
                replica_set = f"{deployment}-{hex_id(deployment, 10)}"
                name = f"{replica_set}-{kube_suffix(f'{deployment}/{index}')}"
                container, creator, port = "vllm", ("ReplicaSet", replica_set), 8000
            pod = b.pod(
                node,
                shape.serving_namespace,
                name,
                container,
                "serving",
                creator,
                (8.0, 64 * GIB),
                gpus=shape.gpus_per_replica,
                metrics_port=port,
            )
            worker_id = hex_id(f"worker/{name}", 56)
            replica_id = f"{deployment}#{kube_suffix(name + '/replica', 8)}"
            replicas.append(
                Replica(
                    model=model,
                    index=index,
                    pod=pod,
                    deployment=deployment,
                    worker_id=worker_id if ray_serve else "",
                    replica_id=replica_id if ray_serve else "",
                )
            )
    return tuple(replicas)


def _next_node_with_room(b: _Builder, shape: FleetShape, start: int) -> int:
    for offset in range(shape.nodes):
        node = (start + offset) % shape.nodes
        if b.free_gpus(node) >= shape.gpus_per_replica:
            return node
    raise ValueError("no node has room for another vLLM replica; add nodes or GPUs")
