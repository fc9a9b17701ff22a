"""dcgm-exporter series: the default counters of dcgm-exporter 4.x for every GPU.

Labels as the exporter renders them (gpu, UUID, pci_bus_id, device, modelName, Hostname,
DCGM_FI_DRIVER_VERSION), the workload of GPUs in use in the configured pod-label style, and the
target labels Prometheus adds. With `exported_pod` and `pod_name` the target's own namespace,
pod and container (the exporter pod) are kept beside the workload labels, as with the Helm
chart's `honorLabels: false`; with `pod` (honorLabels: true) they give way to the workload's.
Idle GPUs carry no workload labels in any style.

The fleet's exporter runs a custom counters CSV: beside the defaults it collects SM activity
and occupancy, NVLink throughput, the power limit, clock-violation times and ECC counts, so
every panel of the training dashboard has data.
"""

from __future__ import annotations

from generator.settings import Settings
from generator.synthetic.families import Gauge, Registry
from generator.synthetic.fleet import Fleet, Gpu, Pod
from generator.synthetic.state import MAX_SM_CLOCK_MHZ, MEMORY_CLOCK_MHZ, FleetState, GpuReading

JOB = "nvidia-dcgm-exporter"
PORT = 9400
# Workload label names per settings.exporters.dcgm.pod_label.
WORKLOAD_LABELS = {
    "pod": ("pod", "namespace", "container"),
    "exported_pod": ("exported_pod", "exported_namespace", "exported_container"),
    "pod_name": ("pod_name", "pod_namespace", "container_name"),
}
# A few entries of dcgm-exporter's XID table (err_msg label).
XID_MESSAGES = {
    0: "No Error",
    13: "Graphics Engine Exception",
    31: "GPU memory page fault",
    48: "Double Bit ECC Error",
    79: "GPU has fallen off the bus",
}
_GAUGES = (
    "DCGM_FI_DEV_SM_CLOCK",
    "DCGM_FI_DEV_MEM_CLOCK",
    "DCGM_FI_DEV_MEMORY_TEMP",
    "DCGM_FI_DEV_GPU_TEMP",
    "DCGM_FI_DEV_POWER_USAGE",
    "DCGM_FI_DEV_GPU_UTIL",
    "DCGM_FI_DEV_MEM_COPY_UTIL",
    "DCGM_FI_DEV_ENC_UTIL",
    "DCGM_FI_DEV_DEC_UTIL",
    "DCGM_FI_DEV_FB_FREE",
    "DCGM_FI_DEV_FB_USED",
    "DCGM_FI_DEV_ROW_REMAP_FAILURE",
    "DCGM_FI_DEV_POWER_MGMT_LIMIT",
)
# Profiling fields in default-counters.csv since 4.0.0 (ratios 0-1, PCIe in bytes/s).
_PROFILING_GAUGES = (
    "DCGM_FI_PROF_GR_ENGINE_ACTIVE",
    "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE",
    "DCGM_FI_PROF_DRAM_ACTIVE",
    "DCGM_FI_PROF_PCIE_TX_BYTES",
    "DCGM_FI_PROF_PCIE_RX_BYTES",
    # Beyond the stock CSV, as a custom one enables them.
    "DCGM_FI_PROF_SM_ACTIVE",
    "DCGM_FI_PROF_SM_OCCUPANCY",
    "DCGM_FI_PROF_NVLINK_TX_BYTES",
    "DCGM_FI_PROF_NVLINK_RX_BYTES",
)
_COUNTERS = (
    "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION",  # millijoules
    "DCGM_FI_DEV_PCIE_REPLAY_COUNTER",
    "DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS",
    "DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS",
    "DCGM_FI_DEV_ECC_SBE_VOL_TOTAL",
    "DCGM_FI_DEV_ECC_DBE_VOL_TOTAL",
)
# Nanoseconds of clock throttling (DCGM 4.4.2+ units), by what held the clocks down.
_VIOLATIONS = ("DCGM_FI_DEV_POWER_VIOLATION", "DCGM_FI_DEV_THERMAL_VIOLATION")
POWER_LIMIT_WATTS = 700.0  # H100 SXM
NVLINK_BYTES_PER_SECOND = 1.5e11  # each way at full activity
HOT_CELSIUS = 85.0  # above it, throttling is put down to temperature rather than power
_XID = "DCGM_FI_DEV_XID_ERRORS"
# Energy counted before the run: three days of uptime at 150 W on average.
ENERGY_BEFORE_RUN_MILLIJOULES = 3 * 86400.0 * 150.0 * 1000


