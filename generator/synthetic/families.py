"""The exposition model of the synthetic fleet: metric families, series and their current values.

Exporter modules register series through a `Registry` and then only set numbers on handles
(`Gauge`, `Counter`, `Histogram`). A handle may stand for the same metric under several names
(vLLM's two naming generations), so every name carries identical values by construction.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from generator.catalog import VLLM_PREFIXES, Catalog, Metric

MetricKind = Literal["counter", "gauge", "histogram"]
UP_HELP = "1 if the target was scraped successfully (synthetic scrape target)."


def escape_label_value(value: str) -> str:
    """Returns `value` escaped for a label value in the text and OpenMetrics formats."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render_labels(labels: Mapping[str, str]) -> str:
    """Returns `{a="1",b="2"}` in the given order, or "" without labels.

    Empty values are dropped: to Prometheus an empty label is an absent one."""
    parts = [f'{k}="{escape_label_value(v)}"' for k, v in labels.items() if v != ""]
    return "{" + ",".join(parts) + "}" if parts else ""


@dataclass(eq=False)
class Series:
    """One stored series: its sample name, labels and the value at the current tick."""

    name: str
    labels: dict[str, str]
    value: float | None = None  # None: no sample at this tick
    text: str = field(init=False, repr=False)  # `name{labels}`, rendered once

    def __post_init__(self) -> None:
        self.text = self.name + render_labels(self.labels)


@dataclass(eq=False)
class Family:
    """A metric family as exporters expose it: counters keep `_total` in `name`, histograms
    use their base name and hold `_bucket`, `_sum` and `_count` series."""

    name: str
    kind: MetricKind
    help: str
    series: list[Series] = field(default_factory=list)

    def add(self, sample_name: str, labels: dict[str, str]) -> Series:
        """Adds a series and returns it."""
        series = Series(sample_name, labels)
        self.series.append(series)
        return series


class Gauge:
    """A gauge value shown under one or more names; `set` writes all of them."""

    def __init__(self, series: Sequence[Series]) -> None:
        self._series = tuple(series)

    def set(self, value: float | None) -> None:
        """Sets the current value (None: no sample)."""
        number = None if value is None else float(value)
        for series in self._series:
            series.value = number


class Counter:
    """A counter that only grows; `integer` counters expose whole numbers (requests, bytes)."""

    def __init__(self, series: Sequence[Series], start: float = 0.0, integer: bool = False) -> None:
        self._series = tuple(series)
        self._integer = integer
        self.total = max(start, 0.0)
        self._publish()

    def inc(self, amount: float) -> None:
        """Adds `amount` (negative amounts count as zero: a counter never goes down)."""
        if amount > 0:
            self.total += amount
        self._publish()

    def _publish(self) -> None:
        value = float(math.floor(self.total)) if self._integer else self.total
        for series in self._series:
            series.value = value


class Histogram:
    """A cumulative histogram under one or more names.

    Observations arrive as expected counts: `observe(count, cdf, mean)` adds `count`
    observations distributed by `cdf` (share at or below a bound) with average `mean`. Bucket
    accumulators only grow and are monotone in `le`; the exposed counts are their floors, so
    buckets stay cumulative and +Inf equals _count exactly."""

    def __init__(
        self,
        buckets: Sequence[Sequence[Series]],
        sums: Sequence[Series],
        counts: Sequence[Series],
        bounds: Sequence[float],
    ) -> None:
        self.bounds = tuple(bounds)
        self._buckets = [tuple(b) for b in buckets]  # one entry per bound, +Inf last
        self._sums = tuple(sums)
        self._counts = tuple(counts)
        self._accumulated = [0.0] * (len(self.bounds) + 1)
        self.sum = 0.0
        self._publish()

    def observe(self, count: float, shares: Sequence[float], mean: float) -> None:
        """Adds `count` observations, `shares[i]` of them at or below `bounds[i]`."""
        if count <= 0:
            self._publish()
            return
        accumulated = self._accumulated
        running = 0.0
        for i, share in enumerate(shares):
            running = max(running, min(share, 1.0))  # keeps buckets monotone in le
            accumulated[i] += count * running
        accumulated[-1] += count
        self.sum += count * mean
        self._publish()

    @property
    def count(self) -> float:
        """The number of observations so far (the +Inf bucket)."""
        return float(math.floor(self._accumulated[-1]))

    def _publish(self) -> None:
        for cell, series in zip(self._accumulated, self._buckets, strict=True):
            value = float(math.floor(cell))
            for s in series:
                s.value = value
        count = self.count
        for s in self._counts:
            s.value = count
        for s in self._sums:
            s.value = self.sum


