"""The physical state of the fleet, tick by tick: what GPUs, nodes, pods and vLLM replicas are
doing, in natural units, before any exporter names it.

Every reading follows its target from `Conditions` smoothly (a first-order lag) with a little
noise from one seeded generator, so runs are deterministic and exporters that look at the same
thing (DCGM and Ray for a GPU, node-exporter and cAdvisor for CPU) agree with each other.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from generator.synthetic.fleet import Fleet, Gpu, Node, Pod, Replica
from generator.synthetic.scenarios import Conditions

MAX_SM_CLOCK_MHZ = 1980.0
IDLE_SM_CLOCK_MHZ = 345.0
MEMORY_CLOCK_MHZ = 2619.0
IDLE_POWER_WATTS = 72.0
BUSY_POWER_WATTS = 610.0  # on top of idle at full activity
FRAMEBUFFER_RESERVED_MIB = 529.0
DATA_DISK_READ_LIMIT = 3.2e9  # bytes/s the data NVMe can read
REQUESTS_PER_REPLICA = 4.0  # requests/s a replica gets on average
MAX_RUNNING_REQUESTS = 256.0  # vLLM's max_num_seqs
PROMPT_TOKENS_MEDIAN = 600.0
GENERATION_TOKENS_MEDIAN = 180.0
PROMPT_TOKENS_SPREAD = 0.9  # sigma of the lognormal distributions below
GENERATION_TOKENS_SPREAD = 0.7
TTFT_SPREAD = 0.55
INTER_TOKEN_SPREAD = 0.35
E2E_SPREAD = 0.5
QUEUE_SPREAD = 0.8
PHASE_SPREAD = 0.5  # prefill, decode and inference times
RESPONSE_SECONDS = 35.0  # time constant with which readings follow their targets


def lognormal_mean(median: float, spread: float) -> float:
    """Returns the mean of a lognormal distribution with this median and sigma."""
    return median * math.exp(spread * spread / 2)


@dataclass
class GpuReading:
    """What one GPU does at the current tick."""

    busy: float = 0.0  # 0-1 share of time a kernel runs
    utilisation: float = 0.0  # percent, 0-100
    temperature: float = 35.0  # °C
    power: float = IDLE_POWER_WATTS  # watts
    sm_clock: float = IDLE_SM_CLOCK_MHZ  # MHz
    framebuffer_used: float = 0.0  # MiB
    framebuffer_free: float = 0.0  # MiB
    xid: int = 0
    pcie_rx: float = 0.0  # bytes/s
    pcie_tx: float = 0.0  # bytes/s


@dataclass
class NodeReading:
    """What one node's CPUs, disks, NIC and memory do at the current tick."""

    cpu_busy: float = 0.1  # 0-1 share of all CPU time not idle
    iowait_share: float = 0.01  # share of the busy time waiting for I/O
    data_read: float = 0.0  # bytes/s read from the data NVMe
    data_write: float = 0.0  # bytes/s
    root_read: float = 2e6
    root_write: float = 8e6
    network_receive: float = 0.0  # bytes/s on the physical NIC
    network_transmit: float = 0.0
    memory_used: float = 0.0  # bytes


@dataclass
class PodReading:
    """What one pod uses at the current tick."""

    cpu_cores: float = 0.0
    memory: float = 0.0  # working set bytes
    network_receive: float = 0.0  # bytes/s
    network_transmit: float = 0.0


@dataclass
class ReplicaReading:
    """The load and latency distribution of one vLLM replica at the current tick."""

    request_rate: float = REQUESTS_PER_REPLICA  # finished requests/s
    running: float = 0.0
    waiting: float = 0.0
    kv_cache_usage: float = 0.2  # 0-1
    preemption_rate: float = 0.0  # preemptions/s
    prefix_hit_ratio: float = 0.35
    failed_share: float = 0.01  # share of finished requests aborted or failed
    ttft_median: float = 0.15  # seconds, and so on for the medians below
    queue_median: float = 0.01
    prefill_median: float = 0.1
    decode_median: float = 4.0
    e2e_median: float = 4.5
    inter_token_median: float = 0.025


