"""node-exporter series of every node: CPU modes, memory, disks, NICs, filesystem, uname.

`instance` is "<host IP>:9100" and `job` "node-exporter", as with kube-prometheus-stack. Disks
include a partition (nvme0n1p1) and NICs include `lo` and a pod veth, so queries that forget to
keep physical devices only count bytes twice and the data tests notice. Each node also mounts
the dataset share over NFS (the mountstats collector, off by default, is on here) and reports
I/O pressure (PSI).
"""

from __future__ import annotations

from generator.synthetic.families import Registry
from generator.synthetic.fleet import Fleet, Node
from generator.synthetic.state import DATA_DISK_READ_LIMIT, FleetState, NodeReading

JOB = "node-exporter"
PORT = 9100
CPU_MODES = ("idle", "iowait", "irq", "nice", "softirq", "steal", "system", "user")
# Share of non-idle, non-iowait CPU time per mode.
_BUSY_SPLIT = {"user": 0.8, "system": 0.15, "softirq": 0.035, "irq": 0.015}
_DISKS = ("nvme0n1", "nvme0n1p1", "nvme1n1")  # OS disk, its partition, data disk
_NICS = ("eth0", "lo", "veth3f9a1c2e")
_BOOT_AGE_SECONDS = 3 * 86400.0
_SECTOR = 4096.0  # bytes per I/O for the completed-operations counters
NFS_EXPORT = "nfs-datasets.storage.svc:/datasets"
NFS_SHARE = 0.3  # share of the dataset bytes read over NFS rather than from the data disk
# Share of wall time tasks wait for I/O, per unit of data-disk load and of iowait.
_PRESSURE_PER_DISK_LOAD = 0.6


def instance(node: Node) -> str:
    """Returns the node-exporter instance label of `node`."""
    return f"{node.host_ip}:{PORT}"


class _NodeSeries:
    """The handles of one node."""

    def __init__(self, registry: Registry, node: Node, start: float) -> None:
        target = {"instance": instance(node), "job": JOB}
        uptime = _BOOT_AGE_SECONDS
        self.cpu = [
            {
                mode: registry.counter(
                    ["node_cpu_seconds_total"],
                    {"cpu": str(cpu), "mode": mode, **target},
                    start=uptime * (0.8 if mode == "idle" else 0.02),
                )
                for mode in CPU_MODES
            }
            for cpu in range(node.cpus)
        ]
        self.memory = {
            name: registry.gauge([f"node_memory_{name}_bytes"], target)
            for name in ("MemTotal", "MemAvailable", "MemFree", "Cached", "Buffers")
        }
        self.disks = {
            device: {
                name: registry.counter(
                    [name],
                    {"device": device, **target},
                    start=1e6,
                    integer=not name.endswith("_seconds_total"),
                )
                for name in (
                    "node_disk_read_bytes_total",
                    "node_disk_written_bytes_total",
                    "node_disk_reads_completed_total",
                    "node_disk_writes_completed_total",
                    "node_disk_io_time_seconds_total",
                )
            }
            for device in _DISKS
        }
        self.nics = {
            device: {
                name: registry.counter(
                    [name], {"device": device, **target}, start=1e9, integer=True
                )
                for name in (
                    "node_network_receive_bytes_total",
                    "node_network_transmit_bytes_total",
                )
            }
            for device in _NICS
        }
        filesystem = {
            "device": "/dev/nvme0n1p1",
            "fstype": "ext4",
            "mountpoint": "/",
            "device_error": "",
            **target,
        }
        self.filesystem = {
            name: registry.gauge([name], filesystem)
            for name in ("node_filesystem_size_bytes", "node_filesystem_avail_bytes")
        }
        self.load1 = registry.gauge(["node_load1"], target)
        self.io_pressure = registry.counter(
            ["node_pressure_io_waiting_seconds_total"], target, start=uptime * 0.01
        )
        nfs = {"export": NFS_EXPORT, "protocol": "tcp", "mountaddr": "10.96.0.40", **target}
        self.nfs_read = registry.counter(
            ["node_mountstats_nfs_total_read_bytes_total"], nfs, start=1e9, integer=True
        )
        uname = {
            "nodename": node.name,
            "sysname": "Linux",
            "release": "5.15.0-1063-nvidia",
            "version": "#64-Ubuntu SMP",
            "machine": "x86_64",
            "domainname": "(none)",
            **target,
        }
        registry.gauge(["node_uname_info"], uname).set(1)
        registry.gauge(["node_boot_time_seconds"], target).set(round(start - _BOOT_AGE_SECONDS))
        registry.up(target)


