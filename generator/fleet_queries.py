"""PromQL of the GPU fleet: devices (whole GPUs and MIG instances), their activity, and which
of them pods hold without using them. Shared by dashboards/fleet.py and alerts/fleet.py, so the
dashboard and the alert agree on what "allocated but idle" means.

A device is what a pod is given: a whole GPU, or one MIG instance of it. DCGM reports a MIG
instance as its own series, with the parent's `gpu`/`UUID` plus `GPU_I_ID` and `GPU_I_PROFILE`,
so devices are keyed by node, UUID and GPU_I_ID, and physical GPUs by node and UUID only.
"""

from __future__ import annotations

from dataclasses import dataclass

from generator.queries import Queries, aggregate, matcher

NODE = "Hostname"
GPU_MODEL = "modelName"
MIG_INSTANCE = "GPU_I_ID"
MIG_PROFILE = "GPU_I_PROFILE"
WHOLE_GPU = "whole GPU"  # the profile shown for devices that are not MIG instances
# kube-state-metrics' sanitised extended resources: whole GPUs, and MIG slices (mixed strategy).
GPU_RESOURCES = "nvidia_com_gpu|nvidia_com_mig_.+"
# One series per physical GPU (always exported, whatever the workload).
INVENTORY_METRIC = "DCGM_FI_DEV_FB_USED"
ALLOCATED_ACTIVITY = "device:gpu_activity_allocated:max"
ACTIVITY_BUCKETS = "node_model:gpu_device_activity_bucket:count"
ACTIVITY_SUM = "node_model:gpu_device_activity:sum"
ACTIVITY_BOUNDS = (0.25, 0.5, 0.75)  # activity bucket bounds above the idle ratio
# Health per node and GPU model, recorded by alerts/gpu_health.py for the GPU Fleet dashboard.
HEALTH_WINDOW = "5m"
XID_GPUS = "node_model:gpus_with_xid_error:count"
HOTTEST = "node_model:DCGM_FI_DEV_GPU_TEMP:max"
POWER_SHARE = "node_model:gpu_power_usage_of_limit:max_ratio"
THROTTLE_REASONS = ("POWER", "THERMAL")  # DCGM_FI_DEV_<reason>_VIOLATION, nanoseconds
# Double-bit errors (an opt-in field) and the rows remapped for errors (on by default).
MEMORY_ERROR_COUNTERS = (
    ("DCGM_FI_DEV_ECC_DBE_VOL_TOTAL", "double-bit errors"),
    ("DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS", "rows remapped (uncorrectable)"),
    ("DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS", "rows remapped (correctable)"),
)


def memory_errors_record(counter: str) -> str:
    """The recorded increase of a DCGM memory-error counter per node and GPU model."""
    return f"node_model:{counter}:increase{HEALTH_WINDOW}"


def violation_record(reason: str) -> str:
    """The recorded throttled nanoseconds per second of the most throttled GPU per node."""
    return f"node_model:DCGM_FI_DEV_{reason}_VIOLATION:max_rate{HEALTH_WINDOW}"


