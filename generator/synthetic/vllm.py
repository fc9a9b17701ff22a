"""vLLM series of every replica: scheduler gauges, token and request counters, latency and
request-size histograms (V1 buckets, seconds).

Names follow settings.exporters.vllm: the prefix (vllm:, ray_vllm:, ray_vllm_) and the naming
generation (current, legacy, or either: both generations with identical values, as vLLM does
during a deprecation window), through the same `Queries.vllm_names` the dashboards use.
Labels are vLLM's (model_name, engine) plus the scrape target's (namespace, pod, instance, job);
inside Ray Serve they come through Ray's agent with WorkerId, ReplicaId and ray_io_cluster.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from generator.queries import Queries
from generator.synthetic.families import Counter, Gauge, Histogram, Registry
from generator.synthetic.fleet import Fleet, Replica
from generator.synthetic.ray import ray_target_labels
from generator.synthetic.state import (
    E2E_SPREAD,
    GENERATION_TOKENS_MEDIAN,
    GENERATION_TOKENS_SPREAD,
    INTER_TOKEN_SPREAD,
    PHASE_SPREAD,
    PROMPT_TOKENS_MEDIAN,
    PROMPT_TOKENS_SPREAD,
    QUEUE_SPREAD,
    TTFT_SPREAD,
    FleetState,
    ReplicaReading,
    lognormal_mean,
)

PORT = 8000
MAX_MODEL_LEN = 8192
TTFT_BUCKETS = (0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5,
                5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0)  # fmt: skip
INTER_TOKEN_BUCKETS = (0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0,
                       2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0)  # fmt: skip
REQUEST_TIME_BUCKETS = (0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0,
                        50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0)  # fmt: skip
# Shares of the requests that complete; the aborted share comes from the replica's reading.
COMPLETED_REASONS = (("stop", 0.87), ("length", 0.13))
FAILED_REASON = "abort"


def token_buckets(max_model_len: int = MAX_MODEL_LEN) -> tuple[float, ...]:
    """Returns vLLM's 1-2-5 token buckets up to `max_model_len` (1, 2, 5, 10, 20, 50, ...)."""
    bounds: list[float] = []
    exponent = 0
    while True:
        for mantissa in (1, 2, 5):
            value = mantissa * 10**exponent
            if value > max_model_len:
                return tuple(bounds)
            bounds.append(float(value))
        exponent += 1


def lognormal_shares(bounds: Sequence[float], median: float, spread: float) -> list[float]:
    """Returns the share of a lognormal distribution at or below each bound."""
    centre = math.log(median)
    scale = spread * math.sqrt(2)
    return [0.5 * math.erfc((centre - math.log(b)) / scale) for b in bounds]


def replica_labels(fleet: Fleet, replica: Replica) -> dict[str, str]:
    """Returns the labels of every series of `replica`, target labels included."""
    own = {"model_name": replica.model, "engine": replica.engine}
    pod = replica.pod
    if fleet.ray_serve:
        _cluster, session = fleet.ray_cluster_of(pod)
        ray = {"WorkerId": replica.worker_id, "ReplicaId": replica.replica_id}
        return {**own, **ray, "SessionName": session, **ray_target_labels(fleet, pod)}
    return {
        **own,
        "namespace": pod.namespace,
        "pod": pod.name,
        "container": pod.container,
        "instance": f"{pod.ip}:{PORT}",
        "job": replica.deployment,
        "service": replica.deployment,
        "endpoint": "http",
    }


class _ReplicaSeries:
    """The handles of one replica."""

    def __init__(self, registry: Registry, names: Queries, labels: dict[str, str]) -> None:
        def exposed(metric: str) -> list[str]:
            return names.vllm_names("vllm:" + metric)

        self.gauges: dict[str, Gauge] = {
            m: registry.gauge(exposed(m), labels)
            for m in ("num_requests_running", "num_requests_waiting", "kv_cache_usage_perc")
        }
        self.counters: dict[str, Counter] = {
            m: registry.counter(exposed(m), labels, integer=True)
            for m in (
                "prompt_tokens_total",
                "generation_tokens_total",
                "num_preemptions_total",
                "prefix_cache_queries_total",
                "prefix_cache_hits_total",
            )
        }
        self.finished: dict[str, Counter] = {
            reason: registry.counter(
                exposed("request_success_total"),
                {**labels, "finished_reason": reason},
                integer=True,
            )
            for reason in (*(reason for reason, _share in COMPLETED_REASONS), FAILED_REASON)
        }
        tokens = token_buckets()
        self.histograms: dict[str, Histogram] = {
            m: registry.histogram(exposed(m), labels, bounds)
            for m, bounds in (
                ("time_to_first_token_seconds", TTFT_BUCKETS),
                ("inter_token_latency_seconds", INTER_TOKEN_BUCKETS),
                ("e2e_request_latency_seconds", REQUEST_TIME_BUCKETS),
                ("request_queue_time_seconds", REQUEST_TIME_BUCKETS),
                ("request_prefill_time_seconds", REQUEST_TIME_BUCKETS),
                ("request_decode_time_seconds", REQUEST_TIME_BUCKETS),
                ("request_inference_time_seconds", REQUEST_TIME_BUCKETS),
                ("request_prompt_tokens", tokens),
                ("request_generation_tokens", tokens),
            )
        }