class NodeExporter:
    """Sets the node-exporter series of every node from the fleet state."""

    def __init__(self, registry: Registry, fleet: Fleet, start: float) -> None:
        self._nodes = [(node, _NodeSeries(registry, node, start)) for node in fleet.nodes]

    def update(self, dt: float, state: FleetState) -> None:
        """Advances every node's counters by `dt` seconds and sets its gauges."""
        for node, series in self._nodes:
            r = state.nodes[node.name]
            self._cpu(series, r, dt)
            total = float(node.memory_bytes)
            available = total - r.memory_used
            series.memory["MemTotal"].set(total)
            series.memory["MemAvailable"].set(round(available))
            series.memory["MemFree"].set(round(available * 0.4))
            series.memory["Cached"].set(round(available * 0.55))
            series.memory["Buffers"].set(round(total * 0.002))
            series.load1.set(round(r.cpu_busy * node.cpus * 1.1, 2))
            series.filesystem["node_filesystem_size_bytes"].set(1.92e12)
            series.filesystem["node_filesystem_avail_bytes"].set(1.2e12)
            self._disks(series, r, dt)
            self._nics(series, r, dt)
            load = r.data_read / DATA_DISK_READ_LIMIT
            waiting = min(1.0, _PRESSURE_PER_DISK_LOAD * load + r.iowait_share)
            series.io_pressure.inc(waiting * dt)
            series.nfs_read.inc(NFS_SHARE * r.data_read * dt)

    def _cpu(self, series: _NodeSeries, r: NodeReading, dt: float) -> None:
        busy = r.cpu_busy
        iowait = busy * r.iowait_share
        working = busy - iowait
        for modes in series.cpu:
            modes["idle"].inc((1 - busy) * dt)
            modes["iowait"].inc(iowait * dt)
            for mode, share in _BUSY_SPLIT.items():
                modes[mode].inc(working * share * dt)
            modes["nice"].inc(0)
            modes["steal"].inc(0)

    def _disks(self, series: _NodeSeries, r: NodeReading, dt: float) -> None:
        root, partition, data = (series.disks[d] for d in _DISKS)
        for disk, read, written in (
            (root, r.root_read, r.root_write),
            (partition, r.root_read, r.root_write),  # the partition repeats its disk's I/O
            (data, r.data_read, r.data_write),
        ):
            disk["node_disk_read_bytes_total"].inc(read * dt)
            disk["node_disk_written_bytes_total"].inc(written * dt)
            disk["node_disk_reads_completed_total"].inc(read * dt / _SECTOR / 32)
            disk["node_disk_writes_completed_total"].inc(written * dt / _SECTOR / 32)
        busy = min(1.0, 0.02 + r.data_read / DATA_DISK_READ_LIMIT)
        data["node_disk_io_time_seconds_total"].inc(busy * dt)
        root["node_disk_io_time_seconds_total"].inc(0.01 * dt)
        partition["node_disk_io_time_seconds_total"].inc(0.01 * dt)

    def _nics(self, series: _NodeSeries, r: NodeReading, dt: float) -> None:
        physical, loopback, veth = (series.nics[d] for d in _NICS)
        physical["node_network_receive_bytes_total"].inc(r.network_receive * dt)
        physical["node_network_transmit_bytes_total"].inc(r.network_transmit * dt)
        loopback["node_network_receive_bytes_total"].inc(2e5 * dt)
        loopback["node_network_transmit_bytes_total"].inc(2e5 * dt)
        # A pod's veth carries that pod's traffic again: physical NICs only, or it counts twice.
        veth["node_network_receive_bytes_total"].inc(r.network_transmit * 0.9 * dt)
        veth["node_network_transmit_bytes_total"].inc(r.network_receive * 0.9 * dt)
