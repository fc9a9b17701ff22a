"""GPU Training: is the GPU busy, and if not, is CPU, memory, network or storage holding it back?

Keeps the reference architecture's uid and variables (namespace, job, instance) so existing
links such as /d/ee6mbjghme96oc/gpu-training?var-namespace=default&var-job=ray-train keep working.
"""

from __future__ import annotations

import grafanalib.core as G

from generator.panels import Section, dashboard, query_variable, target, timeseries
from generator.queries import Queries, aggregate, matcher
from generator.settings import Settings

UID = "ee6mbjghme96oc"
# Ray Train pods are named after the job: <job>-<cluster suffix>-head-..., -worker-...
JOB_PODS = "$job-.*"
# node-exporter's instance is <host IP>:<port>; the instance variable holds host IPs.
NODE_INSTANCE = "(${instance:regex}):[0-9]+"
# Physical block devices only: partitions and device-mapper stacks would count bytes twice.
DISK_DEVICES = "(/dev/)?(nvme[0-9]+n[0-9]+|sd[a-z]+|vd[a-z]+|xvd[a-z]+|md[0-9]+)"
# Virtual interfaces (pod veths, CNI bridges, tunnels) would double-count pod traffic.
VIRTUAL_NICS = "lo|veth.*|cali.*|cilium.*|lxc.*|flannel.*|cni.*|docker.*|vxlan.*|tunl.*|eni.*"


def gpu_panels(q: Queries, settings: Settings) -> list[G.Panel]:
    gpu = q.dcgm_labels
    job_gpus = q.dcgm_workload("$namespace", JOB_PODS)
    per_gpu = (gpu.pod, "Hostname", "gpu")
    framebuffer_used = aggregate("sum", q.selector("DCGM_FI_DEV_FB_USED", *job_gpus), per_gpu)
    framebuffer_free = aggregate("sum", q.selector("DCGM_FI_DEV_FB_FREE", *job_gpus), per_gpu)
    return [
        timeseries(
            "GPU utilisation by pod and GPU",
            "Share of time at least one kernel ran on each GPU of the job (DCGM_FI_DEV_GPU_UTIL). "
            "Low values while the job runs mean the GPU waits for data or for the CPU.",
            "percent",
            [
                target(
                    aggregate("avg", q.selector("DCGM_FI_DEV_GPU_UTIL", *job_gpus), per_gpu),
                    f"{{{{{gpu.pod}}}}} GPU {{{{gpu}}}}",
                )
            ],
            min_value=0,
            max_value=100,
        ),
        timeseries(
            "GPU utilisation of the job",
            "Average, lowest and highest GPU utilisation across every GPU of the job: a wide "
            "gap means some ranks wait for others (stragglers, uneven data shards).",
            "percent",
            [
                target(aggregate(op, q.selector("DCGM_FI_DEV_GPU_UTIL", *job_gpus)), legend)
                for op, legend in (
                    ("avg", "average"),
                    ("min", "lowest GPU"),
                    ("max", "highest GPU"),
                )
            ],
            min_value=0,
            max_value=100,
        ),
        timeseries(
            "GPU memory used",
            "Framebuffer memory in use on each GPU of the job (DCGM reports MiB; shown in bytes).",
            "bytes",
            [target(f"{framebuffer_used} * 1048576", f"{{{{{gpu.pod}}}}} GPU {{{{gpu}}}}")],
            min_value=0,
        ),
        timeseries(
            "GPU memory used (share of framebuffer)",
            "Used / (used + free) framebuffer per GPU. The line marks the alert threshold: near "
            "it, the next larger batch or longer sequence runs out of memory.",
            "percentunit",
            [
                target(
                    f"{framebuffer_used} / ({framebuffer_used} + {framebuffer_free})",
                    f"{{{{{gpu.pod}}}}} GPU {{{{gpu}}}}",
                )
            ],
            min_value=0,
            max_value=1,
            steps=[("red", settings.thresholds.gpu_framebuffer_used_ratio)],
        ),
    ]


