"""Inference: is vLLM meeting its latency targets, and if not, is it queueing, cache or GPU?

Keeps the reference architecture's uid and its `model_name` variable. Every vLLM query goes
through the builders, so the same content works with `vllm serve` (vllm:), Ray Serve LLM
(ray_vllm: / ray_vllm_) and both naming generations.
"""

from __future__ import annotations

import grafanalib.core as G

from generator.panels import (
    Section,
    dashboard,
    heatmap,
    query_variable,
    target,
    timeseries,
)
from generator.queries import Queries, aggregate, matcher
from generator.settings import Settings

UID = "bec31e71-3ac5-4133-b2e3-b9f75c8ab56c"
QUANTILES = ((0.5, "p50"), (0.9, "p90"), (0.99, "p99"))
TOKENS_PER_SECOND = "suffix: tok/s"


def latency_panel(
    q: Queries, title: str, what: str, metric: str, target_seconds: float, scope: list[str]
) -> G.Panel:
    return timeseries(
        title,
        f"{what} per model, p50/p90/p99 over the dashboard's rate interval. The red line is "
        f"the target from obsgen.yaml ({target_seconds:g} s for p99).",
        "s",
        [
            target(
                q.vllm_quantile(quantile, metric, ("model_name",), *scope),
                f"{{{{model_name}}}} {label}",
            )
            for quantile, label in QUANTILES
        ],
        min_value=0,
        steps=[("red", target_seconds)],
        width=8,
    )


def latency_panels(q: Queries, settings: Settings, scope: list[str]) -> list[G.Panel]:
    limits = settings.thresholds
    return [
        latency_panel(
            q,
            "Time to first token",
            "Time from request arrival to the first generated token (queueing and prefill)",
            "vllm:time_to_first_token_seconds",
            limits.ttft_target_seconds,
            scope,
        ),
        latency_panel(
            q,
            "Inter-token latency",
            "Time between consecutive output tokens (decode speed as users feel it)",
            "vllm:inter_token_latency_seconds",
            limits.inter_token_target_seconds,
            scope,
        ),
        latency_panel(
            q,
            "End-to-end request latency",
            "Time from request arrival to the last token",
            "vllm:e2e_request_latency_seconds",
            limits.e2e_target_seconds,
            scope,
        ),
    ]


def throughput_panels(q: Queries, scope: list[str]) -> list[G.Panel]:
    by_model = ("model_name",)
    return [
        timeseries(
            "Token throughput",
            "Prompt (prefill) and generated (decode) tokens per second, per model.",
            TOKENS_PER_SECOND,
            [
                target(
                    q.vllm_rate("vllm:prompt_tokens_total", by_model, *scope),
                    "{{model_name}} prompt",
                ),
                target(
                    q.vllm_rate("vllm:generation_tokens_total", by_model, *scope),
                    "{{model_name}} generation",
                ),
            ],
            min_value=0,
        ),
        timeseries(
            "Finished requests by reason",
            "Requests completed per second by finish reason: stop (end of sequence), length "
            "(hit max_tokens or the context limit), abort (client gone or error).",
            "reqps",
            [
                target(
                    q.vllm_rate(
                        "vllm:request_success_total", ("model_name", "finished_reason"), *scope
                    ),
                    "{{model_name}} {{finished_reason}}",
                )
            ],
            min_value=0,
            stacked=True,
        ),
    ]


def queue_and_cache_panels(q: Queries, settings: Settings, scope: list[str]) -> list[G.Panel]:
    limits = settings.thresholds
    return [
        timeseries(
            "Running and waiting requests",
            "Requests in the running batch and requests queued for it, per model. A growing "
            "queue with a full KV cache means the replicas are saturated.",
            "short",
            [
                target(
                    q.vllm_gauge("vllm:num_requests_running", "sum", ("model_name",), *scope),
                    "{{model_name}} running",
                ),
                target(
                    q.vllm_gauge("vllm:num_requests_waiting", "sum", ("model_name",), *scope),
                    "{{model_name}} waiting",
                ),
            ],
            min_value=0,
            steps=[("orange", limits.waiting_requests)],
        ),
        timeseries(
            "KV-cache usage",
            "Share of KV-cache blocks in use on the fullest replica of each model (vLLM "
            "reports 0-1). Near 100 % requests are preempted and latency climbs.",
            "percentunit",
            [
                target(
                    q.vllm_gauge("vllm:kv_cache_usage_perc", "max", ("model_name",), *scope),
                    "{{model_name}} fullest replica",
                ),
                target(
                    q.vllm_gauge("vllm:kv_cache_usage_perc", "avg", ("model_name",), *scope),
                    "{{model_name}} average",
                ),
            ],
            min_value=0,
            max_value=1,
            steps=[("red", limits.kv_cache_usage_ratio)],
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


def gpu_panels(q: Queries, settings: Settings, scope: list[str]) -> list[G.Panel]:
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
    return dashboard(
        settings,
        uid=UID,
        title="Inference",
        description="vLLM on Kubernetes and Ray Serve: latency against targets, throughput, "
        "queueing, KV cache and the GPUs behind each model.",
        variables=variables,
        sections=[
            Section("Latency against targets", latency_panels(q, settings, scope)),
            Section("Throughput", throughput_panels(q, scope)),
            Section("Queue and KV cache", queue_and_cache_panels(q, settings, scope)),
            Section("Request shapes", request_shape_panels(q, scope)),
            Section("GPUs", gpu_panels(q, settings, scope)),
        ],
        time_from="now-1h",
        tags=["inference", "vllm"],
    )