def format_bound(bound: float) -> str:
    """Returns an `le` value as Prometheus client libraries write it (1.0, 2.5, +Inf)."""
    if math.isinf(bound):
        return "+Inf"
    return repr(float(bound))


class Registry:
    """Creates families (help and type from the metric catalog) and the series in them.

    `common` labels (the cluster label when multi-cluster is on) go on every series."""

    def __init__(self, catalog: Catalog, common: Mapping[str, str]) -> None:
        self._catalog = catalog
        self._common = dict(common)
        self._families: dict[str, Family] = {}

    @property
    def families(self) -> list[Family]:
        """Every family in registration order."""
        return list(self._families.values())

    def family(self, name: str, kind: MetricKind | None = None, help: str = "") -> Family:
        """Returns the family `name`, creating it; help and kind come from the catalog (which
        knows vLLM's Ray prefixes) unless given. Unknown names without a kind raise KeyError."""
        found = self._families.get(name)
        if found is not None:
            return found
        metric = self._lookup(name)
        if metric is None and (kind is None or not help):
            raise KeyError(f"synthetic metric {name!r} is not in the metric catalog")
        chosen = kind or _kind(metric.type if metric else "gauge")
        family = Family(name, chosen, help or (metric.help if metric else ""))
        self._families[name] = family
        return family

    def _lookup(self, name: str) -> Metric | None:
        """The catalog entry of a metric name, also under vLLM's Ray prefixes."""
        found = self._catalog.get(name)
        if found is None:
            for prefix in VLLM_PREFIXES[1:]:
                if name.startswith(prefix):
                    return self._catalog.get(VLLM_PREFIXES[0] + name[len(prefix) :])
        return found

    def labels(self, labels: Mapping[str, str]) -> dict[str, str]:
        """Returns `labels` plus the common labels."""
        return {**labels, **self._common}

    def gauge(self, names: Sequence[str], labels: Mapping[str, str]) -> Gauge:
        """Returns a gauge exposed under every name in `names` with `labels`."""
        full = self.labels(labels)
        return Gauge([self.family(n).add(n, dict(full)) for n in names])

    def counter(
        self,
        names: Sequence[str],
        labels: Mapping[str, str],
        start: float = 0.0,
        integer: bool = False,
    ) -> Counter:
        """Returns a counter exposed under every name in `names`, starting at `start`."""
        full = self.labels(labels)
        return Counter([self.family(n).add(n, dict(full)) for n in names], start, integer)

    def histogram(
        self, names: Sequence[str], labels: Mapping[str, str], bounds: Sequence[float]
    ) -> Histogram:
        """Returns a histogram with `bounds` (without +Inf) exposed under every name."""
        full = self.labels(labels)
        families = [self.family(n) for n in names]
        edges = [*bounds, math.inf]
        buckets = [
            [f.add(f.name + "_bucket", {**full, "le": format_bound(edge)}) for f in families]
            for edge in edges
        ]
        sums = [f.add(f.name + "_sum", dict(full)) for f in families]
        counts = [f.add(f.name + "_count", dict(full)) for f in families]
        return Histogram(buckets, sums, counts, bounds)

    def up(self, labels: Mapping[str, str]) -> Gauge:
        """Returns the `up` series (value 1) of one synthetic scrape target."""
        family = self.family("up", "gauge", UP_HELP)
        gauge = Gauge([family.add("up", self.labels(labels))])
        gauge.set(1)
        return gauge


def _kind(catalog_type: str) -> MetricKind:
    """The exposition kind of a catalog type (info and untyped series are gauges)."""
    if catalog_type in ("counter", "histogram"):
        return catalog_type  # type: ignore[return-value]
    return "gauge"
