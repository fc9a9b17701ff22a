"""vLLM inference alerts: latency SLO burn rates (TTFT, end to end), failing requests, KV cache
saturated, a growing queue."""

from __future__ import annotations

from typing import NamedTuple

from generator import slo, vllm_records
from generator.queries import Queries, aggregate, bucket_bound_matcher, matcher
from generator.rules import AlertingRule, Rule, RuleGroup
from generator.settings import Settings

MODEL = "{{ $labels.model_name }} in {{ $labels.namespace }}"
# vLLM's finished_reason values of requests that did not complete: aborted (client gone,
# preempted beyond recovery) and, in newer releases, errored.
FAILED_REASONS = "abort|error"
QUEUE_TREND_WINDOW = "10m"


class LatencySli(NamedTuple):
    """A latency SLI: requests faster than `target` seconds in `histogram` are good."""

    alert: str  # alert name stem, e.g. VllmTtft
    title: str  # what the objective is about, for people: "TTFT"
    sli: str  # recorded series stem, e.g. vllm_ttft
    histogram: str
    target: float
    slow: str  # what a bad request is, for people: "took longer than 2.5 s to the first token"


def build(settings: Settings) -> RuleGroup:
    limits = settings.thresholds
    slis = (
        LatencySli(
            "VllmTtft",
            "TTFT",
            vllm_records.TTFT_SLI,
            vllm_records.TTFT,
            limits.ttft_target_seconds,
            f"waited longer than {limits.ttft_target_seconds:g} s for their first token",
        ),
        LatencySli(
            "VllmE2eLatency",
            "end-to-end latency",
            vllm_records.E2E_SLI,
            vllm_records.E2E,
            limits.e2e_target_seconds,
            f"took longer than {limits.e2e_target_seconds:g} s end to end",
        ),
    )
    rules: list[Rule] = [
        request_errors_alert(settings),
        kv_cache_saturated_alert(settings),
        queue_growing_alert(settings),
    ]
    # Each SLO's recording rules come before the alerts that read them, evaluated in order.
    rules += [rule for sli in slis for rule in latency_slo_rules(settings, sli)]
    # The Inference dashboard's latency panels read these instead of every replica's buckets.
    rules += vllm_records.recording_rules(Queries(settings).for_rules())
    return RuleGroup(name="vllm-inference", rules=tuple(rules))


def latency_slo_rules(settings: Settings, sli: LatencySli) -> list[Rule]:
    """Recorded bad-request ratios per window, then the page (critical) and ticket (warning)."""
    objective = settings.slo
    records = slo.SloRecords(sli.sli, slo.slo_windows(objective))
    q = Queries(settings).for_rules(window=records.windows[0])
    per_model = q.by("namespace", "model_name")
    requests = q.vllm(
        sli.histogram, lambda name: aggregate("sum", q.rate(f"{name}_count"), per_model)
    )
    good = q.vllm(
        sli.histogram,
        lambda name: aggregate(
            "sum", q.rate(f"{name}_bucket", bucket_bound_matcher(sli.target)), per_model
        ),
    )
    fast, slow, ticket = objective.page_fast, objective.page_slow, objective.ticket
    target_share = f"{objective.objective * 100:g}%"
    share = "{{ $value | humanizePercentage }}"
    return [
        *slo.recording_rules(records, requests, good),
        AlertingRule(
            alert=f"{sli.alert}BudgetBurnPage",
            expr=slo.with_traffic(
                records, objective, slo.burning(records, objective, (fast, slow)), per_model
            ),
            for_duration="2m",
            severity="critical",
            summary=f"{MODEL} burns its {sli.title} error budget fast: {share} of requests "
            f"{sli.slow}",
            description=f"{share} of the recent requests to {MODEL} {sli.slow}; the objective "
            f"is {target_share} within the target. The {objective.period} error budget burns "
            f"{fast.burn_rate:g} times too fast over {fast.long_window} and "
            f"{fast.short_window}, or {slow.burn_rate:g} times over {slow.long_window} and "
            f"{slow.short_window}: at that pace it is gone in "
            f"{slo.budget_lasts(objective, fast)} to {slo.budget_lasts(objective, slow)}. "
            f"Check waiting requests, KV cache and recent deploys on the Inference dashboard.",
        ),
        AlertingRule(
            alert=f"{sli.alert}BudgetBurnTicket",
            expr=slo.burning(records, objective, (ticket,)),
            for_duration="15m",
            severity="warning",
            summary=f"{MODEL} slowly uses up its {sli.title} error budget: {share} of requests "
            f"{sli.slow}",
            description=f"{share} of the requests to {MODEL} over {ticket.long_window} "
            f"{sli.slow}; the objective is {target_share} within the target. At "
            f"{ticket.burn_rate:g}x the sustainable rate the {objective.period} budget is gone "
            f"in {slo.budget_lasts(objective, ticket)}: plan capacity or tuning in working "
            f"hours.",
        ),
    ]


