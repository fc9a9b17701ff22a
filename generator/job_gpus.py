"""DCGM fields aggregated per pod (the GPUs one pod holds), recorded by alerts/training.py and
read by the GPU Training dashboard: a 900-GPU job then costs a refresh ~110 recorded series
per field instead of every GPU's raw series.

Each record holds several fields apart by a `field` label (the DCGM metric name, or a derived
signal's name) and is keyed by DCGM's workload labels (namespace and pod, named as the
exporter's pod-label style names them) and `Hostname`, the node.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from generator.queries import Queries, aggregate, matcher

FIELD = "field"
NODE = "Hostname"
# The share of one GPU's framebuffer in use, per GPU before the pod aggregate.
FRAMEBUFFER_USED_RATIO = "framebuffer_used_ratio"


@dataclass(frozen=True)
class PodGpuRecord:
    """One recorded series name: `op` over each pod's GPUs of every field in `fields`;
    `function` (rate, increase) first turns counters into rates over the rules' window."""

    record: str
    op: str
    fields: tuple[str, ...]
    function: str = ""


AVERAGE = PodGpuRecord(
    "namespace_pod:dcgm_field:avg",
    "avg",
    (
        "DCGM_FI_DEV_GPU_UTIL",
        "DCGM_FI_PROF_GR_ENGINE_ACTIVE",
        "DCGM_FI_PROF_SM_ACTIVE",
        "DCGM_FI_PROF_SM_OCCUPANCY",
        "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE",
        "DCGM_FI_PROF_DRAM_ACTIVE",
        "DCGM_FI_DEV_SM_CLOCK",
        "DCGM_FI_DEV_MEM_CLOCK",
    ),
)
LOWEST = PodGpuRecord(
    "namespace_pod:dcgm_field:min", "min", ("DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_SM_CLOCK")
)
HIGHEST = PodGpuRecord(
    "namespace_pod:dcgm_field:max",
    "max",
    (
        "DCGM_FI_DEV_GPU_UTIL",
        "DCGM_FI_DEV_GPU_TEMP",
        "DCGM_FI_DEV_XID_ERRORS",
        FRAMEBUFFER_USED_RATIO,
    ),
)
TOTAL = PodGpuRecord(
    "namespace_pod:dcgm_field:sum",
    "sum",
    (
        "DCGM_FI_DEV_FB_USED",
        "DCGM_FI_DEV_FB_FREE",
        "DCGM_FI_DEV_POWER_USAGE",
        "DCGM_FI_DEV_POWER_MGMT_LIMIT",
        "DCGM_FI_PROF_NVLINK_TX_BYTES",
        "DCGM_FI_PROF_NVLINK_RX_BYTES",
        "DCGM_FI_PROF_PCIE_TX_BYTES",
        "DCGM_FI_PROF_PCIE_RX_BYTES",
    ),
)
# Violation counters count nanoseconds: their rate is nanoseconds per second.
HIGHEST_RATE = PodGpuRecord(
    "namespace_pod:dcgm_field:max_rate5m",
    "max",
    ("DCGM_FI_DEV_POWER_VIOLATION", "DCGM_FI_DEV_THERMAL_VIOLATION"),
    "rate",
)
TOTAL_INCREASE = PodGpuRecord(
    "namespace_pod:dcgm_field:sum_increase5m",
    "sum",
    ("DCGM_FI_DEV_ECC_SBE_VOL_TOTAL", "DCGM_FI_DEV_ECC_DBE_VOL_TOTAL"),
    "increase",
)
POD_GPU_RECORDS = (AVERAGE, LOWEST, HIGHEST, TOTAL, HIGHEST_RATE, TOTAL_INCREASE)
RULES_WINDOW = "5m"  # the window the *_rate5m / *_increase5m names promise


def pod_gpu_rule(q: Queries, record: PodGpuRecord) -> str:
    """The expression of `record` for rules (q from Queries.for_rules(RULES_WINDOW))."""
    gpu = q.dcgm_labels
    workload = matcher(gpu.pod, ".+")  # GPUs no pod holds belong to no job
    by = q.by(gpu.namespace, gpu.pod, NODE)

    def per_gpu(metric: str) -> str:
        if record.function:
            return q.rate(metric, workload, function=record.function)
        return q.selector(metric, workload)

    derived: dict[str, Callable[[], str]] = {
        FRAMEBUFFER_USED_RATIO: lambda: (
            f"{per_gpu('DCGM_FI_DEV_FB_USED')} / "
            f"({per_gpu('DCGM_FI_DEV_FB_USED')} + {per_gpu('DCGM_FI_DEV_FB_FREE')})"
        )
    }
    parts = [
        f"label_replace({aggregate(record.op, (derived[f]() if f in derived else per_gpu(f)), by)}"
        f', "{FIELD}", "{f}", "", "")'
        for f in record.fields
    ]
    return "\n  or\n".join(parts)


@dataclass(frozen=True)
class JobGpus:
    """Reads the records for the pods matching `pods` in `namespace` (dashboard variables)."""

    q: Queries
    namespace: str
    pods: str

    def per_pod(self, record: PodGpuRecord, field: str) -> str:
        """One series per pod of the job: `field` of `record`."""
        if field not in record.fields:
            raise ValueError(f"{record.record} does not record {field}")
        gpu = self.q.dcgm_labels
        matchers = [
            *self.q.scope_matchers(),
            matcher(gpu.namespace, self.namespace),
            matcher(gpu.pod, self.pods),
            matcher(FIELD, field, "="),
        ]
        return f"{record.record}{{{', '.join(matchers)}}}"

    def job(self, op: str, record: PodGpuRecord, field: str) -> str:
        """`op` over the job's pods of `field`: one series for the job."""
        return aggregate(op, self.per_pod(record, field))