class VllmExporter:
    """Sets the vLLM series of every replica from the fleet state."""

    def __init__(self, registry: Registry, fleet: Fleet, names: Queries) -> None:
        self._replicas: list[tuple[Replica, _ReplicaSeries]] = []
        for replica in fleet.replicas:
            labels = replica_labels(fleet, replica)
            target = ("instance", "job", "namespace", "pod", "ray_io_cluster")
            registry.up({k: labels[k] for k in target if k in labels})
            self._replicas.append((replica, _ReplicaSeries(registry, names, labels)))

    def update(self, dt: float, state: FleetState) -> None:
        """Adds the requests of the last `dt` seconds and sets the scheduler gauges."""
        for replica, series in self._replicas:
            r = state.replicas[replica.pod.name]
            series.gauges["num_requests_running"].set(r.running)
            series.gauges["num_requests_waiting"].set(r.waiting)
            series.gauges["kv_cache_usage_perc"].set(round(r.kv_cache_usage, 6))
            self._requests(series, r, r.request_rate * dt)
            series.counters["num_preemptions_total"].inc(r.preemption_rate * dt)

    @staticmethod
    def _requests(series: _ReplicaSeries, r: ReplicaReading, requests: float) -> None:
        prompt_mean = lognormal_mean(PROMPT_TOKENS_MEDIAN, PROMPT_TOKENS_SPREAD)
        generation_mean = lognormal_mean(GENERATION_TOKENS_MEDIAN, GENERATION_TOKENS_SPREAD)
        prompt_tokens = requests * prompt_mean
        counters = series.counters
        counters["prompt_tokens_total"].inc(prompt_tokens)
        counters["generation_tokens_total"].inc(requests * generation_mean)
        counters["prefix_cache_queries_total"].inc(prompt_tokens)
        counters["prefix_cache_hits_total"].inc(prompt_tokens * r.prefix_hit_ratio)
        for reason, share in COMPLETED_REASONS:
            series.finished[reason].inc(requests * (1 - r.failed_share) * share)
        series.finished[FAILED_REASON].inc(requests * r.failed_share)
        h = series.histograms
        per_request = (
            ("time_to_first_token_seconds", r.ttft_median, TTFT_SPREAD),
            ("e2e_request_latency_seconds", r.e2e_median, E2E_SPREAD),
            ("request_queue_time_seconds", r.queue_median, QUEUE_SPREAD),
            ("request_prefill_time_seconds", r.prefill_median, PHASE_SPREAD),
            ("request_decode_time_seconds", r.decode_median, PHASE_SPREAD),
            ("request_inference_time_seconds", r.prefill_median + r.decode_median, PHASE_SPREAD),
            ("request_prompt_tokens", PROMPT_TOKENS_MEDIAN, PROMPT_TOKENS_SPREAD),
            ("request_generation_tokens", GENERATION_TOKENS_MEDIAN, GENERATION_TOKENS_SPREAD),
        )
        for metric, median, spread in per_request:
            histogram = h[metric]
            shares = lognormal_shares(histogram.bounds, median, spread)
            histogram.observe(requests, shares, lognormal_mean(median, spread))
        tokens_after_first = requests * max(0.0, generation_mean - 1)
        itl = h["inter_token_latency_seconds"]
        shares = lognormal_shares(itl.bounds, r.inter_token_median, INTER_TOKEN_SPREAD)
        itl.observe(
            tokens_after_first, shares, lognormal_mean(r.inter_token_median, INTER_TOKEN_SPREAD)
        )
