"""Multiwindow, multi-burn-rate SLO rules (SRE workbook): recorded bad-request ratios per
window, and the page and ticket conditions on them, from the settings' `slo` section."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from generator.durations import parse_duration
from generator.rules import RecordingRule
from generator.settings import BurnRateWindow, SloSettings

LEVEL = "model"  # recorded series keep namespace and model_name (and the cluster label)


@dataclass(frozen=True)
class SloRecords:
    """The recorded series of one SLI: request rates and bad-request ratios per window."""

    sli: str  # e.g. vllm_ttft; names the recorded series
    windows: tuple[str, ...]  # shortest first; the shortest is the rate window

    @property
    def requests(self) -> str:
        return f"{LEVEL}:{self.sli}_requests:rate{self.windows[0]}"

    @property
    def good_requests(self) -> str:
        return f"{LEVEL}:{self.sli}_requests_within_target:rate{self.windows[0]}"

    def bad_ratio(self, window: str) -> str:
        """The recorded share of requests slower than the target over `window`."""
        return f"{LEVEL}:{self.sli}_requests_slow:ratio_rate{window}"


def slo_windows(slo: SloSettings) -> tuple[str, ...]:
    """Every window a burn-rate condition reads, shortest first, each once."""
    windows = {w for c in conditions(slo) for w in (c.long_window, c.short_window)}
    return tuple(sorted(windows, key=lambda w: parse_duration(w) or 0.0))


def conditions(slo: SloSettings) -> tuple[BurnRateWindow, ...]:
    return (slo.page_fast, slo.page_slow, slo.ticket)


def recording_rules(records: SloRecords, requests: str, good_requests: str) -> list[RecordingRule]:
    """Per-second request rates (all, and within the target) over the shortest window, then
    the bad-request ratio of every window from them: long windows average the short rates
    instead of re-reading days of raw buckets at every evaluation."""
    rules = [
        RecordingRule(record=records.requests, expr=requests),
        RecordingRule(record=records.good_requests, expr=good_requests),
    ]
    for window in records.windows:
        if window == records.windows[0]:
            good, total = records.good_requests, records.requests
        else:
            good = f"sum_over_time({records.good_requests}[{window}])"
            total = f"sum_over_time({records.requests}[{window}])"
        rules.append(RecordingRule(record=records.bad_ratio(window), expr=f"1 - {good} / {total}"))
    return rules


def error_budget(slo: SloSettings) -> float:
    """The share of requests allowed to be slow (1 - objective), without float noise."""
    return round(1 - slo.objective, 10)


def burning(records: SloRecords, slo: SloSettings, windows: Sequence[BurnRateWindow]) -> str:
    """The condition that any of `windows` burns the budget: both its long and its short
    window above burn_rate times the budget (the short one makes the alert resolve fast)."""
    budget = f"{error_budget(slo):g}"
    each = [
        f"{records.bad_ratio(w.long_window)} > {w.burn_rate:g} * {budget} and "
        f"{records.bad_ratio(w.short_window)} > {w.burn_rate:g} * {budget}"
        for w in windows
    ]
    if len(each) == 1:
        return each[0]
    return " or ".join(f"({condition})" for condition in each)


def budget_lasts(slo: SloSettings, window: BurnRateWindow) -> str:
    """How long the whole period's budget lasts at the window's burn rate, in words."""
    seconds = (parse_duration(slo.period) or 0.0) / window.burn_rate
    if seconds >= 3 * 86400:
        return f"{round(seconds / 86400)} days"
    return f"{round(seconds / 3600)} hours"


def with_traffic(
    records: SloRecords, slo: SloSettings, condition: str, labels: Sequence[str]
) -> str:
    """`condition` only while the model serves at least slo.min_request_rate requests per
    second over the shortest window: a page needs enough requests for its ratios to mean
    something."""
    if slo.min_request_rate <= 0:
        return condition
    return (
        f"({condition}) and on ({', '.join(labels)}) {records.requests} >= {slo.min_request_rate:g}"
    )
