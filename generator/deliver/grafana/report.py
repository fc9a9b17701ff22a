"""The text `obsgen diff` and `obsgen push` print: one line per dashboard, then a summary."""

from __future__ import annotations

import json
from collections import Counter

from generator.deliver.grafana.diffing import dashboard_diff
from generator.deliver.grafana.plan import STATES, PlanItem
from generator.deliver.grafana.push import decide
from generator.deliver.grafana.workflow import DeliveryResult

_WIDTH = 10  # the state / result column
# The order of the push summary.
_RESULTS = (
    "created",
    "updated",
    "deleted",
    "unchanged",
    "kept",
    "refused",
    "failed",
    "not attempted",
)


def header(command: str, result: DeliveryResult) -> str:
    version = f"Grafana {result.grafana_version} at " if result.grafana_version else ""
    folder = result.folder.describe()
    if result.folder.created:
        folder += ", created now"
    return f"obsgen {command}: {version}{result.target.describe()}, {folder}"


def diff_report(result: DeliveryResult) -> list[str]:
    """Every dashboard's state with the reasons and a per-panel diff, then the counts."""
    lines = [header("diff", result)]
    for item in result.plan.items:
        lines.append(_line(item.state, item, "; ".join(item.reasons)))
        lines += [f"    {line}" for line in _details(item)]
    counts = result.plan.counts()
    lines.append("summary: " + ", ".join(f"{counts[s]} {s}" for s in STATES))
    return lines


def dry_run_report(result: DeliveryResult, *, force: bool, prune: bool) -> list[str]:
    lines = [header("push --dry-run", result)]
    planned: Counter[str] = Counter()
    for item in result.plan.items:
        decision, why = decide(item, force=force, prune=prune)
        planned[decision] += 1
        if decision != "none":
            lines.append(_line(f"would {decision}", item, why))
    summary = ", ".join(
        f"{planned[d]} to {d}" for d in ("create", "update", "delete", "refuse", "keep")
    )
    lines.append(f"dry run, nothing was written: {summary}, {planned['none']} unchanged")
    return lines


def push_report(result: DeliveryResult) -> list[str]:
    """What was written, what was not and why; unchanged dashboards only as a count."""
    lines = [header("push", result)]
    for outcome in result.outcomes:
        if outcome.result == "unchanged":
            continue
        detail = outcome.detail
        if outcome.backup is not None:
            detail = f"{detail}; " if detail else ""
            detail += f"backup {outcome.backup}"
        lines.append(_line(outcome.result, outcome.item, detail))
    counts: Counter[str] = Counter(o.result for o in result.outcomes)
    summary = ", ".join(f"{counts[r]} {r}" for r in _RESULTS if counts[r]) or "no dashboards"
    retried = f" ({result.retries} requests retried)" if result.retries else ""
    lines.append(f"{summary} in {result.seconds:.2f}s{retried}")
    if not result.ok:
        written, missing = result.written(), result.not_written()
        lines.append(
            f"written ({len(written)}): " + (", ".join(_name(o.item) for o in written) or "none")
        )
        lines.append(
            f"not written ({len(missing)}): "
            + ", ".join(f"{_name(o.item)} [{o.result}]" for o in missing)
        )
    return lines


def _line(label: str, item: PlanItem, detail: str) -> str:
    text = f"{label:<{_WIDTH}} {_name(item)}"
    return f"{text}: {detail}" if detail else text


def _name(item: PlanItem) -> str:
    return f"{item.uid} {json.dumps(item.title, ensure_ascii=False)}"


def _details(item: PlanItem) -> list[str]:
    if item.state == "new" and item.desired is not None:
        panels = len(item.desired.dashboard.get("panels") or [])
        return [f"+ new dashboard with {panels} panels, from {item.desired.source}"]
    if item.state == "orphaned":
        return ["- `obsgen push --prune` deletes it"]
    if item.desired is None or item.remote is None:
        return []
    return dashboard_diff(item.remote.dashboard, item.desired.dashboard)
