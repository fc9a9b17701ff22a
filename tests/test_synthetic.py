"""The synthetic GPU fleet: coherent series, the labels real exporters attach, each scenario's
defining property, deterministic OpenMetrics that the real promtool backfills, and a live
/metrics endpoint that a real Prometheus scrapes, continuing the backfilled series.

Tests that run promtool or prometheus skip without them, or fail with REQUIRE_PROMETHEUS=1.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import re
import subprocess
import threading
import time
import urllib.request
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from prometheus_harness import api, free_port, require_binary, stop_process

from generator.catalog import load_catalog
from generator.settings import (
    ClusterSettings,
    DcgmSettings,
    ExporterSettings,
    Settings,
    VllmSettings,
)
from generator.synthetic import (
    BENCHMARK_SHAPE,
    SCENARIOS,
    BackfillError,
    FleetShape,
    MetricsEndpoint,
    Series,
    Simulation,
    build_fleet,
    create_blocks,
    render_text,
    scenario_names,
    write_openmetrics,
)

START = 1_760_000_000.0  # a fixed start keeps unit tests deterministic
STEP = 15.0
TICKS_PER_MINUTE = 4
BASE = Settings()
LIMITS = BASE.thresholds
DCGM_STYLES = {
    "pod": ("pod", "namespace", "container"),
    "exported_pod": ("exported_pod", "exported_namespace", "exported_container"),
    "pod_name": ("pod_name", "pod_namespace", "container_name"),
}
Recording = dict[Series, list[float | None]]


def with_exporters(
    pod_label: str = "exported_pod",
    prefix: str = "vllm:",
    naming: str = "current",
    cluster: bool = False,
) -> Settings:
    exporters = ExporterSettings(
        vllm=VllmSettings(prefix=prefix, naming=naming),  # type: ignore[arg-type]
        dcgm=DcgmSettings(pod_label=pod_label),  # type: ignore[arg-type]
    )
    return dataclasses.replace(BASE, exporters=exporters, cluster=ClusterSettings(enabled=cluster))


def run(sim: Simulation, minutes: float) -> Recording:
    """Every series' value at every tick from the current one for `minutes`."""
    recording: Recording = defaultdict(list)
    for tick in range(int(minutes * TICKS_PER_MINUTE) + 1):
        if tick:
            sim.advance()
        for family in sim.families():
            for series in family.series:
                recording[series].append(series.value)
    return recording


def select(recording: Recording, name: str, **labels: str) -> dict[Series, list[float]]:
    """The recorded series called `name` whose labels match `labels` (regexes), gaps dropped."""
    return {
        series: [v for v in values if v is not None]
        for series, values in recording.items()
        if series.name == name
        and all(re.fullmatch(p, series.labels.get(k, "")) for k, p in labels.items())
    }


def current(sim: Simulation, name: str, **labels: str) -> list[Series]:
    """The series called `name` with exactly these label values, at the current tick."""
    found = []
    for family in sim.families():
        for s in family.series:
            wanted = all(s.labels.get(k, "") == v for k, v in labels.items())
            if s.name == name and s.value is not None and wanted:
                found.append(s)
    return found


def quantile(q: float, buckets: list[tuple[float, float]]) -> float:
    """Prometheus' histogram_quantile over cumulative (le, count) pairs sorted by le."""
    total = buckets[-1][1]
    if total <= 0:
        return math.nan
    rank = q * total
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if math.isinf(bound):
                return lower_bound
            return lower_bound + (bound - lower_bound) * (rank - lower_count) / (
                count - lower_count
            )
        lower_bound, lower_count = bound, count
    return math.nan


def windowed_p99(recording: Recording, metric: str, model: str, window: int) -> list[float]:
    """p99 of a vLLM histogram for one model over every `window`-tick window, like
    histogram_quantile(0.99, sum by (le) (increase(metric_bucket{model_name=model}[window])))."""
    by_le: dict[float, list[float]] = defaultdict(
        lambda: [0.0] * len(next(iter(recording.values())))
    )
    for series, values in select(
        recording, metric + "_bucket", model_name=re.escape(model)
    ).items():
        le = float(series.labels["le"])
        for i, v in enumerate(values):
            by_le[le][i] += v
    ordered = sorted(by_le.items())
    ticks = len(ordered[0][1])
    return [
        quantile(0.99, [(le, values[k] - values[k - window]) for le, values in ordered])
        for k in range(window, ticks)
    ]


