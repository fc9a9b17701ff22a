"""Ray Serve series of the serving RayCluster, only when vLLM runs inside Ray Serve: the HTTP
proxy on the head pod (requests, errors and latency per application) and, per LLM deployment
and replica, request and exception counters, processing latency, queued and ongoing requests.

Latencies are Ray Serve's milliseconds with its default buckets; counters are the `_total`
form of Ray >= 2.10. Labels are Serve's tags plus Ray's SessionName and WorkerId and the
labels KubeRay's monitors add (see ray.ray_target_labels).
"""

from __future__ import annotations

from generator.synthetic.families import Gauge, Histogram, Registry
from generator.synthetic.fleet import Fleet, Pod, Replica
from generator.synthetic.naming import hex_id
from generator.synthetic.ray import ray_target_labels
from generator.synthetic.state import E2E_SPREAD, FleetState, ReplicaReading, lognormal_mean
from generator.synthetic.vllm import lognormal_shares

LATENCY_BUCKETS_MS = (1, 2, 5, 10, 20, 50, 100, 200, 300, 400, 500, 1000, 2000, 5000, 10000,
                      60000, 120000, 300000, 600000)  # fmt: skip
ROUTE = "/v1"
PROXY_OVERHEAD_MS = 4.0  # routing and (de)serialisation the proxy adds to a replica's time
ERROR_CODE = "500"
SERVE_ERROR_SHARE = 0.5  # of vLLM's failed requests, those that end as a 500 at the proxy


def serve_labels(fleet: Fleet, pod: Pod, worker_id: str) -> dict[str, str]:
    """Returns the labels Ray adds to Serve metrics of an actor in `pod`."""
    _cluster, session = fleet.ray_cluster_of(pod)
    return {"SessionName": session, "WorkerId": worker_id, **ray_target_labels(fleet, pod)}


class _ReplicaSeries:
    """The handles of one Serve replica (one vLLM engine) and its deployment's queue."""

    def __init__(self, registry: Registry, fleet: Fleet, replica: Replica, app: str) -> None:
        tags = {"deployment": replica.deployment, "replica": replica.replica_id, "application": app}
        labels = {**tags, **serve_labels(fleet, replica.pod, replica.worker_id)}
        routed = {**labels, "route": ROUTE}
        self.requests = registry.counter(
            ["ray_serve_deployment_request_counter_total"], routed, integer=True
        )
        self.errors = registry.counter(
            ["ray_serve_deployment_error_counter_total"], routed, integer=True
        )
        self.latency = registry.histogram(
            ["ray_serve_deployment_processing_latency_ms"], routed, LATENCY_BUCKETS_MS
        )
        self.processing = registry.gauge(["ray_serve_replica_processing_queries"], labels)


class _ProxySeries:
    """The handles of the HTTP proxy on the head pod for one application."""

    def __init__(self, registry: Registry, fleet: Fleet, head: Pod, app: str) -> None:
        labels = {
            "route": ROUTE,
            "method": "POST",
            "application": app,
            **serve_labels(fleet, head, hex_id(f"proxy/{head.name}", 56)),
        }
        requests = "ray_serve_num_http_requests_total"
        self.ok = registry.counter([requests], {**labels, "status_code": "200"}, integer=True)
        self.failed = registry.counter(
            [requests], {**labels, "status_code": ERROR_CODE}, integer=True
        )
        self.errors = registry.counter(
            ["ray_serve_num_http_error_requests_total"],
            {**labels, "error_code": ERROR_CODE},
            integer=True,
        )
        self.latency = registry.histogram(
            ["ray_serve_http_request_latency_ms"],
            {**labels, "status_code": "200"},
            LATENCY_BUCKETS_MS,
        )
        self.head = head


class ServeMetrics:
    """Sets the Ray Serve series from the fleet state; registers nothing without Ray Serve."""

    def __init__(self, registry: Registry, fleet: Fleet) -> None:
        app = fleet.shape.serving_app
        heads = [p for p in fleet.pods if p.role == "serving-head"]
        self._replicas: list[tuple[Replica, _ReplicaSeries]] = []
        self._queues: dict[str, tuple[Gauge, list[str]]] = {}
        self._proxy: _ProxySeries | None = None
        if not fleet.ray_serve or not heads:
            return
        self._proxy = _ProxySeries(registry, fleet, heads[0], app)
        for replica in fleet.replicas:
            self._replicas.append((replica, _ReplicaSeries(registry, fleet, replica, app)))
            if replica.deployment not in self._queues:
                queue = registry.gauge(
                    ["ray_serve_deployment_queued_queries"],
                    {
                        "deployment": replica.deployment,
                        "application": app,
                        "handle": hex_id(f"handle/{replica.deployment}", 8),
                        "actor_id": hex_id(f"router/{replica.deployment}", 32),
                        **serve_labels(fleet, heads[0], hex_id(f"proxy/{heads[0].name}", 56)),
                    },
                )
                self._queues[replica.deployment] = (queue, [])
            self._queues[replica.deployment][1].append(replica.pod.name)

    def update(self, dt: float, state: FleetState) -> None:
        """Adds the requests of the last `dt` seconds and sets the queue gauges."""
        proxy = self._proxy
        if proxy is None:
            return
        for replica, series in self._replicas:
            r = state.replicas[replica.pod.name]
            requests = r.request_rate * dt
            failed = requests * r.failed_share * SERVE_ERROR_SHARE
            series.requests.inc(requests)
            series.errors.inc(failed)
            series.processing.set(r.running)
            _observe_ms(series.latency, r, requests, 0.0)
            proxy.ok.inc(requests - failed)
            proxy.failed.inc(failed)
            proxy.errors.inc(failed)
            _observe_ms(proxy.latency, r, requests - failed, PROXY_OVERHEAD_MS)
        for queue, pods in self._queues.values():
            queue.set(sum(state.replicas[pod].waiting for pod in pods))


def _observe_ms(histogram: Histogram, r: ReplicaReading, requests: float, extra: float) -> None:
    """Adds `requests` end-to-end latencies of replica reading `r`, in ms plus `extra`."""
    median = r.e2e_median * 1000 + extra
    shares = lognormal_shares(histogram.bounds, median, E2E_SPREAD)
    histogram.observe(requests, shares, lognormal_mean(median, E2E_SPREAD))
