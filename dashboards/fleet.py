"""GPU Fleet: every GPU by node and model; which are busy, which pods hold GPUs they leave
idle and how many GPU-hours that wastes, and the fleet's health (XID, ECC, heat, power).

MIG-aware: a device is a whole GPU or one MIG instance (generator/fleet_queries.py), so a MIG
slice is never counted as a GPU. Variables `node` and `gpu_model` narrow the DCGM side;
`namespace` (the name the other dashboards use) narrows the pods that hold GPUs.
"""

from __future__ import annotations

import grafanalib.core as G

from generator.fleet_queries import (
    GPU_MODEL,
    GPU_RESOURCES,
    HEALTH_WINDOW,
    HOTTEST,
    INVENTORY_METRIC,
    MEMORY_ERROR_COUNTERS,
    MIG_INSTANCE,
    MIG_PROFILE,
    NODE,
    POWER_SHARE,
    THROTTLE_REASONS,
    WHOLE_GPU,
    XID_GPUS,
    FleetQueries,
    memory_errors_record,
    violation_record,
)
from generator.panels import (
    Section,
    bar_gauge,
    dashboard,
    heatmap,
    query_variable,
    stat,
    target,
    timeseries,
)
from generator.queries import Queries, aggregate, matcher
from generator.settings import Settings

UID = "obsgen-gpu-fleet"
GPU_HOURS = "suffix: GPU-h"
LEAST_ACTIVE_PODS = 20  # the bar gauge lists this many pods, least active first
WORST_NODES = 5  # per-node health lines drawn: the hottest, most throttled, hungriest
CUSTOM_COUNTERS_MISSING = "Not collected: enable these DCGM fields in the exporter's counters CSV"
# Panels reading a series per node that obsgen's rules record say so in their description.
RECORDED = "Reads the per-node series that obsgen's recording rules write (gpu-health group)"


def instant(expr: str, legend: str = "") -> G.Target:
    """A target read at the end of the range, as stats and bar gauges show it."""
    return target(expr, legend, instant=True)


def count_stat(
    fleet: FleetQueries, title: str, description: str, condition: str, color: str = "orange"
) -> G.Panel:
    """A stat of how many series meet `condition` now (0 when none), coloured from one on."""
    return stat(
        title,
        description,
        "none",
        [instant(fleet.count_or_zero(condition))],
        width=4,
        steps=[(color, 1)],
    )


def idle_gpu_hours(fleet: FleetQueries, *by: str) -> str:
    """Device-hours spent allocated but idle over the dashboard's range: the idle count sampled
    every $__interval (as fine as the panel draws), times the interval in hours."""
    per_step = fleet.count_or_zero(fleet.idle(fleet.recorded_held_activity()), *by)
    return f"sum_over_time({per_step}[$__range:$__interval]) * $__interval_ms / 3600000"


def overview_panels(fleet: FleetQueries, settings: Settings) -> list[G.Panel]:
    held = fleet.recorded_held_activity()
    mig = fleet.q.selector(INVENTORY_METRIC, *fleet.scope, matcher(MIG_INSTANCE, "", "!="))
    return [
        stat(
            "GPUs",
            "Physical GPUs DCGM reports on the selected nodes and models; a GPU split into MIG "
            "instances counts once.",
            "none",
            [instant(fleet.physical_gpus())],
            width=4,
        ),
        stat(
            "GPUs allocated",
            "Devices (whole GPUs or MIG instances) held by running pods that request "
            "nvidia.com/gpu or a MIG resource in Kubernetes (kube-state-metrics requests joined "
            "with DCGM's pod labels).",
            "none",
            [instant(fleet.count_or_zero(held))],
            width=4,
        ),
        count_stat(
            fleet,
            "GPUs allocated but idle",
            f"Allocated devices whose activity is below "
            f"{settings.thresholds.gpu_idle_ratio:.0%} (thresholds.gpu_idle_ratio) right now. "
            f"Held for {settings.alerts.idle_allocated_after}, they raise GpusAllocatedIdle.",
            fleet.idle(held),
        ),
        stat(
            "GPU-hours allocated but idle",
            "Device-hours that allocated devices spent idle over the selected time range: "
            "capacity that pods held and nobody could use.",
            GPU_HOURS,
            [instant(idle_gpu_hours(fleet))],
            width=4,
            decimals=1,
            steps=[("orange", 1)],
        ),
        stat(
            "Fleet activity",
            "Average share of time the devices' graphics engines were busy (DCGM "
            "GR_ENGINE_ACTIVE, per MIG instance where MIG is on), from the series the fleet "
            "rules record.",
            "percentunit",
            [instant(fleet.recorded_average_activity())],
            width=4,
        ),
        stat(
            "MIG instances",
            "MIG instances DCGM reports (series with GPU_I_ID); 0 when no GPU is partitioned.",
            "none",
            [instant(fleet.count_or_zero(mig))],
            width=4,
        ),
    ]