def longest_run(flags: list[bool]) -> int:
    """The longest run of consecutive True values."""
    best = run_length = 0
    for flag in flags:
        run_length = run_length + 1 if flag else 0
        best = max(best, run_length)
    return best


@pytest.fixture(scope="module")
def healthy_hour() -> tuple[Simulation, Recording]:
    """One hour of the healthy scenario, every tick recorded."""
    sim = Simulation(BASE, "healthy", start=START)
    return sim, run(sim, 60)


# ---- fleet ---------------------------------------------------------------------------------


def test_default_fleet_has_training_serving_and_idle_gpus() -> None:
    fleet = build_fleet()
    assert [len(n.gpus) for n in fleet.nodes] == [4, 4]
    assert len(fleet.training.workers) == 2
    assert len(fleet.replicas) == 4 and len(fleet.models) == 2
    assert sum(1 for g in fleet.gpus if not g.pod) == 2  # one idle GPU per node
    for model in fleet.models:  # replicas of one model on different nodes
        nodes = [r.pod.node for r in fleet.replicas if r.model == model]
        assert len(set(nodes)) == len(nodes)
    assert all(
        p.name.startswith(fleet.training.name + "-")
        for p in fleet.pods
        if p.role.startswith("training")
    )


def test_benchmark_shape_and_too_small_fleets() -> None:
    fleet = build_fleet(BENCHMARK_SHAPE)
    assert len(fleet.gpus) == 1024 and len(fleet.replicas) == 64
    assert len({n.host_ip for n in fleet.nodes}) == 128
    assert len({p.ip for p in fleet.pods}) == len(fleet.pods)
    with pytest.raises(ValueError, match="GPUs needed for vLLM replicas"):
        FleetShape(nodes=1, gpus_per_node=2, training_gpus_per_node=1, models=2)


# ---- coherence -----------------------------------------------------------------------------


@pytest.mark.parametrize("scenario", scenario_names())
def test_counters_grow_and_histograms_are_cumulative(scenario: str) -> None:
    sim = Simulation(with_exporters(naming="either"), scenario, start=START, onset=START + 300)
    recording = run(sim, 20)
    kinds = {s.name: f.kind for f in sim.families() for s in f.series}
    histograms: dict[tuple[str, tuple[tuple[str, str], ...]], list[tuple[float, list[float]]]]
    histograms = defaultdict(list)
    counts: dict[tuple[str, tuple[tuple[str, str], ...]], list[float]] = {}
    for series, values in recording.items():
        present = [v for v in values if v is not None]
        assert present, f"{series.text} never has a sample"
        if kinds[series.name] in ("counter", "histogram"):
            assert all(b >= a for a, b in itertools.pairwise(present)), series.text
        if series.name.endswith("_bucket") and kinds[series.name] == "histogram":
            key = (series.name[: -len("_bucket")], _without(series.labels, "le"))
            histograms[key].append((float(series.labels["le"]), present))
        elif series.name.endswith("_count") and kinds[series.name] == "histogram":
            counts[(series.name[: -len("_count")], _without(series.labels))] = present
    assert histograms
    for key, buckets in histograms.items():
        buckets.sort()
        assert math.isinf(buckets[-1][0])
        for tick in range(len(buckets[0][1])):
            column = [values[tick] for _, values in buckets]
            assert column == sorted(column), f"{key} buckets not cumulative at tick {tick}"
        assert buckets[-1][1] == counts[key], f"{key}: +Inf bucket differs from _count"


def _without(labels: dict[str, str], *drop: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, v) for k, v in labels.items() if k not in drop))