class FleetState:
    """Readings of every GPU (by UUID), node, pod and replica (by pod name) at the last tick."""

    def __init__(self, fleet: Fleet, seed: int) -> None:
        self.fleet = fleet
        self._rng = random.Random(f"{seed}/state")
        self.gpus = {g.uuid: GpuReading() for g in fleet.gpus}
        self.nodes = {n.name: NodeReading() for n in fleet.nodes}
        self.pods = {p.name: PodReading() for p in fleet.pods}
        self.replicas = {r.pod.name: ReplicaReading() for r in fleet.replicas}
        self._training_nodes = {w.node for w in fleet.training.workers}
        self._replicas_on = {
            n.name: sum(1 for r in fleet.replicas if r.pod.node == n.name) for n in fleet.nodes
        }
        self._roles = {g.uuid: self._role(g) for g in fleet.gpus}
        self._first = True

    def update(self, elapsed: float, step: float, conditions: Conditions) -> None:
        """Moves every reading one tick of `step` seconds towards `conditions`; `elapsed` is
        seconds since the start. The first tick starts at the targets."""
        pull = 1.0 if self._first else 1 - math.exp(-step / RESPONSE_SECONDS)
        self._first = False
        for replica in self.fleet.replicas:
            self._replica(replica, elapsed, conditions, pull)
        for node in self.fleet.nodes:
            for gpu in node.gpus:
                self._gpu(gpu, conditions, pull)
            self._node(node, conditions, pull)
        for pod in self.fleet.pods:
            self._pod(pod, pull)

    # ---- GPUs --------------------------------------------------------------------------

    def _role(self, gpu: Gpu) -> str:
        if not gpu.pod:
            return "idle"
        return "serving" if gpu.pod in {r.pod.name for r in self.fleet.replicas} else "training"

    def _gpu(self, gpu: Gpu, c: Conditions, pull: float) -> None:
        r = self.gpus[gpu.uuid]
        role = self._roles[gpu.uuid]
        if role == "training":
            busy, memory = c.training_gpu_busy, c.training_memory_share
        elif role == "serving":
            load = self.replicas[gpu.pod].request_rate / REQUESTS_PER_REPLICA
            busy, memory = min(0.9, 0.45 + 0.25 * load), c.serving_memory_share
        else:
            busy, memory = 0.0, 0.0
        busy = c.gpu_busy.get(gpu.uuid, busy)
        noise = 0.015 if busy > 0.05 else 0.002
        r.busy = _clamp(self._follow(r.busy, busy, pull, noise), 0.0, 1.0)
        r.utilisation = round(100 * r.busy)
        clock_ratio = c.gpu_clock_ratio.get(gpu.uuid, 1.0)
        r.sm_clock = round(MAX_SM_CLOCK_MHZ * clock_ratio) if r.busy > 0.02 else IDLE_SM_CLOCK_MHZ
        power = IDLE_POWER_WATTS + BUSY_POWER_WATTS * r.busy * clock_ratio
        r.power = max(IDLE_POWER_WATTS * 0.9, self._follow(r.power, power, pull, 4.0))
        if gpu.uuid in c.gpu_temperature:
            temperature = c.gpu_temperature[gpu.uuid]
            r.temperature = self._follow(r.temperature, temperature, pull * 0.6, 0.3)
        else:
            target = min(32.0 + 0.05 * r.power, c.gpu_temperature_ceiling - 1)
            r.temperature = min(
                self._follow(r.temperature, target, pull * 0.6, 0.3), c.gpu_temperature_ceiling
            )
        total = gpu.framebuffer_mib - FRAMEBUFFER_RESERVED_MIB
        used = total * memory
        jitter = 150.0 if role == "training" and memory > 0.1 else 0.0
        r.framebuffer_used = round(_clamp(used + self._rng.gauss(0, jitter), 0, total))
        r.framebuffer_free = total - r.framebuffer_used
        r.xid = c.gpu_xid.get(gpu.uuid, 0)
        if role == "training":
            r.pcie_rx, r.pcie_tx = 2.0e9 * r.busy, 4.0e8 * r.busy
        else:
            r.pcie_rx, r.pcie_tx = 2.0e8 * r.busy, 1.0e8 * r.busy

    # ---- nodes and pods ----------------------------------------------------------------

    def _node(self, node: Node, c: Conditions, pull: float) -> None:
        r = self.nodes[node.name]
        replicas = self._replicas_on[node.name]
        training = node.name in self._training_nodes
        if training:
            busy = c.training_cpu_busy + 0.02 * replicas
            iowait, read_share = c.training_iowait_share, c.training_read_share
        else:
            busy, iowait, read_share = 0.06 + 0.03 * replicas, 0.01, 0.0
        r.cpu_busy = _clamp(self._follow(r.cpu_busy, busy, pull, 0.012), 0.01, c.cpu_busy_ceiling)
        r.iowait_share = iowait
        read = read_share * DATA_DISK_READ_LIMIT if read_share else 4e6
        r.data_read = _clamp(
            self._follow(r.data_read, read, pull, read * 0.02), 0, DATA_DISK_READ_LIMIT * 0.995
        )
        r.data_write = max(0.0, self._follow(r.data_write, 3e7 if training else 1e6, pull, 2e6))
        gpu_busy = [self.gpus[g.uuid].busy for g in node.gpus if self._roles[g.uuid] == "training"]
        sync = 1.2e9 * (sum(gpu_busy) / len(gpu_busy) if gpu_busy else 0.0)
        r.network_receive = max(0.0, sync + 3e6 * replicas + self._rng.gauss(0, 1e6))
        r.network_transmit = max(0.0, sync + 2e6 * replicas + self._rng.gauss(0, 1e6))
        r.memory_used = node.memory_bytes * (0.3 + 0.1 * r.cpu_busy)

    def _pod(self, pod: Pod, pull: float) -> None:
        r = self.pods[pod.name]
        node = self.nodes[pod.node]
        cpus = self.fleet.node(pod.node).cpus
        if pod.role == "training-worker":
            cores = node.cpu_busy * cpus * 0.9
            memory, traffic = 0.25 * self.fleet.node(pod.node).memory_bytes, 0.95
        elif pod.role == "serving":
            cores = 1.0 + 0.15 * self.replicas[pod.name].request_rate
            memory, traffic = 24e9, 0.0
        elif pod.role in ("training-head", "serving-head"):
            cores, memory, traffic = 0.8, 6e9, 0.0
        else:
            cores, memory, traffic = 0.03, 3e8, 0.0
        r.cpu_cores = max(0.001, self._follow(r.cpu_cores, cores, pull, cores * 0.03))
        r.memory = max(1e6, self._follow(r.memory, memory, pull, memory * 0.002))
        r.network_receive = node.network_receive * traffic + 5e4
        r.network_transmit = node.network_transmit * traffic + 5e4

    # ---- vLLM replicas -----------------------------------------------------------------

    def _replica(self, replica: Replica, elapsed: float, c: Conditions, pull: float) -> None:
        r = self.replicas[replica.pod.name]
        pod = replica.pod.name
        phase = 2 * math.pi * (elapsed / 3600 + replica.index * 0.3)
        rate = REQUESTS_PER_REPLICA * (1 + 0.15 * math.sin(phase))
        r.request_rate = max(0.1, self._follow(r.request_rate, rate, pull, 0.1))
        saturated = pod in c.kv_cache_usage
        ttft = c.ttft_median_by_model.get(replica.model, c.ttft_median_seconds)
        if saturated:
            ttft = min(ttft * 2, c.ttft_median_seconds * 2)  # queueing, kept under the SLO
        r.ttft_median = ttft * (1 + self._rng.gauss(0, 0.02))
        queue = c.queue_median_by_model.get(replica.model, ttft * 0.1)
        r.queue_median = queue * (2.5 if saturated else 1.0)
        r.prefill_median = max(0.6 * r.ttft_median, r.ttft_median - r.queue_median)
        r.inter_token_median = c.inter_token_median_seconds * (1 + self._rng.gauss(0, 0.02))
        decode = lognormal_mean(GENERATION_TOKENS_MEDIAN, GENERATION_TOKENS_SPREAD)
        r.decode_median = decode * r.inter_token_median
        forced = replica.model in c.ttft_median_by_model
        e2e = r.ttft_median + r.decode_median
        r.e2e_median = e2e if forced else min(e2e, c.e2e_ceiling_seconds)
        mean_e2e = lognormal_mean(r.e2e_median, E2E_SPREAD)
        r.running = round(_clamp(r.request_rate * mean_e2e, 0, MAX_RUNNING_REQUESTS))
        waiting = c.waiting_requests.get(pod, 0.5)
        ceiling = max(waiting, c.waiting_ceiling)
        r.waiting = round(_clamp(self._follow(r.waiting, waiting, pull, 0.4), 0, ceiling))
        kv_target = c.kv_cache_usage.get(pod, 0.18 + 0.008 * r.running)
        kv_ceiling = max(kv_target, c.kv_cache_ceiling)
        kv_noise = 0.004 if saturated else 0.01
        kv = self._follow(r.kv_cache_usage, kv_target, pull, kv_noise)
        r.kv_cache_usage = _clamp(kv, 0.0, kv_ceiling)
        r.preemption_rate = 0.4 if saturated else 0.0
        r.failed_share = c.failed_share_by_model.get(replica.model, c.failed_request_share)

    def _follow(self, current: float, target: float, pull: float, spread: float) -> float:
        """One step of a first-order lag towards `target` with noise; `spread` is the standard
        deviation the noise settles at, whatever the step."""
        noise = spread * math.sqrt(pull * (2 - pull))
        return current + pull * (target - current) + self._rng.gauss(0, noise)


def _clamp(value: float, low: float, high: float) -> float:
    return min(max(value, low), high)