def activity_panels(fleet: FleetQueries, settings: Settings) -> list[G.Panel]:
    idle_ratio = settings.thresholds.gpu_idle_ratio
    inventory = fleet.q.selector(INVENTORY_METRIC, *fleet.scope)
    profile = f'label_replace({inventory}, "{MIG_PROFILE}", "{WHOLE_GPU}", "{MIG_PROFILE}", "")'
    per_device = aggregate("count", profile, fleet.device)
    by_node = fleet.recorded_average_activity(NODE)
    return [
        heatmap(
            "Device activity across the fleet",
            f"How many devices ran at each activity level over time: the lowest band (up to "
            f"{idle_ratio:.0%}) holds the idle ones. A fleet doing its work is dark at the top.",
            "percentunit",
            [
                target(
                    aggregate("sum", fleet.recorded_activity_buckets(), ("le",)),
                    "{{le}}",
                    heatmap=True,
                )
            ],
        ),
        timeseries(
            "Activity by node",
            "Average activity of the devices of each node (from the series the fleet rules "
            "record). The line marks the idle ratio.",
            "percentunit",
            [target(by_node, f"{{{{{NODE}}}}}")],
            min_value=0,
            max_value=1,
            steps=[("orange", idle_ratio)],
        ),
        bar_gauge(
            "Average activity by node",
            "Each node's devices' average activity now; red below the idle ratio.",
            "percentunit",
            [instant(by_node, f"{{{{{NODE}}}}}")],
            width=8,
            min_value=0,
            max_value=1,
            base="red",
            steps=[("green", idle_ratio)],
        ),
        bar_gauge(
            "GPUs by model",
            "Physical GPUs of each model (DCGM modelName, not vLLM's model_name).",
            "none",
            [instant(fleet.physical_gpus(GPU_MODEL), f"{{{{{GPU_MODEL}}}}}")],
            width=8,
        ),
        bar_gauge(
            "Devices by MIG profile",
            f"Devices by MIG profile (GPU_I_PROFILE, e.g. 1g.10gb); GPUs that are not "
            f"partitioned show as '{WHOLE_GPU}'. Allocation counts these devices.",
            "none",
            [instant(aggregate("count", per_device, fleet.by(MIG_PROFILE)), "{{GPU_I_PROFILE}}")],
            width=8,
        ),
    ]


def idle_panels(fleet: FleetQueries, settings: Settings) -> list[G.Panel]:
    held = fleet.recorded_held_activity()
    idle = fleet.idle(held)
    per_pod = aggregate("max", held, fleet.by("namespace", "pod"))
    return [
        timeseries(
            "Allocated but idle devices by namespace",
            "Devices that running pods of each namespace hold while they stay below the idle "
            "ratio; a single 0 when there are none.",
            "none",
            [target(fleet.count_or_zero(idle, "namespace"), "{{namespace}}")],
            min_value=0,
            stacked=True,
        ),
        bar_gauge(
            "Allocated but idle devices by node",
            "Where the idle allocated devices are, node by node, now.",
            "none",
            [instant(fleet.count_or_zero(idle, NODE), f"{{{{{NODE}}}}}")],
            steps=[("orange", 1)],
        ),
        bar_gauge(
            "Least active pods holding GPUs",
            f"The {LEAST_ACTIVE_PODS} pods whose busiest device is the least active now; red "
            f"below the idle ratio.",
            "percentunit",
            [instant(f"bottomk({LEAST_ACTIVE_PODS}, {per_pod})", "{{namespace}}/{{pod}}")],
            min_value=0,
            max_value=1,
            base="red",
            steps=[("green", settings.thresholds.gpu_idle_ratio)],
        ),
        bar_gauge(
            "GPU-hours allocated but idle by namespace",
            "Device-hours each namespace's pods held idle over the selected time range.",
            GPU_HOURS,
            [instant(idle_gpu_hours(fleet, "namespace"), "{{namespace}}")],
        ),
    ]