def test_histogram_sums_match_observations(healthy_hour: tuple[Simulation, Recording]) -> None:
    sim, _ = healthy_hour
    for name in ("vllm:time_to_first_token_seconds", "vllm:request_prompt_tokens"):
        for count in current(sim, name + "_count"):
            labels = {k: v for k, v in count.labels.items()}
            (total,) = current(sim, name + "_sum", **labels)
            assert count.value and total.value
            mean = total.value / count.value
            buckets = sorted(
                (float(s.labels["le"]), s.value or 0.0)
                for s in current(sim, name + "_bucket", **labels)
            )
            # the mean lies between the median's bucket floor and the largest finite bound
            assert quantile(0.5, buckets) / 4 < mean < buckets[-2][0]
    (tokens,) = current(sim, "vllm:prompt_tokens_total", pod=sim.fleet.replicas[0].pod.name)
    (observed,) = current(sim, "vllm:request_prompt_tokens_sum", pod=sim.fleet.replicas[0].pod.name)
    assert tokens.value == pytest.approx(observed.value, abs=1)


def test_units_are_the_exporters_own(healthy_hour: tuple[Simulation, Recording]) -> None:
    sim, recording = healthy_hour
    ranges = {
        "DCGM_FI_DEV_GPU_UTIL": (0, 100),
        "DCGM_FI_PROF_GR_ENGINE_ACTIVE": (0, 1),
        "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE": (0, 1),
        "DCGM_FI_DEV_FB_USED": (0, 81559),  # MiB of an 80 GB H100
        "DCGM_FI_DEV_GPU_TEMP": (20, 100),  # °C
        "vllm:kv_cache_usage_perc": (0, 1),
        "ray_node_gpus_utilization": (0, 100),
        "ray_node_gram_used": (0, 81559),  # MiB despite the "bytes" in Ray's docs
    }
    for name, (low, high) in ranges.items():
        values = [v for vs in select(recording, name).values() for v in vs]
        assert values and low <= min(values) and max(values) <= high, name
    busy = [
        v
        for vs in select(recording, "DCGM_FI_DEV_GPU_UTIL", exported_pod=".+").values()
        for v in vs
    ]
    assert max(busy) > 1  # percent, not a ratio
    for used in current(sim, "DCGM_FI_DEV_FB_USED"):
        (free,) = current(sim, "DCGM_FI_DEV_FB_FREE", UUID=used.labels["UUID"])
        assert 80_000 < (used.value or 0) + (free.value or 0) < 81_559
    for count in current(sim, "vllm:e2e_request_latency_seconds_count"):
        (total,) = current(sim, "vllm:e2e_request_latency_seconds_sum", pod=count.labels["pod"])
        assert 1 < (total.value or 0) / (count.value or 1) < 30  # seconds, not milliseconds


# ---- labels --------------------------------------------------------------------------------


@pytest.mark.parametrize("style", list(DCGM_STYLES))
def test_dcgm_labels_per_pod_label_style(style: str) -> None:
    sim = Simulation(with_exporters(pod_label=style), start=START)
    series = current(sim, "DCGM_FI_DEV_GPU_UTIL")
    assert len(series) == 8
    base = {
        "gpu",
        "UUID",
        "pci_bus_id",
        "device",
        "modelName",
        "Hostname",
        "DCGM_FI_DRIVER_VERSION",
    }
    workload = set(DCGM_STYLES[style])
    others = {label for labels in DCGM_STYLES.values() for label in labels} - workload
    for s in series:
        gpu = next(g for g in sim.fleet.gpus if g.uuid == s.labels["UUID"])
        assert base <= set(s.labels)
        assert s.labels["Hostname"] == gpu.node and s.labels["device"] == f"nvidia{gpu.index}"
        if style != "pod":  # the exporter pod's own target labels stay beside exported_*
            assert s.labels["namespace"] == "gpu-operator"
            others -= {"pod", "namespace", "container"}
        if gpu.pod:
            pod, namespace, container = DCGM_STYLES[style]
            assert (s.labels[pod], s.labels[namespace]) == (gpu.pod, gpu.namespace)
            assert s.labels[container] == gpu.container
        else:
            assert not workload & set(s.labels), f"idle GPU with pod labels: {s.text}"
        assert not others & set(s.labels), s.text