@dataclass(frozen=True)
class FleetQueries:
    """Builders of fleet expressions; `scope` matchers (node, GPU model) apply to DCGM series,
    `pods` matchers (namespace) to the Kubernetes pods that request GPUs."""

    q: Queries
    scope: tuple[str, ...] = ()
    pods: tuple[str, ...] = ()

    def by(self, *labels: str) -> tuple[str, ...]:
        """Grouping labels plus the cluster label in multi-cluster mode."""
        return self.q.by(*labels)

    @property
    def device(self) -> tuple[str, ...]:
        """The labels that tell one device (GPU or MIG instance) from another."""
        return (NODE, GPU_MODEL, "UUID", MIG_INSTANCE, MIG_PROFILE)

    def activity(self, *matchers: str) -> str:
        """Activity of every device, one series each, 0-1: the graphics engine's active share
        (DCGM 4+, also per MIG instance), else the utilisation gauge scaled from percent."""
        if int(self.q.settings.exporters.dcgm.version.split(".")[0]) >= 4:
            return self.q.selector("DCGM_FI_PROF_GR_ENGINE_ACTIVE", *self.scope, *matchers)
        return f"({self.q.selector('DCGM_FI_DEV_GPU_UTIL', *self.scope, *matchers)} / 100)"

    def recorded_held_activity(self) -> str:
        """What held_device_activity() records (alerts/fleet.py), narrowed like it: dashboards
        read this instead of joining every GPU with every pod at each step."""
        return self.q.recorded(ALLOCATED_ACTIVITY, *self.scope, *self.pods)

    def activity_buckets(self) -> str:
        """Devices of each node and GPU model at or below each activity bound (the idle ratio
        first), cumulative with an `le` label like a histogram's buckets; 0 where none is."""
        activity = self.activity()
        idle_ratio = self.q.settings.thresholds.gpu_idle_ratio
        bounds = [
            f"{b:g}" for b in sorted({idle_ratio, *(b for b in ACTIVITY_BOUNDS if b > idle_ratio)})
        ]
        by = self.by(NODE, GPU_MODEL)
        every = aggregate("count", activity, by)
        buckets = [
            (f"{aggregate('count', f'{activity} <= {bound}', by)} or (0 * {every})", bound)
            for bound in bounds
        ]
        return " or ".join(
            f'label_replace({count}, "le", "{le}", "", "")'
            for count, le in [*buckets, (every, "+Inf")]
        )

    def recorded_activity_buckets(self) -> str:
        """What activity_buckets() records, narrowed to the scope."""
        return self.q.recorded(ACTIVITY_BUCKETS, *self.scope)

    def activity_sum(self) -> str:
        """Summed activity of each node's devices per GPU model: with the device count of the
        `+Inf` activity bucket it gives averages over any set of nodes and models."""
        return aggregate("sum", self.activity(), self.by(NODE, GPU_MODEL))

    def recorded_average_activity(self, *labels: str) -> str:
        """Average device activity by `labels` from the recorded sums and device counts: a
        few series per node instead of every device's at each step."""
        by = self.by(*labels)
        total = aggregate("sum", self.q.recorded(ACTIVITY_SUM, *self.scope), by)
        devices = self.q.recorded(ACTIVITY_BUCKETS, *self.scope, matcher("le", "+Inf", "="))
        return f"{total} / {aggregate('sum', devices, by)}"

    def health_records(self) -> list[tuple[str, str]]:
        """(record, expression) of the per-node health series the GPU Fleet dashboard reads:
        a few series per node at each step instead of every GPU's. Expressions for rules."""
        q, node_model = self.q.with_window(HEALTH_WINDOW), self.by(NODE, GPU_MODEL)
        xid = aggregate(
            "max", q.selector("DCGM_FI_DEV_XID_ERRORS"), self.by(NODE, GPU_MODEL, "UUID")
        )
        power = [q.selector(f"DCGM_FI_DEV_{name}") for name in ("POWER_USAGE", "POWER_MGMT_LIMIT")]
        return [
            # `> bool 0`: a node without errors records 0, so a healthy fleet has the series.
            (XID_GPUS, aggregate("sum", f"{xid} > bool 0", node_model)),
            *(
                (
                    memory_errors_record(c),
                    aggregate("sum", q.rate(c, function="increase"), node_model),
                )
                for c, _ in MEMORY_ERROR_COUNTERS
            ),
            (HOTTEST, aggregate("max", q.selector("DCGM_FI_DEV_GPU_TEMP"), node_model)),
            *(
                (
                    violation_record(reason),
                    aggregate("max", q.rate(f"DCGM_FI_DEV_{reason}_VIOLATION"), node_model),
                )
                for reason in THROTTLE_REASONS
            ),
            # Both series of a GPU carry the same labels: divided one to one, no regrouping.
            (POWER_SHARE, aggregate("max", f"{power[0]} / {power[1]}", node_model)),
        ]

    def physical_gpus(self, *by: str) -> str:
        """Number of physical GPUs (MIG instances of one GPU count once), kept apart by `by`."""
        inventory = self.q.selector(INVENTORY_METRIC, *self.scope)
        per_gpu = aggregate("count", inventory, self.by(*by, NODE, "UUID"))
        return aggregate("count", per_gpu, self.by(*by))

    def devices(self, *by: str) -> str:
        """Number of devices (whole GPUs and MIG instances), kept apart by `by`."""
        per_device = aggregate("count", self.q.selector(INVENTORY_METRIC, *self.scope), self.device)
        return aggregate("count", per_device, self.by(*by))

    def held_device_activity(self) -> str:
        """Activity of each device a running pod holds and requested through Kubernetes, with
        the pod in `namespace`/`pod` whatever DCGM's label style; one series per device."""
        labels = self.q.dcgm_labels
        held = self.activity(matcher(labels.pod, "", "!="))
        for target, source in (("pod", labels.pod), ("namespace", labels.namespace)):
            if source != target:  # the target label holds the exporter pod's own name
                held = f'label_join({held}, "{target}", "", "{source}")'
        per_device = aggregate("max", held, self.by(*self.device, "namespace", "pod"))
        pod = self.by("namespace", "pod")
        on_pod = f"on ({', '.join(pod)})"
        requests = self.q.selector(
            "kube_pod_container_resource_requests", matcher("resource", GPU_RESOURCES), *self.pods
        )
        running = self.q.selector("kube_pod_status_phase", matcher("phase", "Running", "="))
        # Requests outlive their pods (finished pods keep them): only running pods hold GPUs.
        return (
            f"{per_device} and {on_pod} ({aggregate('sum', requests, pod)} > 0) "
            f"and {on_pod} ({running} == 1)"
        )

    def idle(self, activity: str) -> str:
        """The devices of `activity` below the idle ratio of the settings."""
        # Parenthesised: `<` binds tighter than the `and` of a joined expression.
        return f"({activity}) < {self.q.settings.thresholds.gpu_idle_ratio:g}"

    def count_or_zero(self, expr: str, *by: str) -> str:
        """Number of series of `expr`, or 0 when there is none but the fleet reports GPUs (a
        fleet without the problem); `on()` keeps that 0 out while any group has series."""
        reported = aggregate("count", self.q.selector(INVENTORY_METRIC, *self.scope), self.by())
        return f"({aggregate('count', expr, self.by(*by))} or on () (0 * {reported}))"
