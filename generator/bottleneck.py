"""The input-pipeline verdict of a training job: is it idle, compute-bound, starved of data or
held back by its CPUs? One builder serves the dashboard (Grafana variables, $__rate_interval)
and the alerts (Queries.for_rules(), recorded signals), so both always judge alike.

A job is a KubeRay RayCluster: its pods are those kube-state-metrics lists with owner_kind
RayCluster, and a verdict is keyed by `namespace` and `ray_cluster`. Four signals per job:

- GPU activity: DCGM_FI_PROF_GR_ENGINE_ACTIVE (0-1), or DCGM_FI_DEV_GPU_UTIL / 100 on GPUs
  without profiling, averaged over the job's GPUs;
- storage busy: on the job's busiest node, the larger of the busiest physical disk's busy share
  and the I/O pressure share (PSI: time tasks wait for I/O, NFS and Lustre reads included);
- node CPU busy: the busiest node's non-idle CPU share;
- CPU throttled: the most throttled pod's share of CFS periods that hit the CPU limit.
"""

from __future__ import annotations

from dataclasses import dataclass

from generator.queries import Queries, aggregate, matcher
from generator.settings import Thresholds

# Physical block devices only: partitions and device-mapper stacks would count bytes twice.
DISK_DEVICES = "(/dev/)?(nvme[0-9]+n[0-9]+|sd[a-z]+|vd[a-z]+|xvd[a-z]+|md[0-9]+)"
JOB_LABEL = "ray_cluster"


@dataclass(frozen=True)
class Verdict:
    """One outcome of the classification: the number the query returns, its text and colour."""

    code: int
    name: str
    color: str
    meaning: str


IDLE = Verdict(0, "idle", "blue", "GPU activity below the idle ratio")
DATA_STARVED = Verdict(1, "data-starved", "red", "GPUs wait while storage is saturated")
CPU_BOUND = Verdict(2, "cpu-bound", "orange", "GPUs wait while CPUs are saturated or throttled")
PARTLY_BUSY = Verdict(3, "partly-busy", "yellow", "GPUs wait but no input resource is saturated")
COMPUTE_BOUND = Verdict(4, "compute-bound", "green", "GPU activity at or above the busy ratio")
VERDICTS = (IDLE, DATA_STARVED, CPU_BOUND, PARTLY_BUSY, COMPUTE_BOUND)


@dataclass(frozen=True)
class Signals:
    """PromQL of the four per-job inputs of the verdict (inline queries or recorded names)."""

    gpu_activity: str
    storage_busy: str
    node_cpu_busy: str
    cpu_throttled: str


# What alerts/training.py records per job; the GPU Training dashboard reads these too.
RECORDED = Signals(
    gpu_activity="namespace_ray_cluster:gpu_activity:avg",
    storage_busy="namespace_ray_cluster:node_storage_busy:max",
    node_cpu_busy="namespace_ray_cluster:node_cpu_busy:max",
    cpu_throttled="namespace_ray_cluster:container_cpu_cfs_throttled:max",
)
VERDICT = "namespace_ray_cluster:input_bottleneck:verdict"
GPUS = "namespace_ray_cluster:gpus:count"


def verdict_description(limits: Thresholds) -> str:
    """The rules of the verdict in words, with the thresholds in force."""
    return (
        f"Verdict per Ray cluster of the job, first match wins: idle when GPU activity is "
        f"below {limits.gpu_idle_ratio:.0%}; compute-bound at or above "
        f"{limits.gpu_busy_ratio:.0%}; in between, data-starved when the busiest disk or the "
        f"I/O pressure (PSI, covers NFS and Lustre) of a job node is at or above "
        f"{limits.storage_busy_ratio:.0%}; else cpu-bound when a job node's CPUs are "
        f"{limits.cpu_busy_ratio:.0%} busy or a pod has {limits.cpu_throttled_ratio:.0%} of "
        f"its CFS periods throttled; else partly-busy (GPUs wait on something else: "
        f"communication, stragglers, small batches)."
    )