@pytest.mark.parametrize("prefix", ["vllm:", "ray_vllm:", "ray_vllm_"])
@pytest.mark.parametrize("naming", ["current", "legacy", "either"])
def test_vllm_names_and_labels(prefix: str, naming: str) -> None:
    sim = Simulation(with_exporters(prefix=prefix, naming=naming), start=START)
    names = {f.name for f in sim.families()}
    current_name, legacy_name = f"{prefix}kv_cache_usage_perc", f"{prefix}gpu_cache_usage_perc"
    assert (current_name in names) == (naming != "legacy")
    assert (legacy_name in names) == (naming != "current")
    itl, tpot = f"{prefix}inter_token_latency_seconds", f"{prefix}time_per_output_token_seconds"
    assert (itl in names) == (naming != "legacy") and (tpot in names) == (naming != "current")
    assert not any(n.startswith("vllm:") for n in names) or prefix == "vllm:"
    if naming == "either":  # both generations carry identical values
        sim.advance()
        for new, old in ((current_name, legacy_name), (itl + "_bucket", tpot + "_bucket")):
            pairs = zip(current(sim, new), current(sim, old), strict=True)
            assert all(a.value == b.value and a.labels == b.labels for a, b in pairs)
    running = current(sim, f"{prefix}num_requests_running")
    assert len(running) == 4
    for s in running:
        replica = next(r for r in sim.fleet.replicas if r.pod.name == s.labels["pod"])
        assert s.labels["model_name"] == replica.model and s.labels["engine"] == "0"
        assert s.labels["namespace"] == "llm-serving" and s.labels["job"]
        if prefix == "vllm:":
            assert s.labels["instance"] == f"{replica.pod.ip}:8000"
        else:
            assert s.labels["instance"] == f"{replica.pod.ip}:8080"
            assert {"WorkerId", "ReplicaId", "ray_io_cluster"} <= set(s.labels)
        gpus = current(sim, "DCGM_FI_DEV_GPU_UTIL", exported_pod=replica.pod.name)
        assert len(gpus) == 1  # the inference dashboard joins vLLM's pod to DCGM's


def test_node_cadvisor_kube_state_and_ray_labels() -> None:
    sim = Simulation(BASE, start=START)
    fleet = sim.fleet
    job = fleet.training
    (owner,) = current(sim, "kube_job_owner")
    assert owner.labels["job_name"] == job.name and owner.labels["owner_kind"] == "RayJob"
    host_ips = {
        s.labels["host_ip"]
        for s in current(sim, "kube_pod_info", namespace=job.namespace)
        if s.labels["pod"].startswith(job.name + "-")
    }
    assert host_ips == {n.host_ip for n in fleet.nodes}
    cpu = current(sim, "node_cpu_seconds_total")
    assert {s.labels["instance"] for s in cpu} == {f"{ip}:9100" for ip in host_ips}
    assert {s.labels["job"] for s in cpu} == {"node-exporter"}
    assert {s.labels["mode"] for s in cpu} >= {"idle", "user", "system", "iowait"}
    devices = {s.labels["device"] for s in current(sim, "node_network_receive_bytes_total")}
    assert "eth0" in devices and any(d.startswith("veth") for d in devices)
    disks = {s.labels["device"] for s in current(sim, "node_disk_read_bytes_total")}
    assert {"nvme0n1", "nvme1n1", "nvme0n1p1"} <= disks
    worker = job.workers[0]
    containers = {
        s.labels.get("container", "")
        for s in current(sim, "container_cpu_usage_seconds_total", pod=worker.name)
    }
    assert containers == {worker.container, ""}  # the container and the pod cgroup aggregate
    requests = current(sim, "kube_pod_container_resource_requests", resource="nvidia_com_gpu")
    assert sum(s.value or 0 for s in requests) == 6  # 2 training + 4 serving GPUs
    assert all(s.labels["unit"] == "integer" for s in requests)
    gpus = current(sim, "ray_node_gpus_utilization", pod=worker.name)
    assert len(gpus) == 1 and gpus[0].labels["ray_io_cluster"] == job.ray_cluster
    assert gpus[0].labels["IsHeadNode"] == "false" and gpus[0].labels["GpuIndex"] == "0"


