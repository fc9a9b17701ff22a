"""Scenarios: what the fleet's workloads do, as `Conditions` over time.

Before a scenario's onset every scenario is `healthy`; from the onset on its anomaly holds for
the rest of the run. Levels are derived from settings.thresholds, so `healthy` stays clear of
every threshold and each anomaly crosses its own whatever the thresholds are set to.

| scenario            | what happens from the onset on                                           |
|---------------------|--------------------------------------------------------------------------|
| healthy             | training GPUs busy, CPUs moderate, serving latency well under target     |
| data-starved        | training GPUs mostly idle while node CPUs are busy and the data NVMe     |
|                     | reads at its limit (the input pipeline cannot keep up)                   |
| thermal-throttling  | the first training GPU heats above the critical temperature; SM clock    |
|                     | and power drop                                                           |
| xid-error           | the first training GPU reports XID 79 (fallen off the bus) and goes idle |
| kv-cache-saturated  | the first replica of the first model runs its KV cache above the ratio   |
|                     | threshold; its waiting requests and preemptions climb (queue stays below |
|                     | the waiting-requests threshold)                                          |
| ttft-slo-breach     | the first model's TTFT p99 rises to ~4x the target (queueing and prefill)|
| requests-queueing   | every replica of the first model queues 1.5x the waiting-requests        |
|                     | threshold (summed over the model); queue time and TTFT grow with it      |
| request-errors      | the first model aborts 3x the request-error ratio of its requests; Ray   |
|                     | Serve answers part of them with 500                                      |
| idle-allocated-gpus | the training job's pods keep their GPUs but do nothing on them           |
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

from generator.settings import Thresholds
from generator.synthetic.fleet import Fleet, Gpu, Replica

DEFAULT_ONSET_SECONDS = 600.0  # scenarios start healthy for ten minutes


@dataclass(frozen=True)
class Conditions:
    """What the workloads do at one instant; FleetState turns it into readings."""

    training_gpu_busy: float  # 0-1 share of time the training job's GPUs compute
    training_cpu_busy: float  # 0-1 busy share of CPUs on the training job's nodes
    training_iowait_share: float  # share of the busy CPU time spent waiting for I/O
    training_read_share: float  # 0-1 share of the data disk's read bandwidth the job uses
    training_memory_share: float  # 0-1 share of each training GPU's framebuffer in use
    serving_memory_share: float  # 0-1 framebuffer share vLLM reserves (gpu_memory_utilization)
    cpu_busy_ceiling: float  # highest node CPU busy share noise may reach
    gpu_temperature_ceiling: float  # highest temperature (°C) a GPU reaches on its own
    kv_cache_ceiling: float  # highest KV-cache usage a replica reaches on its own
    waiting_ceiling: float  # most waiting requests a replica reaches on its own
    ttft_median_seconds: float  # median TTFT of a healthy model
    inter_token_median_seconds: float
    e2e_ceiling_seconds: float  # median end-to-end latency never exceeds this
    failed_request_share: float = 0.01  # 0-1 share of finished requests aborted or failed
    gpu_temperature: Mapping[str, float] = field(default_factory=dict)  # UUID -> °C
    gpu_clock_ratio: Mapping[str, float] = field(default_factory=dict)  # UUID -> clock/max
    gpu_xid: Mapping[str, int] = field(default_factory=dict)  # UUID -> last XID
    gpu_busy: Mapping[str, float] = field(default_factory=dict)  # UUID -> forced busy share
    kv_cache_usage: Mapping[str, float] = field(default_factory=dict)  # replica pod -> 0-1
    waiting_requests: Mapping[str, float] = field(default_factory=dict)  # replica pod -> count
    ttft_median_by_model: Mapping[str, float] = field(default_factory=dict)  # model -> seconds
    queue_median_by_model: Mapping[str, float] = field(default_factory=dict)  # model -> seconds
    failed_share_by_model: Mapping[str, float] = field(default_factory=dict)  # model -> 0-1


def healthy_conditions(limits: Thresholds) -> Conditions:
    """Returns the conditions of a healthy fleet, clear of every threshold in `limits`."""
    return Conditions(
        training_gpu_busy=min(0.95, max(limits.gpu_busy_ratio + 0.1, 0.9)),
        training_cpu_busy=min(0.35, limits.cpu_busy_ratio * 0.5),
        training_iowait_share=0.02,
        training_read_share=0.12,
        training_memory_share=min(0.78, limits.gpu_framebuffer_used_ratio - 0.1),
        serving_memory_share=min(0.9, limits.gpu_framebuffer_used_ratio - 0.04),
        cpu_busy_ceiling=limits.cpu_busy_ratio * 0.8,
        gpu_temperature_ceiling=limits.gpu_temperature_warning_celsius - 5,
        kv_cache_ceiling=limits.kv_cache_usage_ratio * 0.75,
        waiting_ceiling=max(0.0, limits.waiting_requests * 0.1),
        ttft_median_seconds=min(0.15, limits.ttft_target_seconds / 8),
        inter_token_median_seconds=min(0.025, limits.inter_token_target_seconds / 6),
        e2e_ceiling_seconds=limits.e2e_target_seconds / 6,
        failed_request_share=min(0.01, limits.request_error_ratio * 0.2),
    )


Apply = Callable[[Conditions, Fleet, Thresholds], Conditions]


@dataclass(frozen=True)
class Scenario:
    """A named scenario: `apply` changes the healthy conditions from the onset on."""

    name: str
    summary: str
    apply: Apply
    affects: Callable[[Fleet], dict[str, str]]

    def conditions(self, fleet: Fleet, limits: Thresholds, active: bool) -> Conditions:
        """Returns the conditions at an instant; `active` is True from the onset on."""
        healthy = healthy_conditions(limits)
        return self.apply(healthy, fleet, limits) if active else healthy

    def affected(self, fleet: Fleet) -> dict[str, str]:
        """Returns labels that identify what the scenario hits (empty for healthy)."""
        return self.affects(fleet)


def first_training_gpu(fleet: Fleet) -> Gpu:
    """Returns the GPU that thermal-throttling and xid-error hit: the first training GPU."""
    for worker in fleet.training.workers:
        gpus = fleet.gpus_of(worker)
        if gpus:
            return gpus[0]
    return fleet.gpus[0]


def first_replica(fleet: Fleet) -> Replica:
    """Returns the replica that kv-cache-saturated hits: the first one of the first model."""
    if not fleet.replicas:
        raise ValueError("this scenario needs at least one vLLM replica")
    return fleet.replicas[0]


def _gpu_labels(fleet: Fleet) -> dict[str, str]:
    gpu = first_training_gpu(fleet)
    return {"Hostname": gpu.node, "gpu": str(gpu.index), "UUID": gpu.uuid}


def _training_labels(fleet: Fleet) -> dict[str, str]:
    return {"namespace": fleet.training.namespace, "job_name": fleet.training.name}


def _replica_labels(fleet: Fleet) -> dict[str, str]:
    replica = first_replica(fleet)
    return {
        "namespace": replica.pod.namespace,
        "model_name": replica.model,
        "pod": replica.pod.name,
    }


def _model_labels(fleet: Fleet) -> dict[str, str]:
    replica = first_replica(fleet)
    return {"namespace": replica.pod.namespace, "model_name": replica.model}


def _healthy(c: Conditions, fleet: Fleet, limits: Thresholds) -> Conditions:
    return c


def _nothing(fleet: Fleet) -> dict[str, str]:
    return {}


def _data_starved(c: Conditions, fleet: Fleet, limits: Thresholds) -> Conditions:
    busy_cpu = min(0.97, max(0.92, limits.cpu_busy_ratio + 0.1))
    return replace(
        c,
        training_gpu_busy=min(0.2, limits.gpu_busy_ratio * 0.3),
        training_cpu_busy=busy_cpu,
        training_iowait_share=0.12,
        training_read_share=0.97,
        cpu_busy_ceiling=0.99,
    )


def _thermal_throttling(c: Conditions, fleet: Fleet, limits: Thresholds) -> Conditions:
    uuid = first_training_gpu(fleet).uuid
    return replace(
        c,
        gpu_temperature={uuid: limits.gpu_temperature_critical_celsius + 5},
        gpu_clock_ratio={uuid: 0.62},
    )


def _xid_error(c: Conditions, fleet: Fleet, limits: Thresholds) -> Conditions:
    uuid = first_training_gpu(fleet).uuid
    return replace(c, gpu_xid={uuid: 79}, gpu_busy={uuid: 0.0})


def _kv_cache_saturated(c: Conditions, fleet: Fleet, limits: Thresholds) -> Conditions:
    pod = first_replica(fleet).pod.name
    usage = min(0.995, limits.kv_cache_usage_ratio + 0.5 * (1 - limits.kv_cache_usage_ratio))
    return replace(
        c,
        kv_cache_usage={pod: usage},
        waiting_requests={pod: max(1.0, limits.waiting_requests * 0.6)},
    )


def _ttft_slo_breach(c: Conditions, fleet: Fleet, limits: Thresholds) -> Conditions:
    model = first_replica(fleet).model
    median = limits.ttft_target_seconds * 1.2  # with the TTFT spread, p99 is ~4x the target
    return replace(
        c,
        ttft_median_by_model={model: median},
        queue_median_by_model={model: median * 0.7},
    )


def _requests_queueing(c: Conditions, fleet: Fleet, limits: Thresholds) -> Conditions:
    model = first_replica(fleet).model
    pods = [r.pod.name for r in fleet.replicas if r.model == model]
    waiting = math.ceil(max(1, limits.waiting_requests) * 1.5 / len(pods))
    queue = limits.ttft_target_seconds * 0.8  # the wait eats most of the TTFT target
    return replace(
        c,
        waiting_requests=dict.fromkeys(pods, float(waiting)),
        queue_median_by_model={model: queue},
        ttft_median_by_model={model: c.ttft_median_seconds + queue},
    )


def _request_errors(c: Conditions, fleet: Fleet, limits: Thresholds) -> Conditions:
    share = min(0.95, max(0.05, limits.request_error_ratio * 3))
    return replace(c, failed_share_by_model={first_replica(fleet).model: share})


def _idle_allocated(c: Conditions, fleet: Fleet, limits: Thresholds) -> Conditions:
    return replace(
        c,
        training_gpu_busy=0.005,
        training_cpu_busy=0.03,
        training_iowait_share=0.0,
        training_read_share=0.0,
        training_memory_share=0.02,
    )


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            "healthy", "Busy training, fast serving; no threshold crossed.", _healthy, _nothing
        ),
        Scenario(
            "data-starved",
            "Training GPUs wait for data: GPU activity low, CPUs busy, data NVMe reads saturated.",
            _data_starved,
            _training_labels,
        ),
        Scenario(
            "thermal-throttling",
            "The first training GPU runs above the critical temperature with lowered clocks.",
            _thermal_throttling,
            _gpu_labels,
        ),
        Scenario(
            "xid-error",
            "The first training GPU reports XID 79 (GPU has fallen off the bus).",
            _xid_error,
            _gpu_labels,
        ),
        Scenario(
            "kv-cache-saturated",
            "One vLLM replica keeps its KV cache above the threshold; waiting requests climb.",
            _kv_cache_saturated,
            _replica_labels,
        ),
        Scenario(
            "ttft-slo-breach",
            "The first model's time-to-first-token p99 stays far above the target.",
            _ttft_slo_breach,
            _model_labels,
        ),
        Scenario(
            "requests-queueing",
            "Requests of the first model pile up above the waiting threshold; TTFT follows.",
            _requests_queueing,
            _model_labels,
        ),
        Scenario(
            "request-errors",
            "The first model aborts several times the tolerated share of its requests.",
            _request_errors,
            _model_labels,
        ),
        Scenario(
            "idle-allocated-gpus",
            "The training job's pods hold their GPUs but leave them idle.",
            _idle_allocated,
            _training_labels,
        ),
    )
}


def get_scenario(name: str) -> Scenario:
    """Returns the scenario called `name`; an unknown name raises ValueError listing all."""
    try:
        return SCENARIOS[name]
    except KeyError:
        raise ValueError(
            f"unknown scenario {name!r}; choose one of: {', '.join(SCENARIOS)}"
        ) from None


def scenario_names() -> list[str]:
    """Returns every scenario name, healthy first."""
    return list(SCENARIOS)
