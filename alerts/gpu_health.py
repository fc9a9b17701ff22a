"""GPU health alerts from DCGM: XID errors, temperature, framebuffer nearly full."""

from __future__ import annotations

from generator.queries import Queries, aggregate
from generator.rules import AlertingRule, RecordingRule, RuleGroup
from generator.settings import Settings

# XIDs that mean the GPU or its memory needs attention (ECC, row remapping, NVLink, fell off
# the bus, GSP), as opposed to application faults such as 13, 31 or 43.
HARDWARE_XIDS = (48, 63, 64, 74, 79, 92, 94, 95, 119, 120)
LAST_XID = "gpu:DCGM_FI_DEV_XID_ERRORS:max"
WHERE = "{{ $labels.Hostname }} GPU {{ $labels.gpu }} ({{ $labels.UUID }})"


def build(settings: Settings) -> RuleGroup:
    q = Queries(settings).for_rules()
    pod = q.dcgm_labels
    per_gpu = q.by("Hostname", "gpu", "UUID", pod.namespace, pod.pod)
    temperature = aggregate("max", q.selector("DCGM_FI_DEV_GPU_TEMP"), per_gpu)
    used = aggregate("sum", q.selector("DCGM_FI_DEV_FB_USED"), per_gpu)
    free = aggregate("sum", q.selector("DCGM_FI_DEV_FB_FREE"), per_gpu)
    limits = settings.thresholds
    workload = f"{{{{ $labels.{pod.namespace} }}}}/{{{{ $labels.{pod.pod} }}}}"
    return RuleGroup(
        name="gpu-health",
        rules=(
            # DCGM exports the last XID code as a gauge; one series per GPU feeds both alerts.
            RecordingRule(
                record=LAST_XID,
                expr=aggregate("max", q.selector("DCGM_FI_DEV_XID_ERRORS"), per_gpu),
            ),
            # Critical before warning: Alertmanager can only inhibit a warning whose
            # critical alert arrived first, and rules of a group are sent in order.
            AlertingRule(
                alert="GpuXidHardwareError",
                expr=" or ".join(f"{LAST_XID} == {code}" for code in HARDWARE_XIDS),
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
                # differs from, or did not exist, ten minutes ago), not for ever.
                expr=f"{LAST_XID} > 0 unless ({LAST_XID} offset 10m == {LAST_XID})",
                for_duration="0m",
                severity="warning",
                summary=f"XID {{{{ $value }}}} on {WHERE}",
                description=f"The NVIDIA driver reported XID {{{{ $value }}}} on {WHERE}, used by "
                f"{workload}. Application XIDs (13, 31, 43) point at the job: check "
                f"its logs and the node's kernel log.",
            ),
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
            AlertingRule(
                alert="GpuFramebufferNearlyFull",
                expr=f"{used} / ({used} + {free}) > {limits.gpu_framebuffer_used_ratio:g}",
                for_duration="15m",
                severity="warning",
                summary=f"{WHERE} memory {{{{ $value | humanizePercentage }}}} full",
                description=f"{workload} has used more than "
                f"{limits.gpu_framebuffer_used_ratio:.0%} of the memory of {WHERE} for "
                f"15 minutes; a larger batch or longer sequence will fail with "
                f"out-of-memory.",
            ),
        ),
    )
