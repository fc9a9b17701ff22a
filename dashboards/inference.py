"""Inference: is vLLM meeting its latency targets, and if not, is it queueing, cache or GPU?

Keeps the reference architecture's uid and its `model_name` variable. Every vLLM query goes
through the builders, so the same content works with `vllm serve` (vllm:), Ray Serve LLM
(ray_vllm: / ray_vllm_) and both naming generations. The Ray Serve row is only emitted when
vLLM runs inside Ray Serve (a Ray prefix): `vllm serve` has no Ray Serve metrics.
"""

from __future__ import annotations

import grafanalib.core as G

from generator import slo, vllm_records
from generator.panels import (
    Section,
    dashboard,
    heatmap,
    query_variable,
    stat,
    target,
    timeseries,
)
from generator.queries import Queries, aggregate, matcher
from generator.settings import Settings
from generator.vllm_records import E2E, TTFT

UID = "bec31e71-3ac5-4133-b2e3-b9f75c8ab56c"
QUANTILES = ((0.5, "p50"), (0.9, "p90"), (0.99, "p99"))
TOKENS_PER_SECOND = "suffix: tok/s"
BY_MODEL = ("model_name",)
BY_REPLICA = ("model_name", "pod")  # `pod` is the scrape target's, with or without Ray Serve
REPLICA_LEGEND = "{{model_name}} {{pod}}"
FINISHED = "vllm:request_success_total"
FAILED_REASONS = "abort|error"  # finish reasons of requests that did not complete


def quantiles_panel(
    q: Queries,
    title: str,
    description: str,
    metric: str,
    scope: list[str],
    target_seconds: float | None = None,
    width: int = 8,
) -> G.Panel:
    """p50/p90/p99 of a vLLM latency histogram per model, from its recorded bucket rates;
    `target_seconds` draws a red line."""
    record = vllm_records.bucket_rates(metric)
    buckets = aggregate("sum", q.recorded(record, *scope), ("le", *BY_MODEL))
    return timeseries(
        title,
        f"{description} Reads {record}, the per-model bucket rates over "
        f"{vllm_records.WINDOW} that obsgen's recording rules write (vllm-inference group).",
        "s",
        [
            target(f"histogram_quantile({quantile}, {buckets})", f"{{{{model_name}}}} {label}")
            for quantile, label in QUANTILES
        ],
        min_value=0,
        steps=[("red", target_seconds)] if target_seconds is not None else [],
        width=width,
    )


def latency_panels(q: Queries, settings: Settings, scope: list[str]) -> list[G.Panel]:
    limits = settings.thresholds

    def against_target(title: str, what: str, metric: str, target_seconds: float) -> G.Panel:
        description = (
            f"{what} per model, p50/p90/p99. The red line is the target from obsgen.yaml "
            f"({target_seconds:g} s for p99)."
        )
        return quantiles_panel(q, title, description, metric, scope, target_seconds)

    return [
        against_target(
            "Time to first token",
            "Time from request arrival to the first generated token (queueing and prefill)",
            TTFT,
            limits.ttft_target_seconds,
        ),
        against_target(
            "Inter-token latency",
            "Time between consecutive output tokens (decode speed as users feel it)",
            vllm_records.ITL,
            limits.inter_token_target_seconds,
        ),
        against_target(
            "End-to-end request latency",
            "Time from request arrival to the last token",
            E2E,
            limits.e2e_target_seconds,
        ),
        timeseries(
            "Time to first token p99 per replica",
            "TTFT p99 of each replica: one slow replica (a full KV cache, a sick GPU) shows "
            "here before it moves the model's p99. The red line is the target. Reads "
            f"{vllm_records.replica_ttft_p99()}, which obsgen's recording rules write "
            f"(vllm-inference group) over {vllm_records.WINDOW}.",
            "s",
            [
                target(
                    aggregate(
                        "max", q.recorded(vllm_records.replica_ttft_p99(), *scope), BY_REPLICA
                    ),
                    REPLICA_LEGEND,
                )
            ],
            min_value=0,
            steps=[("red", limits.ttft_target_seconds)],
            width=10,
        ),
        *slo_panels(q, settings, scope),
    ]


