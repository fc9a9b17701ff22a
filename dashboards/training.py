"""GPU Training: is the GPU busy, and if not, is CPU, memory, network or storage holding it back?

Keeps the reference architecture's uid and variables (namespace, job, instance) so existing
links such as /d/ee6mbjghme96oc/gpu-training?var-namespace=default&var-job=ray-train keep working.
"""

from __future__ import annotations

import dataclasses

import grafanalib.core as G

from generator.bottleneck import (
    DISK_DEVICES,
    GPUS,
    JOB_LABEL,
    RECORDED,
    Signals,
    value_mappings,
    verdict_description,
    verdict_query,
)
from generator.job_gpus import (
    AVERAGE,
    FRAMEBUFFER_USED_RATIO,
    HIGHEST,
    HIGHEST_RATE,
    LOWEST,
    TOTAL,
    TOTAL_INCREASE,
    JobGpus,
    PodGpuRecord,
)
from generator.panels import Section, dashboard, query_variable, stat, target, timeseries
from generator.queries import Queries, aggregate, matcher
from generator.settings import Settings

UID = "ee6mbjghme96oc"
# Ray Train pods are named after the job: <job>-<cluster suffix>-head-..., -worker-...
JOB_PODS = "$job-.*"
# node-exporter's instance is <host IP>:<port>; the instance variable holds host IPs.
NODE_INSTANCE = "(${instance:regex}):[0-9]+"
# Virtual interfaces (pod veths, CNI bridges, tunnels) would double-count pod traffic.
VIRTUAL_NICS = "lo|veth.*|cali.*|cilium.*|lxc.*|flannel.*|cni.*|docker.*|vxlan.*|tunl.*|eni.*"
PROFILING_MISSING = (
    "No profiling data: needs a datacenter GPU (Volta or newer) and DCGM's profiling module"
)
CUSTOM_COUNTERS_MISSING = (
    "Not collected: enable this DCGM profiling field in the exporter's counters CSV"
)
FULL_WIDTH = 24
LEAST_BUSY_NODES = 10  # a readable number of lines out of a job's hundred nodes
BUSIEST = 5  # node and pod panels show the busiest few: a job spans a hundred nodes


def busiest(expr: str) -> str:
    """The BUSIEST highest series of `expr` at each point of the range."""
    return f"topk({BUSIEST}, {expr})"


def share_panel(title: str, description: str, query: G.Target, threshold: float) -> G.Panel:
    """A third-width time series of a 0-1 share with an orange line at `threshold`."""
    return timeseries(
        title,
        description,
        "percentunit",
        [query],
        min_value=0,
        max_value=1,
        steps=[("orange", threshold)],
        width=8,
    )