def node_panels(q: Queries, settings: Settings) -> list[G.Panel]:
    node = matcher("instance", NODE_INSTANCE)
    job_containers = [
        matcher("namespace", "$namespace", "="),
        matcher("pod", JOB_PODS),
        matcher("container", "", "!="),
    ]
    idle = q.rate("node_cpu_seconds_total", node, matcher("mode", "idle", "="))
    available = q.selector("node_memory_MemAvailable_bytes", node)
    total = q.selector("node_memory_MemTotal_bytes", node)
    return [
        timeseries(
            "Node CPU utilisation",
            "Busy share of all CPU cores of each node the job runs on. High CPU with low GPU "
            "utilisation points at data loading or preprocessing as the bottleneck.",
            "percentunit",
            [target(f"1 - {aggregate('avg', idle, ('instance',))}", "{{instance}}")],
            min_value=0,
            max_value=1,
            steps=[("orange", settings.thresholds.cpu_busy_ratio)],
        ),
        timeseries(
            "Pod CPU usage",
            "CPU cores used by each container of the job (cAdvisor), e.g. data-loader workers.",
            "short",
            [
                target(
                    aggregate(
                        "sum",
                        q.rate("container_cpu_usage_seconds_total", *job_containers),
                        ("pod",),
                    ),
                    "{{pod}}",
                )
            ],
            min_value=0,
        ),
        timeseries(
            "Node memory used",
            "Memory in use on each node (total minus available), page cache excluded.",
            "bytes",
            [
                target(
                    f"{aggregate('sum', total, ('instance',))} - "
                    f"{aggregate('sum', available, ('instance',))}",
                    "{{instance}} used",
                ),
                target(aggregate("sum", total, ("instance",)), "{{instance}} total"),
            ],
            min_value=0,
        ),
        timeseries(
            "Node network throughput",
            "Bytes per second received (positive) and sent by each node on physical "
            "interfaces; RDMA/EFA traffic bypasses the kernel and is not counted here.",
            "Bps",
            [
                target(
                    aggregate(
                        "sum",
                        q.rate(
                            f"node_network_{direction}_bytes_total",
                            node,
                            matcher("device", VIRTUAL_NICS, "!~"),
                        ),
                        ("instance",),
                    ),
                    f"{{{{instance}}}} {label}",
                )
                for direction, label in (("receive", "received"), ("transmit", "sent"))
            ],
            min_value=0,
        ),
        timeseries(
            "Storage read throughput",
            "Bytes per second read from local disks of each node: dataset and checkpoint "
            "loading. Flat at the device's limit while GPUs idle means storage is the bottleneck.",
            "Bps",
            [
                target(
                    aggregate(
                        "sum",
                        q.rate("node_disk_read_bytes_total", node, matcher("device", DISK_DEVICES)),
                        ("instance", "device"),
                    ),
                    "{{instance}} {{device}}",
                )
            ],
            min_value=0,
        ),
        timeseries(
            "Storage write throughput",
            "Bytes per second written to local disks of each node: checkpoints and logs.",
            "Bps",
            [
                target(
                    aggregate(
                        "sum",
                        q.rate(
                            "node_disk_written_bytes_total", node, matcher("device", DISK_DEVICES)
                        ),
                        ("instance", "device"),
                    ),
                    "{{instance}} {{device}}",
                )
            ],
            min_value=0,
        ),
    ]


def build(settings: Settings) -> G.Dashboard:
    q = Queries(settings)
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
        description="Ray Train jobs on Kubernetes: GPU utilisation and memory from DCGM next to "
        "the CPU, memory, network and storage of the nodes that feed them.",
        variables=variables,
        sections=[
            Section("GPU", gpu_panels(q, settings)),
            Section("Nodes: CPU, memory, network, storage", node_panels(q, settings)),
        ],
        tags=["training"],
    )
