"""promql/rate-on-gauge: counter functions read counters, gauge functions read gauges.

rate/irate/increase/resets over a gauge, and delta/idelta/deriv/predict_linear over a
counter (a histogram's _bucket/_sum/_count series count as counters). Types come from the
catalog, never from a _total suffix; names the catalog does not know are not judged.
"""

from __future__ import annotations

from collections.abc import Iterator

from generator.checks.base import Check, CheckContext
from generator.checks.problem import Problem
from generator.checks.promql._analysis import (
    COUNTER_FUNCTIONS,
    GAUGE_FUNCTIONS,
    Series,
    selectors_by_name,
    series,
)

_TYPE_WORDS = {"counter": "a counter", "bucket": "a histogram bucket counter"}


def run(context: CheckContext) -> Iterator[Problem]:
    for name, uses in selectors_by_name(context).items():
        known = series(context, name) if name else None
        if known is None or known.metric is None:
            continue
        if known.kind == "gauge":
            wrong, problem = COUNTER_FUNCTIONS, _counter_function_on_gauge
        elif known.kind in _TYPE_WORDS:
            wrong, problem = GAUGE_FUNCTIONS, _gauge_function_on_counter
        else:
            continue
        reported: set[tuple[int, str]] = set()
        for parsed, _, selector in uses:
            function = selector.consumer
            if function not in wrong or (id(parsed), function) in reported:
                continue
            reported.add((id(parsed), function))
            message, hint = problem(function, name, known)
            yield CHECK.at(parsed.source, message, hint=hint)


def _counter_function_on_gauge(function: str, name: str, known: Series) -> tuple[str, str]:
    metric_type = known.metric.type if known.metric else "gauge"
    return (
        f"{function}() over '{name}', which the catalog types as a {metric_type}: "
        f"{function}() assumes a counter and reads every drop as a reset",
        _gauge_hint(function),
    )


def _gauge_function_on_counter(function: str, name: str, known: Series) -> tuple[str, str]:
    return (
        f"{function}() over '{name}', which is {_TYPE_WORDS[known.kind]}: {function}() does "
        f"not correct for counter resets, so every restart shows as a large negative change",
        "use rate() (per second) or increase() (per window) for counters",
    )


def _gauge_hint(function: str) -> str:
    if function == "resets":
        return "for a gauge, changes() counts how often the value changed"
    return (
        "for a gauge use it directly, or deriv()/delta() for its change and "
        "avg_over_time()/max_over_time() to smooth it"
    )


CHECK = Check(
    "promql/rate-on-gauge",
    "warning",
    "rate/irate/increase/resets read counters; delta/deriv/predict_linear read gauges",
    run,
)