class TrainingPanels:
    """The panels of one job, built from settings. GPU panels read what alerts/training.py
    records per job (Ray cluster) and per pod, never each GPU's raw series: on a 900-GPU job a
    per-GPU panel costs Prometheus seconds and draws lines nobody can tell apart."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.q = Queries(settings)
        self.gpus = JobGpus(self.q, "$namespace", JOB_PODS)
        self.pod_legend = f"{{{{{self.q.dcgm_labels.pod}}}}}"
        self.node = matcher("instance", NODE_INSTANCE)
        self.job_pods = [matcher("namespace", "$namespace", "="), matcher("pod", JOB_PODS)]
        # Containers only: cAdvisor's pod-level aggregate (container="") would count twice.
        self.job_containers = [*self.job_pods, matcher("container", "", "!=")]

    # ---- helpers -----------------------------------------------------------------------

    def job_series(self, record: str) -> str:
        """A per-job recorded series of the job's Ray clusters (KubeRay names a RayJob's
        cluster <job>-<suffix>)."""
        matchers = [
            *self.q.scope_matchers(),
            matcher("namespace", "$namespace", "="),
            matcher(JOB_LABEL, JOB_PODS),
        ]
        return f"{record}{{{', '.join(matchers)}}}"

    def spread(
        self, record: PodGpuRecord, field: str, scale: str = "", label: str = ""
    ) -> list[G.Target]:
        """The job's average and its lowest pod of a per-pod average."""
        return [
            target(self.gpus.job(op, record, field) + scale, f"{label}{legend}")
            for op, legend in (("avg", "job average"), ("min", "lowest node"))
        ]

    def activity_panel(self, title: str, description: str, field: str, no_value: str) -> G.Panel:
        """A 0-1 profiling share: the job's average and its least active node."""
        return timeseries(
            title,
            f"{description} Average of the job's GPUs and of its least active node (pod).",
            "percentunit",
            self.spread(AVERAGE, field),
            min_value=0,
            max_value=1,
            no_value=no_value,
        )

    def job_total(self, record: PodGpuRecord, field: str, legend: str, scale: str = "") -> G.Target:
        """The sum over the job's pods of a per-pod record."""
        return target(self.gpus.job("sum", record, field) + scale, legend)

    def job_pod_rate(self, metric: str) -> str:
        """Per-second rate of a cAdvisor container counter, per pod of the job."""
        return aggregate("sum", self.q.rate(metric, *self.job_containers), ("pod",))

    def node_rate(self, metric: str, *matchers: str) -> str:
        """Per-second rate of a node-exporter counter, per node of the job."""
        return aggregate("sum", self.q.rate(metric, self.node, *matchers), ("instance",))

    def node_reads(self) -> list[tuple[str, str]]:
        """(query, legend) of bytes read per second by each node: local disks, then NFS."""
        disks = self.node_rate("node_disk_read_bytes_total", matcher("device", DISK_DEVICES))
        nfs = self.node_rate("node_mountstats_nfs_total_read_bytes_total")
        return [(disks, "{{instance}} disks"), (nfs, "{{instance}} NFS")]

    # ---- rows --------------------------------------------------------------------------

    def overview(self) -> list[G.Panel]:
        power = self.gpus.job("sum", TOTAL, "DCGM_FI_DEV_POWER_USAGE")
        received = aggregate(
            "sum", self.q.rate("container_network_receive_bytes_total", *self.job_pods)
        )
        # A source label keeps a node's disks and NFS apart in `or`: either may be missing.
        reads = aggregate(
            "sum",
            " or ".join(
                f'label_replace({query}, "source", "{source}", "", "")'
                for (query, _), source in zip(self.node_reads(), ("disks", "nfs"), strict=True)
            ),
        )
        return [
            stat(
                "GPUs in the job",
                "GPUs held by the job's Ray cluster pods (DCGM series with the job's pods), "
                "per Ray cluster as the training rules record it.",
                "none",
                [target(self.job_series(GPUS), "{{ray_cluster}}")],
                width=4,
            ),
            stat(
                "Average GPU activity",
                "Graphics-engine activity averaged over the job's GPUs (utilisation / 100 "
                "where profiling is off). Below the busy ratio the GPUs wait on something.",
                "percentunit",
                [target(self.job_series(RECORDED.gpu_activity), "{{ray_cluster}}")],
                width=4,
                decimals=0,
            ),
            stat(
                "Tensor-pipe activity",
                "Share of cycles the tensor cores work, averaged over the job's GPUs: the "
                "closest DCGM gets to model FLOPs throughput.",
                "percentunit",
                [target(self.gpus.job("avg", AVERAGE, "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE"))],
                width=4,
                decimals=0,
                no_value=PROFILING_MISSING,
            ),
            stat(
                "GPU power draw",
                "Total power of the job's GPUs: it follows the work done more closely than "
                "utilisation does.",
                "watt",
                [target(power)],
                width=4,
            ),
            stat(
                "Data read",
                "Bytes per second the job's nodes read from local disks and NFS mounts.",
                "Bps",
                [target(reads)],
                width=4,
            ),
            stat(
                "Network received by the job",
                "Bytes per second received by the job's pods (cAdvisor): gradients, "
                "parameters and remote data.",
                "Bps",
                [target(received)],
                width=4,
            ),
            timeseries(
                "GPU utilisation of the job",
                "Average, lowest and highest GPU utilisation across every GPU of the job: a "
                "wide gap means some ranks wait for others (stragglers, uneven data shards).",
                "percent",
                [
                    target(self.gpus.job("avg", AVERAGE, "DCGM_FI_DEV_GPU_UTIL"), "average"),
                    target(self.gpus.job("min", LOWEST, "DCGM_FI_DEV_GPU_UTIL"), "lowest GPU"),
                    target(self.gpus.job("max", HIGHEST, "DCGM_FI_DEV_GPU_UTIL"), "highest GPU"),
                ],
                min_value=0,
                max_value=100,
                width=FULL_WIDTH,
            ),
        ]

    def compute(self) -> list[G.Panel]:
        least_busy = self.gpus.per_pod(LOWEST, "DCGM_FI_DEV_GPU_UTIL")
        return [
            timeseries(
                "GPU utilisation, least busy nodes",
                "Share of time at least one kernel ran (DCGM_FI_DEV_GPU_UTIL, on every GPU): "
                f"the least busy GPU of each of the {LEAST_BUSY_NODES} nodes (pods) of the job "
                "whose least busy GPU is lowest, at each point. A node far below the others "
                "holds the job back; low everywhere means the GPUs wait for data or the CPU.",
                "percent",
                [target(f"bottomk({LEAST_BUSY_NODES}, {least_busy})", self.pod_legend)],
                min_value=0,
                max_value=100,
            ),
            self.activity_panel(
                "Graphics engine active",
                "Share of time the graphics/compute engine is busy (DCGM profiling, 0-1). "
                "Empty on consumer GPUs or without the profiling module.",
                "DCGM_FI_PROF_GR_ENGINE_ACTIVE",
                PROFILING_MISSING,
            ),
            self.activity_panel(
                "SM active",
                "Share of cycles at least one warp is resident on a streaming multiprocessor. "
                "Not in the exporter's stock counters: needs a custom CSV.",
                "DCGM_FI_PROF_SM_ACTIVE",
                CUSTOM_COUNTERS_MISSING,
            ),
            self.activity_panel(
                "SM occupancy",
                "Resident warps as a share of the SM's maximum: low occupancy with high SM "
                "activity points at small kernels or register pressure. Needs a custom CSV.",
                "DCGM_FI_PROF_SM_OCCUPANCY",
                CUSTOM_COUNTERS_MISSING,
            ),
            self.activity_panel(
                "Tensor pipe active",
                "Share of cycles the tensor (matrix) pipe works: mixed-precision training "
                "should keep it well above zero.",
                "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE",
                PROFILING_MISSING,
            ),
            self.activity_panel(
                "DRAM active",
                "Share of cycles the device memory interface is busy: near 1 the kernels are "
                "memory-bandwidth bound.",
                "DCGM_FI_PROF_DRAM_ACTIVE",
                PROFILING_MISSING,
            ),
            timeseries(
                "Clocks",
                "SM clock averaged over the job's GPUs and over its slowest node (pod), and "
                "the average memory clock. An SM clock below its usual value while busy means "
                "power or thermal throttling (see GPU health).",
                "hertz",
                [
                    *self.spread(AVERAGE, "DCGM_FI_DEV_SM_CLOCK", " * 1000000", "SM "),
                    target(
                        self.gpus.job("avg", AVERAGE, "DCGM_FI_DEV_MEM_CLOCK") + " * 1000000",
                        "memory job average",
                    ),
                ],
                min_value=0,
                width=FULL_WIDTH,
            ),
        ]

    def memory(self) -> list[G.Panel]:
        used = self.gpus.job("sum", TOTAL, "DCGM_FI_DEV_FB_USED")
        free = self.gpus.job("sum", TOTAL, "DCGM_FI_DEV_FB_FREE")
        return [
            timeseries(
                "GPU memory used and free",
                "Framebuffer memory in use and still free over all GPUs of the job, stacked "
                "to the usable total (DCGM reports MiB; shown in bytes).",
                "bytes",
                [
                    target(f"{total} * 1048576", state)
                    for total, state in ((used, "used"), (free, "free"))
                ],
                min_value=0,
                stacked=True,
            ),
            timeseries(
                "GPU memory used (share of framebuffer)",
                "Used / (used + free) framebuffer of the job's fullest GPU and of all its GPUs "
                "together. The line marks the alert threshold: near it, the next larger batch "
                "or longer sequence runs out of memory.",
                "percentunit",
                [
                    target(self.gpus.job("max", HIGHEST, FRAMEBUFFER_USED_RATIO), "fullest GPU"),
                    target(f"{used} / ({used} + {free})", "job"),
                ],
                min_value=0,
                max_value=1,
                steps=[("red", self.settings.thresholds.gpu_framebuffer_used_ratio)],
            ),
        ]

    def input_pipeline(self) -> list[G.Panel]:
        limits = self.settings.thresholds
        signals = Signals(
            *(self.job_series(getattr(RECORDED, f.name)) for f in dataclasses.fields(Signals))
        )
        # From the recorded inputs, as the recorded verdict is: cheap, and it needs no rule
        # reading another rule's output (which promtool cannot backfill).
        verdict = verdict_query(signals, limits, self.q.by("namespace", JOB_LABEL))
        idle = self.q.rate("node_cpu_seconds_total", self.node, matcher("mode", "idle", "="))
        verdict_panel = stat(
            "Input-pipeline verdict",
            verdict_description(limits),
            "none",
            [target(verdict, "{{ray_cluster}}")],
            width=6,
            height=8,
            no_value="No GPUs of this job in DCGM",
        )
        verdict_panel.mappings = value_mappings()  # the code reads as the verdict's name
        return [
            verdict_panel,
            timeseries(
                "Verdict inputs",
                "The four signals the verdict reads, on one axis: GPU activity of the job, "
                "the busiest storage of its nodes (disk busy or I/O pressure), the busiest "
                "node's CPU and the most CFS-throttled pod. Lines mark the busy thresholds.",
                "percentunit",
                [
                    target(signals.gpu_activity, "GPU activity"),
                    target(signals.storage_busy, "storage busy"),
                    target(signals.node_cpu_busy, "node CPU busy"),
                    target(signals.cpu_throttled, "CPU throttled"),
                ],
                min_value=0,
                max_value=1,
                steps=[("orange", limits.cpu_busy_ratio)],
                width=18,
                height=8,
            ),
            share_panel(
                "Node CPU utilisation",
                f"Busy share of all CPU cores of the {BUSIEST} busiest nodes the job runs on. "
                "High CPU with low GPU activity points at data loading or preprocessing as the "
                "bottleneck.",
                target(busiest(f"(1 - {aggregate('avg', idle, ('instance',))})"), "{{instance}}"),
                limits.cpu_busy_ratio,
            ),
            timeseries(
                "Pod CPU usage",
                f"CPU cores used by the {BUSIEST} busiest pods of the job (cAdvisor): "
                "data-loader workers, tokenisation and augmentation run here.",
                "short",
                [
                    target(
                        busiest(self.job_pod_rate("container_cpu_usage_seconds_total")),
                        "{{pod}}",
                    )
                ],
                min_value=0,
                width=8,
            ),
            share_panel(
                "Pod CPU throttling",
                f"Share of CFS periods that hit the CPU limit, for the {BUSIEST} most throttled "
                "pods of the job: throttled data-loader workers starve the GPUs even on nodes "
                "with idle CPUs.",
                target(
                    busiest(
                        f"({self.job_pod_rate('container_cpu_cfs_throttled_periods_total')} / "
                        f"{self.job_pod_rate('container_cpu_cfs_periods_total')})"
                    ),
                    "{{pod}}",
                ),
                limits.cpu_throttled_ratio,
            ),
            timeseries(
                "Storage read throughput",
                f"Bytes per second read from physical disks and from NFS mounts "
                f"(node-exporter mountstats) by the {BUSIEST} most reading nodes of the job, "
                "each. Flat at the device's limit while GPUs wait means storage is the "
                "bottleneck; Lustre clients need their own exporter.",
                "Bps",
                [target(busiest(query), legend) for query, legend in self.node_reads()],
                min_value=0,
                width=FULL_WIDTH,
            ),
            timeseries(
                "Network received",
                f"Bytes per second received on physical interfaces by the {BUSIEST} most "
                f"receiving nodes, and by the {BUSIEST} most receiving pods of the job; RDMA/EFA "
                "traffic bypasses the kernel and is not counted.",
                "Bps",
                [
                    target(
                        busiest(
                            self.node_rate(
                                "node_network_receive_bytes_total",
                                matcher("device", VIRTUAL_NICS, "!~"),
                            )
                        ),
                        "{{instance}}",
                    ),
                    target(
                        busiest(
                            aggregate(
                                "sum",
                                # Network series exist at pod level only (container="").
                                self.q.rate(
                                    "container_network_receive_bytes_total", *self.job_pods
                                ),
                                ("pod",),
                            )
                        ),
                        "{{pod}}",
                    ),
                ],
                min_value=0,
                width=FULL_WIDTH,
            ),
        ]

    def communication(self) -> list[G.Panel]:
        def directions(prefix: str) -> list[G.Target]:
            return [
                self.job_total(TOTAL, f"{prefix}_{way}_BYTES", f"job {way}") for way in ("TX", "RX")
            ]

        return [
            timeseries(
                "NVLink throughput",
                "Bytes per second all GPUs of the job send and receive over NVLink (DCGM "
                "profiling, not in the stock counters): all-reduce traffic between GPUs of a "
                "node.",
                "Bps",
                directions("DCGM_FI_PROF_NVLINK"),
                min_value=0,
                no_value=CUSTOM_COUNTERS_MISSING,
            ),
            timeseries(
                "PCIe throughput",
                "Bytes per second all GPUs of the job move over PCIe: host-to-device copies of "
                "input batches (RX) and results (TX).",
                "Bps",
                directions("DCGM_FI_PROF_PCIE"),
                min_value=0,
                no_value=PROFILING_MISSING,
            ),
        ]

    def health(self) -> list[G.Panel]:
        limits = self.settings.thresholds
        hottest = self.gpus.per_pod(HIGHEST, "DCGM_FI_DEV_GPU_TEMP")
        return [
            timeseries(
                "GPU temperature",
                f"Core temperature of the hottest GPU on each of the {BUSIEST} hottest "
                "nodes (pods) of the job; lines at the warning and critical thresholds of the "
                "GPU health alerts.",
                "celsius",
                [target(f"topk({BUSIEST}, {hottest})", self.pod_legend)],
                min_value=0,
                steps=(
                    ("orange", limits.gpu_temperature_warning_celsius),
                    ("red", limits.gpu_temperature_critical_celsius),
                ),
            ),
            timeseries(
                "Power against the limit",
                "Power draw of all GPUs of the job and the sum of their power management "
                "limits: drawing near the limit while busy means clocks are capped by power.",
                "watt",
                [
                    self.job_total(TOTAL, "DCGM_FI_DEV_POWER_USAGE", "job draw"),
                    self.job_total(TOTAL, "DCGM_FI_DEV_POWER_MGMT_LIMIT", "job limit"),
                ],
                min_value=0,
            ),
            timeseries(
                "Throttled time by reason",
                "Share of time the clocks of the job's most throttled GPU were held down by its "
                "power cap or by temperature (DCGM violation counters, nanoseconds per second "
                "over 5 minutes).",
                "percentunit",
                [
                    target(
                        self.gpus.job("max", HIGHEST_RATE, f"DCGM_FI_DEV_{reason}_VIOLATION")
                        + " / 1e9",
                        f"worst GPU {reason.lower()}",
                    )
                    for reason in ("POWER", "THERMAL")
                ],
                min_value=0,
                max_value=1,
                no_value=CUSTOM_COUNTERS_MISSING,
            ),
            stat(
                "Last XID error",
                "Highest last XID the driver reported on any GPU of the job (0: none); the GPU "
                "Fleet dashboard names the node. 48, 63, 64, 74, 79, 92, 94, 95 point at the "
                "hardware; 13, 31, 43 at the application.",
                "none",
                [target(self.gpus.job("max", HIGHEST, "DCGM_FI_DEV_XID_ERRORS"))],
                width=12,
                height=8,
            ),
            timeseries(
                "ECC errors",
                "Volatile ECC errors of all GPUs of the job over 5 minutes: single-bit ones are "
                "corrected, any double-bit error needs the GPU drained (the GPU Fleet dashboard "
                "names it).",
                "short",
                [
                    self.job_total(TOTAL_INCREASE, f"DCGM_FI_DEV_ECC_{kind}_VOL_TOTAL", label)
                    for kind, label in (("SBE", "single-bit"), ("DBE", "double-bit"))
                ],
                min_value=0,
                no_value=CUSTOM_COUNTERS_MISSING,
                width=FULL_WIDTH,
            ),
        ]

    def ray(self) -> list[G.Panel]:
        def ray_series(op: str, metric: str, by: str = "pod") -> str:
            """A Ray agent metric of the job's Ray pods, aggregated by `by`."""
            return aggregate(op, self.q.selector(metric, *self.job_pods), (by,))

        memory = busiest(
            f"{ray_series('max', 'ray_node_mem_used')} / {ray_series('max', 'ray_node_mem_total')}"
        )
        return [
            timeseries(
                "Ray node CPU",
                f"CPU utilisation Ray's agent reports for the {BUSIEST} busiest nodes (pods) of "
                "the job's Ray cluster.",
                "percent",
                [target(busiest(ray_series("max", "ray_node_cpu_utilization")), "{{pod}}")],
                min_value=0,
                max_value=100,
                width=8,
            ),
            timeseries(
                "Ray node memory",
                f"Memory used against the total of the {BUSIEST} fullest Ray nodes (pods) of "
                "the job.",
                "percentunit",
                [target(memory, "{{pod}}")],
                min_value=0,
                max_value=1,
                width=8,
            ),
            timeseries(
                "Ray object store",
                "Object store memory of the job's Ray cluster by where objects live: shared "
                "memory, spilled to disk, or worker heap. Spilling slows data loading.",
                "bytes",
                [target(ray_series("sum", "ray_object_store_memory", "Location"), "{{Location}}")],
                min_value=0,
                stacked=True,
                width=8,
            ),
        ]

    def nodes(self) -> list[G.Panel]:
        available = self.q.selector("node_memory_MemAvailable_bytes", self.node)
        total = self.q.selector("node_memory_MemTotal_bytes", self.node)
        return [
            timeseries(
                "Node memory used",
                f"Share of memory in use (total minus available, page cache excluded) on the "
                f"{BUSIEST} fullest nodes of the job.",
                "percentunit",
                [
                    target(
                        busiest(
                            f"(1 - {aggregate('sum', available, ('instance',))} / "
                            f"{aggregate('sum', total, ('instance',))})"
                        ),
                        "{{instance}}",
                    ),
                ],
                min_value=0,
                max_value=1,
            ),
            timeseries(
                "Storage write throughput",
                f"Bytes per second written to local disks by the {BUSIEST} most writing nodes "
                "of the job: checkpoints and logs.",
                "Bps",
                [
                    target(
                        busiest(
                            self.node_rate(
                                "node_disk_written_bytes_total", matcher("device", DISK_DEVICES)
                            )
                        ),
                        "{{instance}}",
                    )
                ],
                min_value=0,
            ),
        ]


