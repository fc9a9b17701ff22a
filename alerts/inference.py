"""vLLM inference alerts: KV cache saturated, TTFT p99 above target, requests piling up."""

from __future__ import annotations

from generator.queries import Queries
from generator.rules import AlertingRule, RuleGroup
from generator.settings import Settings

MODEL = "{{ $labels.model_name }} in {{ $labels.namespace }}"


def build(settings: Settings) -> RuleGroup:
    q = Queries(settings).for_rules()
    limits = settings.thresholds
    per_replica = q.by("namespace", "model_name", "pod")
    per_model = q.by("namespace", "model_name")
    ttft_p99 = q.vllm_quantile(0.99, "vllm:time_to_first_token_seconds", per_model)
    return RuleGroup(
        name="vllm-inference",
        rules=(
            AlertingRule(
                alert="VllmKvCacheSaturated",
                expr=f"{q.vllm_gauge('vllm:kv_cache_usage_perc', 'max', per_replica)} > "
                f"{limits.kv_cache_usage_ratio:g}",
                for_duration="10m",
                severity="warning",
                summary=f"KV cache of {MODEL} ({{{{ $labels.pod }}}}) is "
                f"{{{{ $value | humanizePercentage }}}} full",
                description=f"Replica {{{{ $labels.pod }}}} of {MODEL} has used more than "
                f"{limits.kv_cache_usage_ratio:.0%} of its KV cache for 10 minutes: "
                f"requests get preempted and latency climbs. Add replicas, lower "
                f"max_num_seqs or max_model_len, or raise gpu_memory_utilization.",
            ),
            AlertingRule(
                alert="VllmTimeToFirstTokenP99AboveTarget",
                expr=f"{ttft_p99} > {limits.ttft_target_seconds:g}",
                for_duration="10m",
                severity="warning",
                summary=f"TTFT p99 of {MODEL} is {{{{ $value | humanizeDuration }}}}",
                description=f"The 99th percentile time to first token of {MODEL} has been above "
                f"the {limits.ttft_target_seconds:g} s target for 10 minutes. Look at "
                f"waiting requests and KV-cache usage on the Inference dashboard.",
            ),
            AlertingRule(
                alert="VllmRequestsQueueing",
                expr=f"{q.vllm_gauge('vllm:num_requests_waiting', 'sum', per_model)} > "
                f"{limits.waiting_requests}",
                for_duration="10m",
                severity="warning",
                summary=f"{{{{ $value }}}} requests waiting for {MODEL}",
                description=f"More than {limits.waiting_requests} requests have been waiting for "
                f"a batch slot of {MODEL} for 10 minutes: the model needs more replicas "
                f"or smaller requests.",
            ),
        ),
    )
