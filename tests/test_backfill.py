"""Backfilling in slices (backfill_history) and a fleet Prometheus without a live endpoint.

The real promtool and Prometheus: a history written in slices holds the same samples as one
written at once, each slice's file is gone afterwards, and Prometheus answers over all of it.
"""

from __future__ import annotations

import time
from pathlib import Path

from prometheus_harness import require_binary

from generator.runtime import FleetPrometheus, QueryClient
from generator.settings import Settings
from generator.synthetic import Simulation, backfill_history, write_openmetrics

SETTINGS = Settings()
STEP = 30.0


def test_a_history_in_slices_holds_every_sample_once(tmp_path: Path) -> None:
    require_binary("promtool")
    end = float(int(time.time()))
    whole = write_openmetrics(
        Simulation(SETTINGS, start=end - 1800, step=STEP), tmp_path / "whole.om", end=end
    )
    sliced, blocks = backfill_history(
        Simulation(SETTINGS, start=end - 1800, step=STEP),
        tmp_path / "data",
        end,
        scratch_dir=tmp_path / "scratch",
        slice_seconds=600,
    )
    assert (sliced.samples, sliced.series) == (whole.samples, whole.series)
    assert (sliced.start, sliced.end) == (whole.start, whole.end)
    assert len(blocks.blocks) >= 3  # one or more per slice
    assert list((tmp_path / "scratch").iterdir()) == []


def test_a_fleet_without_live_endpoint_answers_over_its_history_and_scrapes_nothing(
    tmp_path: Path,
) -> None:
    require_binary("prometheus")
    require_binary("promtool")
    with FleetPrometheus(
        SETTINGS,
        directory=tmp_path,
        history_seconds=1200,
        step=STEP,
        live=False,
        backfill_slice_seconds=400,
    ) as fleet:
        assert fleet.endpoint is None and fleet.history is not None
        client = QueryClient(fleet.url)
        series = client.query_range(
            "count(DCGM_FI_DEV_GPU_UTIL)", fleet.history.start, fleet.history.end, STEP
        )
        [gpus] = series
        assert len(gpus.points) == 1200 / STEP + 1  # every tick, none twice
        assert client.get("/api/v1/targets", [])["activeTargets"] == []
