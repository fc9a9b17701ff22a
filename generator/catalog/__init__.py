"""The metric catalog (metrics.yaml beside this file) as typed, read-only data."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

import yaml

MetricType = Literal["counter", "gauge", "histogram", "summary", "info", "untyped"]
CATALOG_FILE = Path(__file__).with_name("metrics.yaml")
_HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")
# vLLM inside Ray Serve is exported through Ray's agent under these prefixes.
VLLM_PREFIXES = ("vllm:", "ray_vllm:", "ray_vllm_")
_SUMMARY_SUFFIXES = ("_sum", "_count")
# vLLM's V1 engine, with its longer latency buckets, is the default from this release on.
VLLM_V1_DEFAULT_SINCE = "0.8"


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split(".") if part.isdigit())


@dataclass(frozen=True)
class Metric:
    name: str
    exporter: str
    type: MetricType
    help: str
    labels: tuple[str, ...] = ()
    kubernetes_labels: tuple[str, ...] = ()
    unit: str = ""
    added_in: str = ""
    deprecated_in: str = ""
    removed_in: str = ""
    renamed_to: str = ""
    renamed_from: str = ""
    replacement: str = ""
    legacy_name: str = ""
    naming: str = ""
    enabled_by_default: bool | None = None
    uncertain: bool = False
    buckets: tuple[float, ...] = ()  # a histogram's `le` bounds (without +Inf)
    buckets_v0: tuple[float, ...] = ()  # the same under vLLM's V0 engine, when they differed

    def bucket_bounds(self, version: str) -> tuple[float, ...]:
        """The histogram's bucket bounds at an exporter version (vLLM: V0 before 0.8)."""
        if self.buckets_v0 and _version_key(version) < _version_key(VLLM_V1_DEFAULT_SINCE):
            return self.buckets_v0
        return self.buckets

    @property
    def series_names(self) -> tuple[str, ...]:
        """The names Prometheus stores for this metric (a histogram has three)."""
        if self.type == "histogram":
            return tuple(self.name + s for s in _HISTOGRAM_SUFFIXES)
        if self.type == "summary":
            return (self.name, *(self.name + s for s in _SUMMARY_SUFFIXES))
        return (self.name,)


class Catalog:
    """Lookup by metric name or by any stored series name (x_bucket finds histogram x)."""

    def __init__(self, metrics: list[Metric]) -> None:
        self.metrics = tuple(metrics)
        self._by_name = {m.name: m for m in metrics}
        self._by_series = {s: m for m in metrics for s in m.series_names}

    def __contains__(self, name: str) -> bool:
        return name in self._by_series

    def __len__(self) -> int:
        return len(self.metrics)

    def get(self, name: str) -> Metric | None:
        """Returns the metric with this exact name (a histogram by its base name), or None."""
        return self._by_name.get(name)

    def for_series(self, series_name: str) -> Metric | None:
        """Returns the metric a stored series belongs to, or None."""
        return self._by_series.get(series_name)

    def resolve(self, series_name: str) -> Metric | None:
        """Like for_series, but also knows vLLM's Ray prefixes (ray_vllm:x, ray_vllm_x)."""
        found = self._by_series.get(series_name)
        if found is None:
            for prefix in VLLM_PREFIXES[1:]:
                if series_name.startswith(prefix):
                    return self._by_series.get("vllm:" + series_name[len(prefix) :])
        return found

    def names(self) -> list[str]:
        """Every series name the catalog knows, for did-you-mean suggestions."""
        return list(self._by_series)

    def current_name(self, name: str) -> str:
        """Follows renamed_to links to the newest name of a metric."""
        seen = {name}
        while (metric := self._by_name.get(name)) and metric.renamed_to:
            name = metric.renamed_to
            if name in seen:
                break
            seen.add(name)
        return name


def parse_catalog(entries: list[dict[str, object]]) -> Catalog:
    """Builds a Catalog from raw entries (lists become tuples)."""
    metrics = []
    for entry in entries:
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in entry.items()}
        metrics.append(Metric(**values))  # type: ignore[arg-type]
    return Catalog(metrics)


@cache
def load_catalog(path: Path = CATALOG_FILE) -> Catalog:
    """Returns the bundled catalog, parsed once per process."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with path.open(encoding="utf-8") as stream:
        return parse_catalog(yaml.load(stream, Loader=loader))
