"""GPU health alerts from DCGM: XID errors, uncorrectable ECC errors, heat and thermal
throttling, framebuffer nearly full, and GPUs (or a node's GPU metrics) that disappeared."""

from __future__ import annotations

from generator.fleet_queries import FleetQueries
from generator.queries import Queries, aggregate, join_or
from generator.rules import AlertingRule, RecordingRule, Rule, RuleGroup
from generator.settings import Settings

# XIDs that mean the GPU or its memory needs attention (ECC, row remapping, NVLink, fell off
# the bus, GSP), as opposed to application faults such as 13, 31 or 43.
HARDWARE_XIDS = (48, 63, 64, 74, 79, 92, 94, 95, 119, 120)
LAST_XID = "gpu:DCGM_FI_DEV_XID_ERRORS:max"
# One series per physical GPU, whatever pod uses it: the presence GpuMissing looks back on.
GPU_PRESENT = "gpu:DCGM_FI_DEV_GPU_TEMP:group"
# How far back a GPU counts as having existed; one gone longer stops alerting (removed or handled).
MISSING_LOOKBACK = "1d"
# Clock event reasons (formerly throttle reasons) bits 0x20 and 0x40: software and hardware
# thermal slowdown. `% 128 >= 32` is true when either is set (PromQL has no bitwise and).
THERMAL_BITS_MODULO, THERMAL_BITS_LOWEST = 128, 32
CLOCK_REASONS = ("DCGM_FI_DEV_CLOCKS_EVENT_REASONS", "DCGM_FI_DEV_CLOCK_THROTTLE_REASONS")
UNCORRECTABLE_ECC = ("DCGM_FI_DEV_ECC_DBE_VOL_TOTAL", "DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS")
NEW_EVENT_WINDOW = "10m"  # an event (XID, ECC error) alerts while it is this recent
WHERE = "{{ $labels.Hostname }} GPU {{ $labels.gpu }} ({{ $labels.UUID }})"


def build(settings: Settings) -> RuleGroup:
    q = Queries(settings).for_rules(window=NEW_EVENT_WINDOW)
    return RuleGroup(
        name="gpu-health",
        rules=(
            *xid_rules(q),
            uncorrectable_ecc_alert(q),
            *temperature_alerts(q),
            thermal_throttling_alert(q),
            framebuffer_alert(q),
            *missing_gpu_rules(q),
            # The GPU Fleet dashboard's health panels: a few series per node, not one per GPU.
            *(
                RecordingRule(record=record, expr=expr)
                for record, expr in FleetQueries(Queries(settings).for_rules()).health_records()
            ),
        ),
    )


def per_gpu(q: Queries) -> tuple[str, ...]:
    """One series per GPU and the workload on it."""
    pod = q.dcgm_labels
    return q.by("Hostname", "gpu", "UUID", pod.namespace, pod.pod)


def workload(q: Queries) -> str:
    pod = q.dcgm_labels
    return f"{{{{ $labels.{pod.namespace} }}}}/{{{{ $labels.{pod.pod} }}}}"


def xid_rules(q: Queries) -> list[Rule]:
    hardware = " or ".join(f"{LAST_XID} == {code}" for code in HARDWARE_XIDS)
    return [
        # DCGM exports the last XID code as a gauge; one series per GPU feeds both alerts.
        RecordingRule(
            record=LAST_XID,
            expr=aggregate("max", q.selector("DCGM_FI_DEV_XID_ERRORS"), per_gpu(q)),
        ),
        # Critical before warning: Alertmanager can only inhibit a warning whose
        # critical alert arrived first, and rules of a group are sent in order.
        AlertingRule(
            alert="GpuXidHardwareError",
            expr=hardware,
            for_duration="0m",
            severity="critical",
            summary=f"Hardware XID {{{{ $value }}}} on {WHERE}",
            description=f"XID {{{{ $value }}}} on {WHERE} signals a memory, NVLink or bus "
            f"fault. Drain the node and reset or replace the GPU before more jobs "
            f"land on it.",
        ),
        AlertingRule(
            alert="GpuXidError",
            # The gauge keeps the last XID until a driver reset: warn while it is new (it
            # differs from, or did not exist, ten minutes ago), not for ever. Hardware XIDs
            # are GpuXidHardwareError's alone, so no warning can overtake that page.
            expr=f"{LAST_XID} > 0 unless ({LAST_XID} offset {NEW_EVENT_WINDOW} == {LAST_XID}) "
            f"unless ({hardware})",
            for_duration="0m",
            severity="warning",
            summary=f"XID {{{{ $value }}}} on {WHERE}",
            description=f"The NVIDIA driver reported XID {{{{ $value }}}} on {WHERE}, used by "
            f"{workload(q)}. Application XIDs (13, 31, 43) point at the job: check "
            f"its logs and the node's kernel log.",
        ),
    ]


def uncorrectable_ecc_alert(q: Queries) -> AlertingRule:
    # Double-bit errors (opt-in field) or rows remapped for them (on by default, Ampere on).
    new_errors = [
        aggregate("max", q.rate(counter, function="increase"), per_gpu(q)) + " > 0"
        for counter in UNCORRECTABLE_ECC
    ]
    return AlertingRule(
        alert="GpuUncorrectableEccError",
        expr=" or ".join(new_errors),
        for_duration="0m",
        severity="critical",
        summary=f"Uncorrectable ECC error on {WHERE}",
        description=f"{WHERE} reported an uncorrectable (double-bit) memory error in the last "
        f"{NEW_EVENT_WINDOW}; the process on it, {workload(q)}, has most likely crashed or "
        f"computed on corrupt data. Drain the node and reset the GPU; replace it if errors "
        f"come back.",
    )