@pytest.mark.parametrize("enabled", [True, False])
def test_cluster_label_on_every_series_when_enabled(enabled: bool) -> None:
    sim = Simulation(with_exporters(cluster=enabled), start=START)
    labelled = [("cluster" in s.labels) for f in sim.families() for s in f.series]
    assert all(labelled) if enabled else not any(labelled)


def test_every_family_is_in_the_catalog_with_its_type() -> None:
    catalog = load_catalog()
    sim = Simulation(with_exporters(prefix="ray_vllm_", naming="either"), start=START)
    for family in sim.families():
        if family.name == "up":
            continue
        metric = catalog.get(family.name) or catalog.get(
            "vllm:" + family.name.removeprefix("ray_vllm_")
        )
        assert metric is not None, family.name
        assert family.kind == metric.type, family.name


# ---- scenarios -----------------------------------------------------------------------------


def test_healthy_crosses_no_threshold(healthy_hour: tuple[Simulation, Recording]) -> None:
    sim, recording = healthy_hour

    def values(name: str, **labels: str) -> list[float]:
        return [v for vs in select(recording, name, **labels).values() for v in vs]

    assert max(values("DCGM_FI_DEV_GPU_TEMP")) < LIMITS.gpu_temperature_warning_celsius
    assert set(values("DCGM_FI_DEV_XID_ERRORS")) == {0}
    used = select(recording, "DCGM_FI_DEV_FB_USED")
    for series, series_used in used.items():
        (free,) = select(recording, "DCGM_FI_DEV_FB_FREE", UUID=series.labels["UUID"]).values()
        ratios = [u / (u + f) for u, f in zip(series_used, free, strict=True)]
        assert max(ratios) < LIMITS.gpu_framebuffer_used_ratio
    assert max(values("vllm:kv_cache_usage_perc")) < LIMITS.kv_cache_usage_ratio
    for model in sim.fleet.models:
        waiting = select(recording, "vllm:num_requests_waiting", model_name=re.escape(model))
        assert max(map(sum, zip(*waiting.values(), strict=True))) <= LIMITS.waiting_requests
        for metric, limit in (
            ("vllm:time_to_first_token_seconds", LIMITS.ttft_target_seconds),
            ("vllm:inter_token_latency_seconds", LIMITS.inter_token_target_seconds),
            ("vllm:e2e_request_latency_seconds", LIMITS.e2e_target_seconds),
        ):
            assert max(windowed_p99(recording, metric, model, 5 * TICKS_PER_MINUTE)) < limit
    assert max(_node_cpu_busy(recording).values()) < LIMITS.cpu_busy_ratio
    training = values("DCGM_FI_DEV_GPU_UTIL", exported_namespace="default")
    assert min(training[4:]) > 100 * LIMITS.gpu_busy_ratio  # busy enough, not "crossing"


def _node_cpu_busy(recording: Recording, window: int = 4) -> dict[str, float]:
    """Highest 1 - avg(rate(idle)) per instance over `window`-tick windows."""
    idle: dict[str, list[list[float]]] = defaultdict(list)
    for series, values in select(recording, "node_cpu_seconds_total", mode="idle").items():
        idle[series.labels["instance"]].append(values)
    busiest = {}
    for instance, cpus in idle.items():
        busy = [
            1 - sum(c[k] - c[k - window] for c in cpus) / len(cpus) / (window * STEP)
            for k in range(window, len(cpus[0]))
        ]
        busiest[instance] = max(busy)
    return busiest


def _active(
    scenario: str, minutes: float, settings: Settings = BASE
) -> tuple[Simulation, Recording]:
    """A run whose anomaly is active from the first tick."""
    sim = Simulation(settings, scenario, start=START, onset=START)
    return sim, run(sim, minutes)


