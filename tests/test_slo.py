"""The SLO rules follow the settings' `slo` section: the windows it names are recorded, the
shortest is the rate window, and the page and ticket read only what is recorded."""

from __future__ import annotations

import dataclasses
import re

import pytest

from generator import slo
from generator.build import build
from generator.settings import BurnRateWindow, Settings, SloSettings

CUSTOM = SloSettings(
    objective=0.999,
    period="28d",
    page_fast=BurnRateWindow(long_window="2h", short_window="10m", burn_rate=14.4),
    page_slow=BurnRateWindow(long_window="6h", short_window="30m", burn_rate=6),
    ticket=BurnRateWindow(long_window="1d", short_window="2h", burn_rate=2),
)


def inference_rules(objective: SloSettings) -> list[dict[str, str]]:
    settings = dataclasses.replace(Settings(), slo=objective)
    (artifact,) = [
        a for a in build(settings).artifacts if a.kind == "rules" and "inference" in a.path
    ]
    return [rule for group in artifact.document["groups"] for rule in group["rules"]]


def test_windows_are_each_named_once_shortest_first() -> None:
    assert slo.slo_windows(SloSettings()) == ("5m", "30m", "1h", "6h", "3d")
    assert slo.slo_windows(CUSTOM) == ("10m", "30m", "2h", "6h", "1d")


def test_the_settings_windows_are_recorded_and_the_shortest_is_the_rate_window() -> None:
    records = [rule["record"] for rule in inference_rules(CUSTOM) if "record" in rule]
    ttft = [name for name in records if ":vllm_ttft_" in name]
    assert ttft == [
        "model:vllm_ttft_requests:rate10m",
        "model:vllm_ttft_requests_within_target:rate10m",
        "model:vllm_ttft_requests_slow:ratio_rate10m",
        "model:vllm_ttft_requests_slow:ratio_rate30m",
        "model:vllm_ttft_requests_slow:ratio_rate2h",
        "model:vllm_ttft_requests_slow:ratio_rate6h",
        "model:vllm_ttft_requests_slow:ratio_rate1d",
    ]
    (requests,) = [r for r in inference_rules(CUSTOM) if r.get("record") == ttft[0]]
    assert "[10m]" in requests["expr"]


@pytest.mark.parametrize("objective", [SloSettings(), CUSTOM], ids=["defaults", "custom"])
def test_alerts_read_only_recorded_ratios_with_the_settings_thresholds(
    objective: SloSettings,
) -> None:
    rules = inference_rules(objective)
    recorded = {rule["record"] for rule in rules if "record" in rule}
    budget = f"{slo.error_budget(objective):g}"
    burning = [rule for rule in rules if "BudgetBurn" in rule.get("alert", "")]
    assert len(burning) == 4
    for rule in burning:
        read = set(re.findall(r"model:[a-z0-9_]+:ratio_rate\w+", rule["expr"]))
        assert read and read <= recorded, rule["alert"]
        conditions = (
            (objective.page_fast, objective.page_slow)
            if rule["alert"].endswith("Page")
            else (objective.ticket,)
        )
        for window in conditions:
            threshold = f"> {window.burn_rate:g} * {budget}"
            assert f"ratio_rate{window.long_window} {threshold}" in rule["expr"]
            assert f"ratio_rate{window.short_window} {threshold}" in rule["expr"]


def test_the_error_budget_has_no_float_noise() -> None:
    assert slo.error_budget(SloSettings()) == 0.01
    assert slo.error_budget(CUSTOM) == 0.001


def test_how_long_the_budget_lasts_is_said_in_words() -> None:
    assert slo.budget_lasts(SloSettings(), SloSettings().page_fast) == "50 hours"
    assert slo.budget_lasts(SloSettings(), SloSettings().page_slow) == "5 days"
    assert slo.budget_lasts(CUSTOM, CUSTOM.ticket) == "14 days"