def slo_panels(q: Queries, settings: Settings, scope: list[str]) -> list[G.Panel]:
    """The SLO's own recorded rates (the burn-rate alerts' inputs): the panels agree with them."""
    limits, objective = settings.thresholds, settings.slo.objective
    windows = slo.slo_windows(settings.slo)
    slos = (
        ("TTFT", slo.SloRecords(vllm_records.TTFT_SLI, windows), limits.ttft_target_seconds),
        ("end-to-end", slo.SloRecords(vllm_records.E2E_SLI, windows), limits.e2e_target_seconds),
    )
    budget = 1 - objective

    def share_within(records: slo.SloRecords, over: str = "") -> str:
        def per_model(record: str) -> str:
            selected = q.recorded(record, *scope)
            return aggregate(
                "sum", f"sum_over_time({selected}[{over}])" if over else selected, BY_MODEL
            )

        return f"({per_model(records.good_requests)} / {per_model(records.requests)})"

    read = (
        f"Reads the SLO's request rates over {windows[0]} that obsgen's recording rules write "
        f"(vllm-inference group), as the burn-rate alerts do."
    )
    return [
        timeseries(
            "Requests within latency targets",
            f"Share of requests faster than the TTFT target ({limits.ttft_target_seconds:g} s) "
            f"and the end-to-end target ({limits.e2e_target_seconds:g} s), per model. The "
            f"line is the SLO objective ({objective:g}); below it the error budget burns. {read}",
            "percentunit",
            [
                target(share_within(records), f"{{{{model_name}}}} {name}")
                for name, records, _ in slos
            ],
            max_value=1,
            steps=[("red", objective)],
            width=10,
        ),
        stat(
            "Error budget remaining",
            f"Share of the error budget ({budget:.2g} of requests slower than target, from "
            f"the {objective:g} objective) left after the dashboard's time range, per model "
            f"and SLO. Below 0 the range used more than its budget. {read}",
            "percentunit",
            [
                target(
                    f"1 - (1 - {share_within(records, '$__range')}) / {budget:g}",
                    f"{{{{model_name}}}} {name}",
                    instant=True,
                )
                for name, records, _ in slos
            ],
            width=4,
            height=8,
            base="red",
            steps=[("orange", 0.0), ("green", 0.5)],
            decimals=1,
        ),
    ]


def throughput_panels(q: Queries, scope: list[str]) -> list[G.Panel]:
    return [
        timeseries(
            "Request rate",
            "Requests finished per second per model, whatever the finish reason.",
            "reqps",
            [target(q.vllm_rate(FINISHED, BY_MODEL, *scope), "{{model_name}}")],
            min_value=0,
        ),
        timeseries(
            "Token throughput",
            "Prompt (prefill) and generated (decode) tokens per second, per model.",
            TOKENS_PER_SECOND,
            [
                target(
                    q.vllm_rate("vllm:prompt_tokens_total", BY_MODEL, *scope),
                    "{{model_name}} prompt",
                ),
                target(
                    q.vllm_rate("vllm:generation_tokens_total", BY_MODEL, *scope),
                    "{{model_name}} generation",
                ),
            ],
            min_value=0,
        ),
    ]


def queue_panels(q: Queries, settings: Settings, scope: list[str]) -> list[G.Panel]:
    waiting = "vllm:num_requests_waiting"
    return [
        timeseries(
            "Running and waiting requests",
            "Requests in the running batch and requests queued for it, per model. A growing "
            "queue with a full KV cache means the replicas are saturated.",
            "short",
            [
                target(
                    q.vllm_gauge("vllm:num_requests_running", "sum", BY_MODEL, *scope),
                    "{{model_name}} running",
                ),
                target(q.vllm_gauge(waiting, "sum", BY_MODEL, *scope), "{{model_name}} waiting"),
            ],
            min_value=0,
            steps=[("orange", settings.thresholds.waiting_requests)],
        ),
        timeseries(
            "Waiting requests per replica",
            "Requests queued on each replica. One replica queueing while its siblings do not "
            "points at uneven routing or a replica with less KV cache.",
            "short",
            [target(q.vllm_gauge(waiting, "sum", BY_REPLICA, *scope), REPLICA_LEGEND)],
            min_value=0,
        ),
        quantiles_panel(
            q,
            "Queue time",
            "Time requests wait for a place in the running batch, per model, p50/p90/p99. "
            "When it makes up most of TTFT the model needs more replicas.",
            vllm_records.QUEUE,
            scope,
            width=12,
        ),
        timeseries(
            "Prefill and decode time",
            "Mean time a request spends in prefill (prompt processing) and in decode "
            "(generation), per model. Prefill grows with prompt length, decode with output "
            "length and batch size.",
            "s",
            [
                target(
                    q.vllm_mean("vllm:request_prefill_time_seconds", BY_MODEL, *scope),
                    "{{model_name}} prefill",
                ),
                target(
                    q.vllm_mean("vllm:request_decode_time_seconds", BY_MODEL, *scope),
                    "{{model_name}} decode",
                ),
            ],
            min_value=0,
        ),
    ]