def test_data_starved_gpus_wait_while_cpu_and_storage_are_busy() -> None:
    _sim, recording = _active("data-starved", 10)
    late = slice(-8, None)
    util = [
        v
        for vs in select(recording, "DCGM_FI_DEV_GPU_UTIL", exported_namespace="default").values()
        for v in vs[late]
    ]
    assert sum(util) / len(util) < 100 * LIMITS.gpu_busy_ratio / 2
    busy = _node_cpu_busy(recording)
    assert min(busy.values()) > LIMITS.cpu_busy_ratio
    for series, values in select(recording, "node_disk_read_bytes_total", device="nvme1n1").items():
        rate = (values[-1] - values[-5]) / (4 * STEP)
        assert rate > 2.5e9, f"{series.labels['instance']} reads only {rate:.3g} B/s"


def test_thermal_throttling_stays_above_critical_with_lower_clocks() -> None:
    sim, recording = _active("thermal-throttling", 15)
    affected = sim.affected()
    (temperature,) = select(recording, "DCGM_FI_DEV_GPU_TEMP", UUID=affected["UUID"]).values()
    hot = [t > LIMITS.gpu_temperature_critical_celsius for t in temperature]
    assert longest_run(hot) >= 8 * TICKS_PER_MINUTE
    (clock,) = current(sim, "DCGM_FI_DEV_SM_CLOCK", UUID=affected["UUID"])
    assert (clock.value or 0) < 1500
    others = [
        t
        for s, ts in select(recording, "DCGM_FI_DEV_GPU_TEMP").items()
        if s.labels["UUID"] != affected["UUID"]
        for t in ts
    ]
    assert max(others) < LIMITS.gpu_temperature_warning_celsius


def test_xid_error_puts_xid_79_on_one_gpu() -> None:
    sim, _ = _active("xid-error", 2)
    errors = current(sim, "DCGM_FI_DEV_XID_ERRORS")
    assert len(errors) == 8
    (broken,) = [s for s in errors if s.value]
    assert broken.value == 79 and broken.labels["err_code"] == "79"
    assert broken.labels["UUID"] == sim.affected()["UUID"]
    assert broken.labels["exported_pod"].startswith(sim.fleet.training.name + "-")


def test_kv_cache_saturated_on_one_replica_for_over_15_minutes() -> None:
    sim, recording = _active("kv-cache-saturated", 20)
    pod = sim.affected()["pod"]
    usage = select(recording, "vllm:kv_cache_usage_perc")
    (saturated,) = [v for s, v in usage.items() if s.labels["pod"] == pod]
    assert longest_run([u > LIMITS.kv_cache_usage_ratio for u in saturated]) > 15 * TICKS_PER_MINUTE
    assert all(
        max(v) < LIMITS.kv_cache_usage_ratio for s, v in usage.items() if s.labels["pod"] != pod
    )
    (waiting,) = select(recording, "vllm:num_requests_waiting", pod=pod).values()
    assert min(waiting[4:]) >= 10


def test_ttft_slo_breach_for_over_15_minutes() -> None:
    sim, recording = _active("ttft-slo-breach", 22)
    model = sim.affected()["model_name"]
    p99 = windowed_p99(recording, "vllm:time_to_first_token_seconds", model, 5 * TICKS_PER_MINUTE)
    assert longest_run([v > LIMITS.ttft_target_seconds for v in p99]) > 15 * TICKS_PER_MINUTE
    other = next(m for m in sim.fleet.models if m != model)
    healthy = windowed_p99(
        recording, "vllm:time_to_first_token_seconds", other, 5 * TICKS_PER_MINUTE
    )
    assert max(healthy) < LIMITS.ttft_target_seconds


def test_idle_allocated_gpus_are_requested_but_idle() -> None:
    sim, _ = _active("idle-allocated-gpus", 3)
    for worker in sim.fleet.training.workers:
        (requested,) = current(
            sim, "kube_pod_container_resource_requests", pod=worker.name, resource="nvidia_com_gpu"
        )
        assert (requested.value or 0) >= 1
        for gpu in current(sim, "DCGM_FI_DEV_GPU_UTIL", exported_pod=worker.name):
            assert (gpu.value or 0) <= 2