@dataclass(frozen=True)
class JobBottleneck:
    """Builders of the per-job signals; `namespace` and `pods` are regexes of the job's pods
    (Grafana variables on dashboards, empty in rules: every Ray cluster)."""

    q: Queries
    namespace: str = ""
    pods: str = ""

    @property
    def job_labels(self) -> tuple[str, ...]:
        """The labels a verdict is keyed by."""
        return self.q.by("namespace", JOB_LABEL)

    def signals(self) -> Signals:
        """The four inputs as inline queries."""
        return Signals(
            gpu_activity=self.gpu_activity(),
            storage_busy=self._per_job_node(self._storage_busy_by_host()),
            node_cpu_busy=self._per_job_node(self._node_cpu_busy_by_host()),
            cpu_throttled=self._per_job_pod("max", self._cpu_throttled_by_pod()),
        )

    def gpu_activity(self) -> str:
        """Average GPU activity (0-1) over the job's GPUs."""
        return self._per_job_pod("avg", self._gpu_activity_by_gpu())

    def gpu_count(self) -> str:
        """Number of GPUs the job's pods hold."""
        return self._per_job_pod("count", self._gpu_activity_by_gpu())

    def pods_running(self) -> str:
        """1 for each job with at least one pod in phase Running."""
        running = self.q.selector(
            "kube_pod_status_phase", matcher("phase", "Running", "="), *self._pod_matchers()
        )
        return f"{self._per_job_pod('max', running)} == 1"

    def serving_clusters(self) -> str:
        """1 for each Ray cluster that runs Ray Serve replicas (e.g. vLLM behind Ray Serve
        LLM): its GPUs idle whenever traffic does, which is no stalled training job."""
        replicas = self.q.selector("ray_serve_replica_processing_queries")
        named = f'label_replace({replicas}, "{JOB_LABEL}", "$1", "ray_io_cluster", "(.+)")'
        return aggregate("max", f"{named} * 0 + 1", self.job_labels)

    # ---- pods, GPUs and nodes of a job -------------------------------------------------

    def _pod_matchers(self, namespace: str = "namespace", pod: str = "pod") -> list[str]:
        found = []
        if self.namespace:
            found.append(matcher(namespace, self.namespace))
        if self.pods:
            found.append(matcher(pod, self.pods))
        return found

    def _job_pods(self) -> str:
        """One series (value 1) per pod of a Ray cluster: namespace, pod, ray_cluster."""
        owners = self.q.selector(
            "kube_pod_owner", matcher("owner_kind", "RayCluster", "="), *self._pod_matchers()
        )
        named = f'label_replace({owners}, "{JOB_LABEL}", "$1", "owner_name", "(.+)")'
        return aggregate("max", named, self.q.by("namespace", "pod", JOB_LABEL))

    def _per_job_pod(self, op: str, by_pod: str) -> str:
        """Aggregates series carrying namespace and pod over each job's pods."""
        on = ", ".join(self.q.by("namespace", "pod"))
        joined = f"{by_pod} * on ({on}) group_left ({JOB_LABEL}) {self._job_pods()}"
        return aggregate(op, joined, self.job_labels)

    def _job_hosts(self) -> str:
        """One series (value 1) per job and node IP its pods run on."""
        pods = self.q.selector("kube_pod_info", *self._pod_matchers())
        on = ", ".join(self.q.by("namespace", "pod"))
        joined = f"{pods} * on ({on}) group_left ({JOB_LABEL}) {self._job_pods()}"
        return aggregate("max", joined, (*self.job_labels, "host_ip"))

    def _per_job_node(self, by_host: str) -> str:
        """The highest value of a per-node signal over each job's nodes."""
        on = ", ".join(self.q.by("host_ip"))
        return aggregate(
            "max", f"{self._job_hosts()} * on ({on}) group_left () {by_host}", self.job_labels
        )

    # ---- signals before the job join --------------------------------------------------

    def _gpu_activity_by_gpu(self) -> str:
        """Per GPU: profiling activity, else utilisation / 100; pod labels named namespace/pod."""
        gpu = self.q.dcgm_labels
        scope = self._pod_matchers(gpu.namespace, gpu.pod)
        active = self.q.selector("DCGM_FI_PROF_GR_ENGINE_ACTIVE", *scope)
        utilisation = self.q.selector("DCGM_FI_DEV_GPU_UTIL", *scope)
        expr = f"({active} or {utilisation} / 100)"
        # Other styles keep the exporter's own pod in namespace/pod: the workload's replaces it.
        for target, source in (("namespace", gpu.namespace), ("pod", gpu.pod)):
            if source != target:
                expr = f'label_replace({expr}, "{target}", "$1", "{source}", "(.+)")'
        return expr

    def _by_host_ip(self, by_instance: str) -> str:
        """node-exporter's instance is <host IP>:<port>; kube_pod_info names the host IP."""
        return f'label_replace({by_instance}, "host_ip", "$1", "instance", "(.+):[0-9]+")'

    def _node_cpu_busy_by_host(self) -> str:
        idle = self.q.rate("node_cpu_seconds_total", matcher("mode", "idle", "="))
        return self._by_host_ip(f"(1 - {aggregate('avg', idle, self.q.by('instance'))})")

    def _storage_busy_by_host(self) -> str:
        disks = self.q.rate("node_disk_io_time_seconds_total", matcher("device", DISK_DEVICES))
        pressure = self.q.rate("node_pressure_io_waiting_seconds_total")
        return self._by_host_ip(aggregate("max", f"{disks} or {pressure}", self.q.by("instance")))

    def _cpu_throttled_by_pod(self) -> str:
        scope = [matcher("container", "", "!="), *self._pod_matchers()]
        by = self.q.by("namespace", "pod")
        throttled = aggregate(
            "sum", self.q.rate("container_cpu_cfs_throttled_periods_total", *scope), by
        )
        periods = aggregate("sum", self.q.rate("container_cpu_cfs_periods_total", *scope), by)
        return f"({throttled} / {periods})"


def verdict_query(signals: Signals, limits: Thresholds, job_labels: tuple[str, ...]) -> str:
    """The verdict code per job (see VERDICTS): each `or` adds only jobs not yet decided."""
    on = f"on ({', '.join(job_labels)})"
    gpu = signals.gpu_activity

    def waiting(condition: str, verdict: Verdict) -> str:
        return f"(({condition}) and {on} {gpu}) * 0 + {verdict.code}"

    branches = [
        f"({gpu} < {limits.gpu_idle_ratio:g}) * 0 + {IDLE.code}",
        f"({gpu} >= {limits.gpu_busy_ratio:g}) * 0 + {COMPUTE_BOUND.code}",
        waiting(f"{signals.storage_busy} >= {limits.storage_busy_ratio:g}", DATA_STARVED),
        waiting(f"{signals.node_cpu_busy} >= {limits.cpu_busy_ratio:g}", CPU_BOUND),
        waiting(f"{signals.cpu_throttled} >= {limits.cpu_throttled_ratio:g}", CPU_BOUND),
        f"{gpu} * 0 + {PARTLY_BUSY.code}",
    ]
    return "\n  or\n".join(branches)


def value_mappings() -> list[dict[str, object]]:
    """Grafana value mappings from verdict codes to their names and colours."""
    options = {
        str(v.code): {"text": v.name, "color": v.color, "index": i} for i, v in enumerate(VERDICTS)
    }
    return [{"type": "value", "options": options}]
