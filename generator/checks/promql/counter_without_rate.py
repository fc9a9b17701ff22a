"""promql/counter-without-rate: counters are read through a range function, not raw.

A counter (catalog type counter, or a histogram/summary's _bucket/_sum/_count series) is
"handled" when it sits inside any range vector or subquery (rate, increase, changes,
..._over_time), inside absent()/timestamp(), under count/group/count_values, or on the
right of and/unless, where only its labels matter. Variable queries are not checked.
"""

from __future__ import annotations

from collections.abc import Iterator

from generator.checks.base import Check, CheckContext
from generator.checks.problem import Problem
from generator.checks.promql._analysis import selectors_by_name, series, usage


def run(context: CheckContext) -> Iterator[Problem]:
    for name, uses in selectors_by_name(context).items():
        kind = series(context, name).kind if name else "unknown"
        if kind != "counter" and kind != "bucket":
            continue
        what = "histogram bucket counter" if kind == "bucket" else "counter"
        reported: set[int] = set()
        for parsed, analysis, selector in uses:
            source = parsed.source
            if selector.consumer or source.kind == "variable" or id(parsed) in reported:
                continue
            if usage(parsed, analysis, selector).handled:
                continue
            reported.add(id(parsed))
            window = "$__rate_interval" if source.kind == "panel" else "5m"
            yield CHECK.at(
                source,
                f"{what} '{name}' is used without rate(), increase() or another range "
                f"function: its raw value only grows, and drops to zero when the exporter "
                f"restarts",
                hint=f"read it as rate({name}[{window}]) (per second) or "
                f"increase({name}[{window}]) (per window), aggregated after the rate",
            )


CHECK = Check(
    "promql/counter-without-rate",
    "warning",
    "counters are read through rate(), increase() or another range function",
    run,
)