def health_panels(fleet: FleetQueries, settings: Settings) -> list[G.Panel]:
    q, scope = fleet.q, fleet.scope
    limits = settings.thresholds
    per_gpu = fleet.by(NODE, "UUID")
    temperature = aggregate("max", q.selector("DCGM_FI_DEV_GPU_TEMP", *scope), per_gpu)
    by_node = fleet.by(NODE)

    def per_node(op: str, record: str) -> str:
        return aggregate(op, q.recorded(record, *scope), by_node)

    def worst_nodes(op: str, record: str) -> str:
        # A line per node of a hundred-node fleet is unreadable and slow to draw: the worst few.
        return f"topk({WORST_NODES}, {per_node(op, record)})"

    def nodes_with_events(record: str) -> str:
        # Only nodes with events are drawn (not a flat 0 per node): a single 0 while none has.
        fleet_total = aggregate("sum", q.recorded(record, *scope), fleet.by())
        return f"({per_node('sum', record)} > 0 or on () (0 * {fleet_total}))"

    memory_errors = [
        target(nodes_with_events(memory_errors_record(counter)), f"{{{{{NODE}}}}} {label}")
        for counter, label in MEMORY_ERROR_COUNTERS
    ]
    throttled = [
        target(
            f"{worst_nodes('max', violation_record(reason))} / 1e9",
            f"{{{{{NODE}}}}} {reason.lower()}",
        )
        for reason in THROTTLE_REASONS
    ]
    return [
        timeseries(
            "GPUs with an XID error, by node",
            "GPUs whose driver reported an XID (DCGM keeps the last code until a reset). "
            "Hardware XIDs (48, 63, 64, 74, 79, 92-95, 119, 120) raise GpuXidHardwareError. "
            f"Nodes without one are left out; a single 0 while no node has one. {RECORDED} "
            f"({XID_GPUS}).",
            "none",
            [target(nodes_with_events(XID_GPUS), f"{{{{{NODE}}}}}")],
            width=8,
            min_value=0,
        ),
        timeseries(
            "ECC: uncorrectable errors and remapped rows",
            f"Double-bit (uncorrectable) ECC errors and memory rows remapped for them, per node "
            f"over the previous {HEALTH_WINDOW} (Ampere and later remap rows instead of "
            f"retiring pages). The job on that GPU saw corrupt memory: drain the node; "
            f"correctable remaps only wear spares. Nodes without errors are left out; a single "
            f"0 while no node has any. {RECORDED} "
            f"(node_model:<counter>:increase{HEALTH_WINDOW}).",
            "none",
            memory_errors,
            width=8,
            min_value=0,
            no_value=CUSTOM_COUNTERS_MISSING,
        ),
        count_stat(
            fleet,
            "GPUs with a failed row remap",
            "GPUs that ran out of spare rows (DCGM_FI_DEV_ROW_REMAP_FAILURE): they need a reset "
            "or replacement.",
            f"{q.selector('DCGM_FI_DEV_ROW_REMAP_FAILURE', *scope)} > 0",
            color="red",
        ),
        count_stat(
            fleet,
            "GPUs above the warning temperature",
            f"GPUs hotter than {limits.gpu_temperature_warning_celsius:g} °C now; the driver "
            f"throttles their clocks (thermal throttling).",
            f"{temperature} > {limits.gpu_temperature_warning_celsius:g}",
        ),
        timeseries(
            "Hottest nodes",
            f"Highest GPU temperature of each of the {WORST_NODES} hottest nodes; lines at the "
            f"warning and critical temperatures of the GPU health alerts. {RECORDED} ({HOTTEST}).",
            "celsius",
            [target(worst_nodes("max", HOTTEST), f"{{{{{NODE}}}}}")],
            width=8,
            steps=[
                ("orange", limits.gpu_temperature_warning_celsius),
                ("red", limits.gpu_temperature_critical_celsius),
            ],
        ),
        timeseries(
            "Throttled time by reason, most throttled nodes",
            f"Share of time the most throttled GPU of each of the {WORST_NODES} most throttled "
            f"nodes had its clocks held down by its power cap or by temperature over the "
            f"previous {HEALTH_WINDOW} (DCGM violation counters, read as nanoseconds per "
            f"second). {RECORDED} "
            f"(node_model:DCGM_FI_DEV_<reason>_VIOLATION:max_rate{HEALTH_WINDOW}).",
            "percentunit",
            throttled,
            width=8,
            min_value=0,
            max_value=1,
            no_value=CUSTOM_COUNTERS_MISSING,
        ),
        timeseries(
            "Power draw against the limit, highest nodes",
            f"Power of the hungriest GPU of each of the {WORST_NODES} hungriest nodes as a share "
            "of its power limit. Near 100 % while "
            f"it is throttled for power: the cap, not the work, sets its speed. {RECORDED} "
            f"({POWER_SHARE}).",
            "percentunit",
            [target(worst_nodes("max", POWER_SHARE), f"{{{{{NODE}}}}}")],
            width=8,
            min_value=0,
            max_value=1,
        ),
    ]


def build(settings: Settings) -> G.Dashboard:
    q = Queries(settings)
    node = matcher(NODE, "$node")
    variables = [
        query_variable(
            "node",
            "Node",
            q.label_values(NODE, INVENTORY_METRIC),
            multi=True,
            include_all=True,
        ),
        query_variable(
            "gpu_model",
            "GPU model",
            q.label_values(GPU_MODEL, INVENTORY_METRIC, node),
            multi=True,
            include_all=True,
        ),
        query_variable(
            "namespace",
            "Namespace",
            q.label_values(
                "namespace",
                "kube_pod_container_resource_requests",
                matcher("resource", GPU_RESOURCES),
            ),
            multi=True,
            include_all=True,
        ),
    ]
    fleet = FleetQueries(
        q,
        scope=(node, matcher(GPU_MODEL, "$gpu_model")),
        pods=(matcher("namespace", "$namespace"),),
    )
    return dashboard(
        settings,
        uid=UID,
        title="GPU Fleet",
        description="Every GPU of the cluster by node and model: activity, GPUs that pods hold "
        "but leave idle and the GPU-hours that costs, and hardware health. MIG-aware.",
        variables=variables,
        sections=[
            Section("Overview", overview_panels(fleet, settings)),
            Section("Activity", activity_panels(fleet, settings)),
            Section("Allocated but idle", idle_panels(fleet, settings)),
            Section("Health: XID, ECC, heat, power", health_panels(fleet, settings)),
        ],
        tags=["fleet"],
    )