def kv_cache_panels(q: Queries, settings: Settings, scope: list[str]) -> list[G.Panel]:
    return [
        timeseries(
            "KV-cache usage per replica",
            "Share of KV-cache blocks in use on each replica (its fullest engine; vLLM "
            "reports 0-1). Near 100 % requests are preempted and latency climbs.",
            "percentunit",
            [
                target(
                    q.vllm_gauge("vllm:kv_cache_usage_perc", "max", BY_REPLICA, *scope),
                    REPLICA_LEGEND,
                )
            ],
            min_value=0,
            max_value=1,
            steps=[("red", settings.thresholds.kv_cache_usage_ratio)],
            width=8,
        ),
        timeseries(
            "Prefix-cache hit rate",
            "Share of prompt tokens found in the prefix cache, per model: their prefill is "
            "skipped. Falls when prompts stop sharing prefixes or the cache is evicted.",
            "percentunit",
            [
                target(
                    f"{q.vllm_rate('vllm:prefix_cache_hits_total', BY_MODEL, *scope)} / "
                    f"{q.vllm_rate('vllm:prefix_cache_queries_total', BY_MODEL, *scope)}",
                    "{{model_name}}",
                )
            ],
            min_value=0,
            max_value=1,
            width=8,
        ),
        timeseries(
            "Preemptions per replica",
            "Requests per second that each replica evicts from the running batch to free KV "
            "cache; they are recomputed later, which costs latency. Should be zero.",
            "reqps",
            [
                target(
                    q.vllm_rate("vllm:num_preemptions_total", BY_REPLICA, *scope),
                    REPLICA_LEGEND,
                )
            ],
            min_value=0,
            width=8,
        ),
    ]


def error_panels(q: Queries, settings: Settings, scope: list[str]) -> list[G.Panel]:
    failed = matcher("finished_reason", FAILED_REASONS)
    return [
        timeseries(
            "Finished requests by reason",
            "Requests completed per second by finish reason: stop (end of sequence), length "
            "(hit max_tokens or the context limit), abort (client gone or error).",
            "reqps",
            [
                target(
                    q.vllm_rate(FINISHED, ("model_name", "finished_reason"), *scope),
                    "{{model_name}} {{finished_reason}}",
                )
            ],
            min_value=0,
            stacked=True,
        ),
        timeseries(
            "Failed request ratio",
            "Share of finished requests that were aborted or failed, per model. The line is "
            "the error ratio that alerts fire on.",
            "percentunit",
            [
                target(
                    f"{q.vllm_rate(FINISHED, BY_MODEL, *scope, failed)} / "
                    f"{q.vllm_rate(FINISHED, BY_MODEL, *scope)}",
                    "{{model_name}}",
                )
            ],
            min_value=0,
            steps=[("red", settings.thresholds.request_error_ratio)],
        ),
    ]


def request_shape_panels(q: Queries, scope: list[str]) -> list[G.Panel]:
    def length_heatmap(title: str, metric: str, what: str) -> G.Panel:
        buckets = q.vllm(
            metric,
            lambda name: aggregate(
                "sum", q.rate(f"{name}_bucket", *scope, function="increase"), ("le",)
            ),
        )
        return heatmap(
            title,
            f"Distribution of {what} per request over time (all selected "
            f"models). Long prompts raise TTFT; long generations hold KV cache.",
            "short",
            [target(buckets, "{{le}}", heatmap=True)],
        )

    return [
        length_heatmap("Prompt length", "vllm:request_prompt_tokens", "prompt tokens"),
        length_heatmap("Generation length", "vllm:request_generation_tokens", "generated tokens"),
    ]