def test_every_scenario_is_documented_and_unknown_names_are_refused() -> None:
    assert tuple(SCENARIOS) == (
        "healthy",
        "data-starved",
        "thermal-throttling",
        "xid-error",
        "kv-cache-saturated",
        "ttft-slo-breach",
        "requests-queueing",
        "request-errors",
        "idle-allocated-gpus",
    )
    with pytest.raises(ValueError, match="choose one of: healthy"):
        Simulation(BASE, "on-fire", start=START)


# ---- OpenMetrics ---------------------------------------------------------------------------


def _history(path: Path, seed: int = 0, minutes: float = 10, settings: Settings = BASE) -> str:
    sim = Simulation(settings, "healthy", start=START, seed=seed)
    write_openmetrics(sim, path, end=START + minutes * 60)
    return path.read_text(encoding="utf-8")


def test_openmetrics_is_deterministic_and_grouped_by_family(tmp_path: Path) -> None:
    first = _history(tmp_path / "a.om")
    assert first == _history(tmp_path / "b.om")
    assert first != _history(tmp_path / "c.om", seed=1)
    assert first.endswith("\n# EOF\n")
    families: list[str] = []
    last_time: dict[str, float] = {}
    for line in first.splitlines()[:-1]:
        if line.startswith("# TYPE "):
            families.append(line.split()[2])
            continue
        if line.startswith("#"):
            continue
        name = re.split(r"[{ ]", line, maxsplit=1)[0]
        assert name.startswith(families[-1]), f"{name} outside its family {families[-1]}"
        series, stamp = line.rsplit(" ", 2)[0], float(line.rsplit(" ", 1)[1])
        assert stamp > last_time.get(series, 0), f"{series} goes back in time"
        last_time[series] = stamp
    assert len(families) == len(set(families)), "a family appears twice"
    assert "# TYPE vllm:prompt_tokens counter" in first  # OpenMetrics counters drop _total
    assert "# TYPE DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION unknown" in first
    assert min(last_time.values()) == START + 600


# ---- real promtool and Prometheus ----------------------------------------------------------


def test_promtool_lints_the_live_page_without_parse_errors() -> None:
    promtool = require_binary("promtool")
    page = render_text(
        Simulation(with_exporters(prefix="ray_vllm:", naming="either"), start=START).families()
    )
    result = subprocess.run(
        [promtool, "check", "metrics"], input=page, capture_output=True, text=True, check=False
    )
    assert "error while linting" not in result.stdout + result.stderr, result.stderr[-2000:]