def build(settings: Settings) -> G.Dashboard:
    panels = TrainingPanels(settings)
    q = panels.q
    namespace = matcher("namespace", "$namespace", "=")
    variables = [
        query_variable(
            "namespace",
            "Namespace",
            q.label_values("namespace", "kube_pod_info"),
            default="default",
        ),
        query_variable("job", "Job", q.label_values("job_name", "kube_job_owner", namespace)),
        query_variable(
            "instance",
            "Instance",
            q.label_values("host_ip", "kube_pod_info", namespace, matcher("pod", JOB_PODS)),
            multi=True,
            include_all=True,
        ),
    ]
    return dashboard(
        settings,
        uid=UID,
        title="GPU Training",
        description="Ray Train jobs on Kubernetes: how busy the GPUs are and, when they wait, "
        "whether storage, CPU or something else holds them back; GPU health and Ray beside.",
        variables=variables,
        sections=[
            Section("Overview", panels.overview()),
            Section("Input-pipeline bottleneck", panels.input_pipeline()),
            Section("GPU compute", panels.compute(), collapsed=True),
            Section("GPU memory", panels.memory(), collapsed=True),
            Section("Communication: NVLink and PCIe", panels.communication(), collapsed=True),
            Section("GPU health", panels.health(), collapsed=True),
            Section("Ray", panels.ray(), collapsed=True),
            Section("Nodes: memory and writes", panels.nodes(), collapsed=True),
        ],
        tags=["training"],
    )
