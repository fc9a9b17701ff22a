"""Fleet alerts: GPUs that pods hold through Kubernetes but leave idle."""

from __future__ import annotations

from generator.fleet_queries import (
    ACTIVITY_BUCKETS,
    ACTIVITY_SUM,
    ALLOCATED_ACTIVITY,
    FleetQueries,
)
from generator.queries import Queries
from generator.rules import AlertingRule, RecordingRule, RuleGroup
from generator.settings import Settings

DEVICE = (
    "{{ $labels.Hostname }} GPU {{ $labels.UUID }}"
    "{{ if $labels.GPU_I_ID }} MIG instance {{ $labels.GPU_I_ID }} "
    "({{ $labels.GPU_I_PROFILE }}){{ end }}"
)
POD = "{{ $labels.namespace }}/{{ $labels.pod }}"


def build(settings: Settings) -> RuleGroup:
    fleet = FleetQueries(Queries(settings).for_rules())
    idle_ratio = settings.thresholds.gpu_idle_ratio
    after = settings.alerts.idle_allocated_after
    return RuleGroup(
        name="fleet",
        rules=(
            # The join of DCGM activity with Kubernetes GPU requests reads every GPU and pod of
            # the fleet: recorded once per evaluation, read by the alert and ad-hoc queries.
            RecordingRule(record=ALLOCATED_ACTIVITY, expr=fleet.held_device_activity()),
            # The fleet dashboard's activity heatmap: a few series per node, not one per GPU.
            RecordingRule(record=ACTIVITY_BUCKETS, expr=fleet.activity_buckets()),
            # With the buckets' device counts: average activity per node, model or fleet.
            RecordingRule(record=ACTIVITY_SUM, expr=fleet.activity_sum()),
            AlertingRule(
                alert="GpusAllocatedIdle",
                expr=fleet.idle(ALLOCATED_ACTIVITY),
                for_duration=after,
                severity="info",
                summary=f"{POD} holds {DEVICE} but has not used it for {after}",
                description=f"Pod {POD} requested a GPU and holds {DEVICE}, whose activity has "
                f"stayed below {idle_ratio:.0%} for {after}. Ask the owner whether the job is "
                f"stuck or finished; scale it down or delete it to give the GPU back to the queue.",
            ),
        ),
    )
