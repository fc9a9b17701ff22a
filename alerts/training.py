"""Training alerts: a Ray Train job whose GPUs stopped working, or that waits on its data.

The per-job signals and the verdict come from generator/bottleneck.py, the same builder as the
GPU Training dashboard's verdict panel; here they are recorded once per evaluation and the
alerts read the recorded series.
"""

from __future__ import annotations

from generator.bottleneck import (
    DATA_STARVED,
    GPUS,
    RECORDED,
    VERDICT,
    JobBottleneck,
    verdict_query,
)
from generator.job_gpus import POD_GPU_RECORDS, RULES_WINDOW, pod_gpu_rule
from generator.queries import Queries
from generator.rules import AlertingRule, RecordingRule, RuleGroup
from generator.settings import Settings

JOB = "Ray cluster {{ $labels.ray_cluster }} in {{ $labels.namespace }}"
PODS = "pods {{ $labels.ray_cluster }}-*"


def build(settings: Settings) -> RuleGroup:
    q = Queries(settings).for_rules(RULES_WINDOW)
    job = JobBottleneck(q)
    inline = job.signals()
    limits, alerts = settings.thresholds, settings.alerts
    on_job = f"on ({', '.join(job.job_labels)})"
    # A Ray cluster serving models is judged by the inference alerts, not as a training job.
    not_serving = f"unless {on_job} ({job.serving_clusters()})"
    recordings = tuple(
        RecordingRule(record=getattr(RECORDED, name), expr=getattr(inline, name))
        for name in ("gpu_activity", "storage_busy", "node_cpu_busy", "cpu_throttled")
    )
    return RuleGroup(
        name="training",
        rules=(
            *recordings,
            RecordingRule(record=VERDICT, expr=verdict_query(RECORDED, limits, job.job_labels)),
            RecordingRule(record=GPUS, expr=job.gpu_count()),
            # The GPU Training dashboard's per-pod GPU panels read these (generator/job_gpus.py).
            *(RecordingRule(record=r.record, expr=pod_gpu_rule(q, r)) for r in POD_GPU_RECORDS),
            AlertingRule(
                alert="TrainingJobStalled",
                expr=f"{RECORDED.gpu_activity} < {limits.gpu_idle_ratio:g} "
                f"and {on_job} ({job.pods_running()}) {not_serving}",
                for_duration=alerts.job_stalled_after,
                severity="warning",
                summary=f"Training job {JOB} has stalled: its GPUs are "
                f"{{{{ $value | humanizePercentage }}}} active",
                description=f"The GPUs of {JOB} ({PODS}) have been below "
                f"{limits.gpu_idle_ratio:.0%} activity for {alerts.job_stalled_after} while "
                f"its pods run: the job holds its GPUs but does no work. Look for a hung "
                f"collective, a dead rank or a blocked data loader in the pods' logs.",
            ),
            AlertingRule(
                alert="TrainingDataStarved",
                # The storage share is the alert's value; the verdict decides whether it fires.
                expr=f"{RECORDED.storage_busy} >= {limits.storage_busy_ratio:g} "
                f"and {on_job} ({VERDICT} == {DATA_STARVED.code}) {not_serving}",
                for_duration=alerts.data_starved_after,
                severity="warning",
                summary=f"Training job {JOB} waits on storage "
                f"({{{{ $value | humanizePercentage }}}} busy)",
                description=f"For {alerts.data_starved_after} the GPUs of {JOB} ({PODS}) have "
                f"been between {limits.gpu_idle_ratio:.0%} and {limits.gpu_busy_ratio:.0%} "
                f"active while storage on one of its nodes is "
                f"{{{{ $value | humanizePercentage }}}} busy: the input pipeline cannot read "
                f"data fast enough. Cache or pre-shard the dataset, add loader workers or "
                f"faster storage.",
            ),
        ),
    )
