"""promql/lost-label: panel legends only use labels the query returns.

Alert templates ($labels.x) are checked by alert/template, so one fault is reported once.

The labels of a query's result are inferred from its AST by generator.checks.labels (the
inference alert/template uses): by (...) keeps exactly its labels, without (...) removes its
labels, an aggregation with no grouping keeps none, label_replace/label_join/count_values add
theirs, histogram_quantile drops le, on (...) keeps only its labels in one-to-one matches,
group_left/right add theirs, `or` unites both sides, and/unless keep the left, a selector of a
recording rule has the rule's labels. Plain selectors and anything unknown may carry any
label, so they are never reported.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from generator.checks.base import Check, CheckContext
from generator.checks.labels import output_labels
from generator.checks.problem import Problem
from generator.checks.promql._analysis import analyses, keeps_labels, reads_recorded

_LEGEND_LABEL = re.compile(r"\{\{\s*([^{}\s]+?)\s*\}\}")


def legend_labels(legend: str) -> list[str]:
    """Labels a Grafana legendFormat reads ({{label}}), Grafana's own __ names left out."""
    if "{{" not in legend:
        return []
    names = (m.group(1) for m in _LEGEND_LABEL.finditer(legend))
    return list(dict.fromkeys(n for n in names if not n.startswith("__")))


def run(context: CheckContext) -> Iterator[Problem]:
    recorded = reads_recorded(context)  # their labels are the recording rule's
    for parsed, analysis in analyses(context):
        source = parsed.source
        # Alert templates are alert/template's, so one fault is reported once.
        if source.kind != "panel":
            continue
        used, where = legend_labels(source.legend), "the legend"
        if not used or (id(parsed) not in recorded and keeps_labels(analysis, used)):
            continue
        labels = output_labels(context, parsed)
        if labels.scalar:
            continue
        lost = [label for label in used if not labels.has(label)]
        if not lost:
            continue
        names = ", ".join(f"'{label}'" for label in lost)
        plural = "s" if len(lost) > 1 else ""
        yield CHECK.at(
            source,
            f"{where} use{'s' if where == 'the legend' else ''} label{plural} {names}, "
            f"which the query's result does not have (it has {labels.describe()})",
            hint=f"keep {', '.join(lost)} in the by (...) of the aggregation (or on (...) / "
            f"group_left (...) of the match), or stop using {'them' if plural else 'it'}",
        )


CHECK = Check(
    "promql/lost-label",
    "warning",
    "panel legends only use labels the query's result keeps",
    run,
)