def request_errors_alert(settings: Settings) -> AlertingRule:
    q = Queries(settings).for_rules()
    per_model = q.by("namespace", "model_name")
    limit = settings.thresholds.request_error_ratio

    def failed_share(name: str) -> str:
        failed = q.rate(name, matcher("finished_reason", FAILED_REASONS))
        return (
            f"{aggregate('sum', failed, per_model)} / {aggregate('sum', q.rate(name), per_model)}"
        )

    return AlertingRule(
        alert="VllmRequestErrorsHigh",
        expr=f"{q.vllm('vllm:request_success_total', failed_share)} > {limit:g}",
        for_duration="10m",
        severity="warning",
        summary=f"{{{{ $value | humanizePercentage }}}} of the requests to {MODEL} fail",
        description=f"More than {limit:.0%} of the requests that {MODEL} finished in the last "
        f"5 minutes were aborted or errored, for 10 minutes. Look at the replicas' logs for engine "
        f"errors and at the clients for timeouts.",
    )


def kv_cache_saturated_alert(settings: Settings) -> AlertingRule:
    q = Queries(settings).for_rules()
    per_replica = q.by("namespace", "model_name", "pod")
    limit = settings.thresholds.kv_cache_usage_ratio
    return AlertingRule(
        alert="VllmKvCacheSaturated",
        expr=f"{q.vllm_gauge('vllm:kv_cache_usage_perc', 'max', per_replica)} > {limit:g}",
        for_duration="10m",
        severity="warning",
        summary=f"KV cache of {MODEL} ({{{{ $labels.pod }}}}) is "
        f"{{{{ $value | humanizePercentage }}}} full",
        description=f"Replica {{{{ $labels.pod }}}} of {MODEL} has used more than "
        f"{limit:.0%} of its KV cache for 10 minutes: requests get preempted and latency "
        f"climbs. Add replicas, lower max_num_seqs or max_model_len, or raise "
        f"gpu_memory_utilization.",
    )


def queue_growing_alert(settings: Settings) -> AlertingRule:
    q = Queries(settings).for_rules(window=QUEUE_TREND_WINDOW)
    per_model = q.by("namespace", "model_name")
    metric = "vllm:num_requests_waiting"
    waiting = q.vllm_gauge(metric, "sum", per_model)
    # deriv: the least-squares slope, so one noisy sample does not make a trend.
    trend = q.vllm(metric, lambda name: aggregate("sum", q.rate(name, function="deriv"), per_model))
    limit = settings.thresholds.waiting_requests
    return AlertingRule(
        alert="VllmRequestQueueGrowing",
        expr=f"{waiting} > {limit} and {trend} > 0",
        for_duration="5m",
        severity="warning",
        summary=f"{{{{ $value }}}} requests wait for {MODEL}, and more every minute",
        description=f"More than {limit} requests are waiting for a batch slot of {MODEL} and "
        f"the queue has kept growing over {QUEUE_TREND_WINDOW} for 5 minutes: arrivals outrun "
        f"the replicas. Add replicas or shed load before time to first token breaks its "
        f"objective.",
    )
