"""Recorded series behind the Inference dashboard's latency panels: per-model bucket rates of
vLLM's latency histograms and each replica's TTFT p99. A refresh then reads a few recorded
series per model instead of every replica's buckets at every step. Shared by
alerts/inference.py (which ships the rules) and dashboards/inference.py (which reads them).

Record names follow the catalog name, not the exposed one: the rules or-join the naming
generations and apply the prefix, so the dashboard reads the same series in every setting.
"""

from __future__ import annotations

from generator.queries import Queries
from generator.rules import RecordingRule
from generator.slo import LEVEL

WINDOW = "5m"  # the rate window of every latency record
REPLICA_LEVEL = "replica"  # namespace, model_name and pod (and the cluster label)
TTFT = "vllm:time_to_first_token_seconds"
ITL = "vllm:inter_token_latency_seconds"
E2E = "vllm:e2e_request_latency_seconds"
QUEUE = "vllm:request_queue_time_seconds"
LATENCY_HISTOGRAMS = (TTFT, ITL, E2E, QUEUE)
REPLICA_QUANTILE = 0.99  # of TTFT, per replica
# Stems of the latency SLOs' recorded series (generator/slo.py), written by alerts/inference.py.
TTFT_SLI = "vllm_ttft"
E2E_SLI = "vllm_e2e"


def _stem(metric: str) -> str:
    return metric.replace(":", "_")


def bucket_rates(metric: str) -> str:
    """The recorded per-model bucket rates of a vLLM latency histogram (catalog name)."""
    return f"{LEVEL}:{_stem(metric)}_bucket:rate{WINDOW}"


def replica_ttft_p99() -> str:
    """The recorded TTFT p99 of each replica."""
    return f"{REPLICA_LEVEL}:{_stem(TTFT)}:p{REPLICA_QUANTILE * 100:g}_rate{WINDOW}"


def recording_rules(q: Queries) -> list[RecordingRule]:
    """The latency records; `q` builds rule expressions (Queries.for_rules)."""
    rules = q.with_window(WINDOW)
    per_model = rules.by("namespace", "model_name")
    per_replica = rules.by("namespace", "model_name", "pod")
    return [
        *(
            RecordingRule(
                record=bucket_rates(metric), expr=rules.vllm_bucket_rates(metric, per_model)
            )
            for metric in LATENCY_HISTOGRAMS
        ),
        RecordingRule(
            record=replica_ttft_p99(),
            expr=rules.vllm_quantile(REPLICA_QUANTILE, TTFT, per_replica),
        ),
    ]