def gpu_labels(gpu: Gpu, driver_version: str) -> dict[str, str]:
    """Returns the labels dcgm-exporter itself puts on every series of `gpu`."""
    return {
        "gpu": str(gpu.index),
        "UUID": gpu.uuid,
        "pci_bus_id": gpu.pci_bus_id,
        "device": gpu.device,
        "modelName": gpu.model,
        "Hostname": gpu.node,
        "DCGM_FI_DRIVER_VERSION": driver_version,
    }


def workload_labels(gpu: Gpu, pod_label: str) -> dict[str, str]:
    """Returns the labels naming the pod that uses `gpu` in `pod_label` style ({} when idle)."""
    if not gpu.pod:
        return {}
    pod, namespace, container = WORKLOAD_LABELS[pod_label]
    return {pod: gpu.pod, namespace: gpu.namespace, container: gpu.container}


def target_labels(exporter: Pod, host_ip: str, pod_label: str) -> dict[str, str]:
    """Returns the labels Prometheus adds when scraping the exporter pod on one node."""
    labels = {
        "instance": f"{host_ip}:{PORT}",
        "job": JOB,
        "service": JOB,
        "endpoint": "gpu-metrics",
    }
    if pod_label != "pod":  # honorLabels: false keeps the target's pod beside exported_*
        labels.update(namespace=exporter.namespace, pod=exporter.name, container=exporter.container)
    return labels


def _profiling_enabled(version: str) -> bool:
    return int(version.split(".")[0]) >= 4


class _GpuSeries:
    """The handles of one GPU."""

    def __init__(self, registry: Registry, labels: dict[str, str], profiling: bool) -> None:
        self.labels = labels
        names = _GAUGES + (_PROFILING_GAUGES if profiling else ())
        self.gauges = {name: registry.gauge([name], labels) for name in names}
        self.counters = {name: registry.counter([name], labels, integer=True) for name in _COUNTERS}
        self.violations = {
            name: registry.counter([name], labels, integer=True) for name in _VIOLATIONS
        }
        self.xid: dict[int, Gauge] = {}
        self.last_xid: int | None = None