def serve_panels(q: Queries) -> list[G.Panel]:
    """Ray Serve's own view: its HTTP proxy, deployments and replicas (latencies in ms). Its
    series carry no model_name, so these follow only the namespace."""
    scope = [matcher("namespace", "$namespace")]
    by_app = ("application",)

    def per_second(counter: str, by: tuple[str, ...]) -> str:
        return aggregate("sum", q.rate(counter, *scope), by)

    def total(gauge: str, by: tuple[str, ...]) -> str:
        return aggregate("sum", q.selector(gauge, *scope), by)

    return [
        timeseries(
            "Serve HTTP requests",
            "Requests per second through Ray Serve's HTTP proxy, per application and status code.",
            "reqps",
            [
                target(
                    per_second("ray_serve_num_http_requests_total", ("application", "status_code")),
                    "{{application}} {{status_code}}",
                )
            ],
            min_value=0,
            width=8,
        ),
        timeseries(
            "Serve HTTP latency",
            "Request latency measured at Ray Serve's HTTP proxy per application, p50/p90/p99 "
            "(Ray reports milliseconds). Far above vLLM's end-to-end latency means time lost "
            "in routing or the replica queue.",
            "ms",
            [
                target(
                    q.histogram_quantile(
                        quantile, "ray_serve_http_request_latency_ms", by_app, *scope
                    ),
                    f"{{{{application}}}} {label}",
                )
                for quantile, label in QUANTILES
            ],
            min_value=0,
            width=8,
        ),
        timeseries(
            "Serve errors",
            "Non-200 responses of the HTTP proxy per application and error code, and "
            "exceptions raised in each deployment, per second.",
            "reqps",
            [
                target(
                    per_second(
                        "ray_serve_num_http_error_requests_total", ("application", "error_code")
                    ),
                    "{{application}} {{error_code}}",
                ),
                target(
                    per_second("ray_serve_deployment_error_counter_total", ("deployment",)),
                    "{{deployment}} exceptions",
                ),
            ],
            min_value=0,
            width=8,
        ),
        timeseries(
            "Serve replica queue",
            "Requests each deployment has queued for its replicas, and requests each replica "
            "is processing. A queue that grows while replicas stay busy needs more replicas.",
            "short",
            [
                target(
                    total("ray_serve_deployment_queued_queries", ("application", "deployment")),
                    "{{deployment}} queued",
                ),
                target(
                    total("ray_serve_replica_processing_queries", ("deployment", "replica")),
                    "{{replica}} processing",
                ),
            ],
            min_value=0,
        ),
        timeseries(
            "Serve processing latency p99 per replica",
            "99th percentile time each replica takes to process a request (Ray reports "
            "milliseconds). One replica far above its siblings is the one to look at.",
            "ms",
            [
                target(
                    q.histogram_quantile(
                        0.99,
                        "ray_serve_deployment_processing_latency_ms",
                        ("deployment", "replica"),
                        *scope,
                    ),
                    "{{replica}}",
                )
            ],
            min_value=0,
        ),
    ]


def gpu_panels(q: Queries, scope: list[str]) -> list[G.Panel]:
    gpu = q.dcgm_labels
    # GPUs of the pods that report the selected models: vLLM's pod label joined to DCGM's.
    serving_pods = q.vllm(
        "vllm:num_requests_running",
        lambda name: aggregate("group", q.selector(name, *scope), ("pod",)),
    )
    serving = f'label_replace({serving_pods}, "{gpu.pod}", "$1", "pod", "(.+)")'
    utilisation = aggregate(
        "avg",
        q.selector("DCGM_FI_DEV_GPU_UTIL", matcher(gpu.namespace, "$namespace")),
        (gpu.pod, "gpu"),
    )
    used = aggregate(
        "sum",
        q.selector("DCGM_FI_DEV_FB_USED", matcher(gpu.namespace, "$namespace")),
        (gpu.pod, "gpu"),
    )
    legend = f"{{{{{gpu.pod}}}}} GPU {{{{gpu}}}}"
    return [
        timeseries(
            "GPU utilisation of serving pods",
            "DCGM GPU utilisation of each GPU in the pods serving the selected models.",
            "percent",
            [target(f"{utilisation} and on ({gpu.pod}) {serving}", legend)],
            min_value=0,
            max_value=100,
        ),
        timeseries(
            "GPU memory used by serving pods",
            "Framebuffer in use per GPU (DCGM MiB shown as bytes). vLLM reserves most of it "
            "for the KV cache at start-up, so this is flat by design.",
            "bytes",
            [target(f"({used} and on ({gpu.pod}) {serving}) * 1048576", legend)],
            min_value=0,
        ),
    ]


def build(settings: Settings) -> G.Dashboard:
    q = Queries(settings)
    running = q.vllm_names("vllm:num_requests_running")[0]
    scope = [matcher("namespace", "$namespace"), matcher("model_name", "$model_name")]
    variables = [
        query_variable(
            "namespace",
            "Namespace",
            q.label_values("namespace", running),
            multi=True,
            include_all=True,
        ),
        query_variable(
            "model_name",
            "Model",
            q.label_values("model_name", running, matcher("namespace", "$namespace")),
            multi=True,
            include_all=True,
        ),
    ]
    in_ray_serve = settings.exporters.vllm.prefix != "vllm:"
    sections = [
        Section("Latency against targets", latency_panels(q, settings, scope)),
        Section("Throughput", throughput_panels(q, scope)),
        Section("Queueing", queue_panels(q, settings, scope)),
        Section("KV cache", kv_cache_panels(q, settings, scope)),
        Section("Errors and finish reasons", error_panels(q, settings, scope)),
        Section("Request shapes", request_shape_panels(q, scope)),
        *([Section("Ray Serve", serve_panels(q))] if in_ray_serve else []),
        Section("GPUs of the serving pods", gpu_panels(q, scope)),
    ]
    return dashboard(
        settings,
        uid=UID,
        title="Inference",
        description="vLLM on Kubernetes and Ray Serve: latency against targets and the SLO, "
        "throughput, queueing, KV cache, errors, Ray Serve and the GPUs behind each model.",
        variables=variables,
        sections=sections,
        time_from="now-1h",
        tags=["inference", "vllm"],
    )