def test_promtool_refuses_a_broken_file_with_a_clear_error(tmp_path: Path) -> None:
    require_binary("promtool")
    broken = tmp_path / "broken.om"
    broken.write_text("# TYPE x gauge\nx{ 1 2\n# EOF\n", encoding="utf-8")
    with pytest.raises(BackfillError, match="promtool could not backfill"):
        create_blocks(broken, tmp_path / "data")


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Simulation, float]]:
    """A real Prometheus on one hour of backfilled history, scraping the live endpoint that
    continues the same simulation every second. Yields (URL, simulation, end of history)."""
    binary = require_binary("prometheus")
    require_binary("promtool")
    directory = tmp_path_factory.mktemp("synthetic-prometheus")
    end = float(int(time.time()))
    sim = Simulation(BASE, "xid-error", start=end - 3600)
    stats = write_openmetrics(sim, directory / "history.om", end=end)
    blocks = create_blocks(stats.path, directory / "data")
    assert blocks.blocks
    with MetricsEndpoint(sim) as endpoint:
        config = {
            "global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
            "scrape_configs": [endpoint.scrape_config("synthetic-fleet", "1s")],
        }
        (directory / "prometheus.yml").write_text(json.dumps(config), encoding="utf-8")
        port = free_port()
        with (directory / "prometheus.log").open("wb") as log:
            process = subprocess.Popen(
                [
                    binary,
                    f"--config.file={directory / 'prometheus.yml'}",
                    f"--storage.tsdb.path={directory / 'data'}",
                    f"--web.listen-address=127.0.0.1:{port}",
                    "--log.level=warn",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_until(lambda: _ready(url) or process.poll() is not None, 20)
            assert process.poll() is None, (directory / "prometheus.log").read_text()[-2000:]
            yield url, sim, end
        finally:
            stop_process(process)


def _ready(url: str) -> bool:
    try:
        with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(
            url + "/-/ready", timeout=1
        ) as r:
            return bool(r.status == 200)
    except OSError:
        return False


def _wait_until(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def test_backfilled_history_answers_queries(prometheus: tuple[str, Simulation, float]) -> None:
    url, sim, end = prometheus
    at = str(end - 60)
    result = api(url, "/api/v1/query", query="count(DCGM_FI_DEV_GPU_UTIL)", time=at)["result"]
    assert result and result[0]["value"][1] == "8"
    xid = api(url, "/api/v1/query", query="DCGM_FI_DEV_XID_ERRORS == 79", time=at)["result"]
    assert [r["metric"]["UUID"] for r in xid] == [sim.affected()["UUID"]]
    ttft = (
        "histogram_quantile(0.99, sum by (le) (rate(vllm:time_to_first_token_seconds_bucket[5m])))"
    )
    (p99,) = api(url, "/api/v1/query", query=ttft, time=at)["result"]
    assert 0 < float(p99["value"][1]) < LIMITS.ttft_target_seconds


def test_live_endpoint_continues_the_backfilled_series(
    prometheus: tuple[str, Simulation, float],
) -> None:
    url, sim, end = prometheus
    scraped = 'count_over_time(up{job="synthetic-fleet"}[1m])'
    assert _wait_until(lambda: bool(api(url, "/api/v1/query", query=scraped)["result"]), 15)
    assert (
        api(url, "/api/v1/query", query='up{job="synthetic-fleet"}')["result"][0]["value"][1] == "1"
    )
    pod = sim.fleet.replicas[0].pod.name
    counter = f'vllm:prompt_tokens_total{{pod="{pod}"}}'
    (history,) = api(url, "/api/v1/query", query=f"count_over_time({counter}[2h])", time=str(end))[
        "result"
    ]
    assert _wait_until(
        lambda: (
            float(
                api(url, "/api/v1/query", query=f"count_over_time({counter}[2h])")["result"][0][
                    "value"
                ][1]
            )
            > float(history["value"][1])
        ),
        15,
    )
    (resets,) = api(url, "/api/v1/query", query=f"resets({counter}[2h])")["result"]
    assert resets["value"][1] == "0"  # live samples continue the history, no counter reset


# ---- live endpoint without Prometheus ------------------------------------------------------


def _get(url: str) -> tuple[int, str, str]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=5) as response:
        return response.status, response.headers["Content-Type"], response.read().decode()


def test_endpoint_serves_current_values_as_the_clock_moves() -> None:
    now = [START + 600]
    sim = Simulation(BASE, start=START)
    with MetricsEndpoint(sim, clock=lambda: now[0]) as endpoint:
        status, content_type, first = _get(endpoint.url)
        assert status == 200 and content_type.startswith("text/plain; version=0.0.4")
        assert sim.time == START + 600
        assert "# TYPE vllm:prompt_tokens_total counter" in first
        assert "# TYPE vllm:time_to_first_token_seconds histogram" in first
        now[0] += 60
        _status, _type, second = _get(endpoint.url)
        assert sim.time == START + 660
        pattern = re.compile(
            r'^node_cpu_seconds_total\{cpu="0",mode="idle",instance="10\.0\.0\.4:9100".*\} (\S+)$',
            re.M,
        )
        before, after = (float(pattern.search(page).group(1)) for page in (first, second))  # type: ignore[union-attr]
        assert after > before
        assert endpoint.scrape_config()["honor_labels"] is True
    with pytest.raises(OSError):
        _get(endpoint.url)


def test_serve_forever_stops_cleanly() -> None:
    endpoint = MetricsEndpoint(Simulation(BASE, start=START), clock=lambda: START)
    port = endpoint.port
    serving = threading.Thread(target=endpoint.serve_forever)
    serving.start()
    assert _get(f"http://127.0.0.1:{port}/")[0] == 200
    endpoint.stop()
    serving.join(5)
    assert not serving.is_alive()
    with pytest.raises(OSError):
        _get(f"http://127.0.0.1:{port}/metrics")