class DcgmExporter:
    """Sets the DCGM series of every GPU from the fleet state."""

    def __init__(self, registry: Registry, fleet: Fleet, settings: Settings) -> None:
        self._registry = registry
        style = settings.exporters.dcgm.pod_label
        profiling = _profiling_enabled(settings.exporters.dcgm.version)
        exporters = {p.node: p for p in fleet.pods if p.role == "dcgm-exporter"}
        self._gpus: list[tuple[Gpu, _GpuSeries]] = []
        for node in fleet.nodes:
            registry.up(target_labels(exporters[node.name], node.host_ip, style))
            for gpu in node.gpus:
                labels = {
                    **gpu_labels(gpu, fleet.shape.driver_version),
                    **workload_labels(gpu, style),
                    **target_labels(exporters[node.name], node.host_ip, style),
                }
                handles = _GpuSeries(registry, labels, profiling)
                handles.counters["DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION"].inc(
                    ENERGY_BEFORE_RUN_MILLIJOULES
                )
                self._gpus.append((gpu, handles))
                self._set_xid(handles, 0)

    def update(self, dt: float, state: FleetState) -> None:
        """Sets every GPU's values for the tick that `state` describes."""
        for gpu, series in self._gpus:
            r = state.gpus[gpu.uuid]
            g = series.gauges
            g["DCGM_FI_DEV_SM_CLOCK"].set(r.sm_clock)
            g["DCGM_FI_DEV_MEM_CLOCK"].set(MEMORY_CLOCK_MHZ)
            g["DCGM_FI_DEV_GPU_TEMP"].set(round(r.temperature))
            g["DCGM_FI_DEV_MEMORY_TEMP"].set(round(r.temperature + 4))
            g["DCGM_FI_DEV_POWER_USAGE"].set(round(r.power, 3))
            g["DCGM_FI_DEV_GPU_UTIL"].set(r.utilisation)
            g["DCGM_FI_DEV_MEM_COPY_UTIL"].set(round(r.utilisation * 0.4))
            g["DCGM_FI_DEV_ENC_UTIL"].set(0)
            g["DCGM_FI_DEV_DEC_UTIL"].set(0)
            g["DCGM_FI_DEV_FB_USED"].set(r.framebuffer_used)
            g["DCGM_FI_DEV_FB_FREE"].set(r.framebuffer_free)
            g["DCGM_FI_DEV_ROW_REMAP_FAILURE"].set(0)
            g["DCGM_FI_DEV_POWER_MGMT_LIMIT"].set(POWER_LIMIT_WATTS)
            if "DCGM_FI_PROF_GR_ENGINE_ACTIVE" in g:
                active = r.busy * 0.97
                g["DCGM_FI_PROF_GR_ENGINE_ACTIVE"].set(round(active, 6))
                g["DCGM_FI_PROF_PIPE_TENSOR_ACTIVE"].set(round(active * 0.55, 6))
                g["DCGM_FI_PROF_DRAM_ACTIVE"].set(round(active * 0.45, 6))
                g["DCGM_FI_PROF_PCIE_TX_BYTES"].set(round(r.pcie_tx))
                g["DCGM_FI_PROF_PCIE_RX_BYTES"].set(round(r.pcie_rx))
                g["DCGM_FI_PROF_SM_ACTIVE"].set(round(active * 0.93, 6))
                g["DCGM_FI_PROF_SM_OCCUPANCY"].set(round(active * 0.38, 6))
                g["DCGM_FI_PROF_NVLINK_TX_BYTES"].set(round(NVLINK_BYTES_PER_SECOND * active))
                g["DCGM_FI_PROF_NVLINK_RX_BYTES"].set(round(NVLINK_BYTES_PER_SECOND * active))
            series.counters["DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION"].inc(r.power * dt * 1000)
            self._violations(series, r, dt)
            for name in _COUNTERS[1:]:
                series.counters[name].inc(0)
            self._set_xid(series, r.xid)

    @staticmethod
    def _violations(series: _GpuSeries, r: GpuReading, dt: float) -> None:
        """A busy GPU below its top SM clock was throttled for that share of the tick."""
        throttled = max(0.0, 1 - r.sm_clock / MAX_SM_CLOCK_MHZ) if r.busy > 0.02 else 0.0
        hot = r.temperature >= HOT_CELSIUS
        series.violations["DCGM_FI_DEV_THERMAL_VIOLATION"].inc(throttled * dt * 1e9 if hot else 0)
        series.violations["DCGM_FI_DEV_POWER_VIOLATION"].inc(0 if hot else throttled * dt * 1e9)

    def _set_xid(self, series: _GpuSeries, code: int) -> None:
        """The exporter derives err_code/err_msg from the value, so a new XID is a new series."""
        if code != series.last_xid:
            for gauge in series.xid.values():
                gauge.set(None)
            if code not in series.xid:
                labels = {
                    **series.labels,
                    "err_code": str(code),
                    "err_msg": XID_MESSAGES.get(code, "Unknown Error"),
                }
                series.xid[code] = self._registry.gauge([_XID], labels)
            series.last_xid = code
        series.xid[code].set(code)