def temperature_alerts(q: Queries) -> list[AlertingRule]:
    temperature = aggregate("max", q.selector("DCGM_FI_DEV_GPU_TEMP"), per_gpu(q))
    limits = q.settings.thresholds
    return [
        AlertingRule(
            alert="GpuTemperatureCritical",
            expr=f"{temperature} > {limits.gpu_temperature_critical_celsius:g}",
            for_duration="2m",
            severity="critical",
            summary=f"{WHERE} is overheating at {{{{ $value }}}} °C",
            description=f"{WHERE} has been above {limits.gpu_temperature_critical_celsius:g} "
            f"°C for 2 minutes and throttles hard. Move work off the node and fix "
            f"its cooling.",
        ),
        AlertingRule(
            alert="GpuTemperatureHigh",
            expr=f"{temperature} > {limits.gpu_temperature_warning_celsius:g}",
            for_duration="5m",
            severity="warning",
            summary=f"{WHERE} runs at {{{{ $value }}}} °C",
            description=f"{WHERE} has been above {limits.gpu_temperature_warning_celsius:g} °C "
            f"for 5 minutes; its clocks will be throttled. Check cooling, fans and "
            f"airflow.",
        ),
    ]


def thermal_throttling_alert(q: Queries) -> AlertingRule:
    # The current and the pre-DCGM-3.3 name of the field: whichever the exporter sends.
    throttled = join_or(
        [
            aggregate("max", f"{q.selector(name)} % {THERMAL_BITS_MODULO}", per_gpu(q))
            + f" >= {THERMAL_BITS_LOWEST}"
            for name in CLOCK_REASONS
        ]
    )
    return AlertingRule(
        alert="GpuThermalThrottling",
        expr=throttled,
        for_duration="5m",
        severity="warning",
        summary=f"{WHERE} slows its clocks to cool down",
        description=f"The driver has reported thermal slowdown on {WHERE} for 5 minutes, "
        f"whatever its temperature reading: {workload(q)} runs slower than the hardware "
        f"can. Check the node's fans, airflow and inlet temperature, and whether one GPU "
        f"of the node is alone in this.",
    )


def framebuffer_alert(q: Queries) -> AlertingRule:
    used = aggregate("sum", q.selector("DCGM_FI_DEV_FB_USED"), per_gpu(q))
    free = aggregate("sum", q.selector("DCGM_FI_DEV_FB_FREE"), per_gpu(q))
    limit = q.settings.thresholds.gpu_framebuffer_used_ratio
    return AlertingRule(
        alert="GpuFramebufferNearlyFull",
        expr=f"{used} / ({used} + {free}) > {limit:g}",
        for_duration="15m",
        severity="warning",
        summary=f"{WHERE} memory {{{{ $value | humanizePercentage }}}} full",
        description=f"{workload(q)} has used more than {limit:.0%} of the memory of {WHERE} "
        f"for 15 minutes; a larger batch or longer sequence will fail with out-of-memory.",
    )


def missing_gpu_rules(q: Queries) -> list[Rule]:
    """A GPU whose series stopped while its node still reports others (it fell off the bus),
    and a node whose GPU series all stopped while Kubernetes still has the node (its
    exporter is down): two causes, two alerts, neither for a node that was removed."""
    after = q.settings.alerts.gpu_missing_after
    node = q.by("Hostname")
    existed = f"max_over_time({GPU_PRESENT}[{MISSING_LOOKBACK}] offset {after})"
    recently = f"max_over_time({GPU_PRESENT}[{after}])"
    node_reports = aggregate("group", GPU_PRESENT, node)
    nodes_existed, nodes_recently = (
        aggregate("group", existed, node),
        aggregate("group", recently, node),
    )
    # The node's name as kube-state-metrics writes it, copied into Hostname.
    kubernetes_nodes = (
        f"label_join({aggregate('group', q.selector('kube_node_info'), q.by('node'))}, "
        f'"Hostname", "", "node")'
    )
    on_node = f"on ({', '.join(node)})"
    return [
        RecordingRule(
            record=GPU_PRESENT,
            expr=aggregate(
                "group", q.selector("DCGM_FI_DEV_GPU_TEMP"), q.by("Hostname", "gpu", "UUID")
            ),
        ),
        AlertingRule(
            alert="GpuMissing",
            expr=f"({existed} unless {recently}) and {on_node} {node_reports}",
            for_duration="0m",
            severity="critical",
            summary=f"{WHERE} has stopped reporting",
            description=f"{WHERE} has sent no metrics for {after} while the other GPUs of "
            f"the node still do: it most likely fell off the bus (XID 79) or lost its "
            f"driver. Jobs on it have failed or hang. Drain the node and reset or replace "
            f"the GPU.",
        ),
        AlertingRule(
            alert="GpuNodeMetricsMissing",
            expr=f"({nodes_existed} unless {nodes_recently}) and {on_node} {kubernetes_nodes}",
            for_duration="0m",
            severity="warning",
            summary="No GPU metrics from {{ $labels.Hostname }}",
            description=f"None of the GPUs of node {{{{ $labels.Hostname }}}} has sent metrics "
            f"for {after}, yet the node is still in the cluster: its DCGM exporter is down or "
            f"cannot reach the driver, so XIDs, heat and memory of these GPUs go unseen. "
            f"Check the exporter pod on that node.",
        ),
    ]
