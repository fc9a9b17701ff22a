"""PromQL builders that know metric names, renames and label styles across exporter versions.

Content modules never spell a metric name that the catalog does not know: every selector goes
through `Queries.selector`, so a typo fails the build instead of showing "No data" in Grafana.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from generator.catalog import Catalog, load_catalog
from generator.errors import ContentError
from generator.settings import Settings

RATE_INTERVAL = "$__rate_interval"
_VLLM_CATALOG_PREFIX = "vllm:"

# Label names of the workload that owns a GPU, per DCGM exporter label style.
_DCGM_WORKLOAD_LABELS = {
    "pod": ("pod", "namespace", "container"),
    "exported_pod": ("exported_pod", "exported_namespace", "exported_container"),
    "pod_name": ("pod_name", "pod_namespace", "container_name"),
}


def matcher(label: str, value: str, op: str = "=~") -> str:
    """Returns one label matcher: matcher("namespace", "$ns") gives namespace=~"$ns"."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'{label}{op}"{escaped}"'


def aggregate(op: str, expr: str, by: Sequence[str] = ()) -> str:
    """Returns `op by (labels) (expr)`, or `op(expr)` without grouping labels."""
    if by:
        return f"{op} by ({', '.join(by)}) ({expr})"
    return f"{op}({expr})"


def bucket_bound_matcher(bound: float) -> str:
    """Returns an `le` matcher for one histogram bucket bound, written either way clients and
    Prometheus releases write it ("30.0" from Python, "30" once Prometheus 3 normalises)."""
    shortest = f"{bound:g}"
    pattern = re.escape(shortest) + (r"(\.0)?" if float(bound).is_integer() else "")
    return matcher("le", pattern)


def join_or(expressions: Sequence[str]) -> str:
    """Joins alternatives with `or`; the first one that has series wins for each label set."""
    if len(expressions) == 1:
        return expressions[0]
    # Parenthesised as a whole: `A or B > 0.9` would compare only B.
    return "(" + " or ".join(f"({e})" for e in expressions) + ")"


@dataclass(frozen=True)
class DcgmLabels:
    """The labels DCGM puts the owning pod, namespace and container in, for this install."""

    pod: str
    namespace: str
    container: str


@dataclass(frozen=True)
class Queries:
    """Query builders bound to one Settings; `window` is the range of rate() and friends."""

    settings: Settings
    catalog: Catalog = field(default_factory=load_catalog)
    window: str = RATE_INTERVAL
    templated: bool = True  # dashboard queries may use Grafana variables; rules may not

    def with_window(self, window: str) -> Queries:
        """Returns the same builders with a fixed range instead of $__rate_interval."""
        return replace(self, window=window)

    def for_rules(self, window: str = "5m") -> Queries:
        """Builders for Prometheus rules: a fixed range and no Grafana variables."""
        return replace(self, window=window, templated=False)

    def by(self, *labels: str) -> tuple[str, ...]:
        """Grouping labels, plus the cluster label when multi-cluster is on."""
        cluster = self.settings.cluster
        return (*labels, cluster.label) if cluster.enabled else labels

    # ---- generic selectors -------------------------------------------------------------

    def selector(self, series: str, *matchers: str) -> str:
        """Returns `series{matchers}`, with the cluster filter when multi-cluster is on."""
        if series not in self.catalog and not self._is_vllm_alias(series):
            raise ContentError(
                f"metric '{series}' is not in the metric catalog "
                f"(generator/catalog/metrics.yaml); check the name or add it there"
            )
        return self.recorded(series, *matchers)

    def recorded(self, series: str, *matchers: str) -> str:
        """Returns `series{matchers}` without the catalog check, for a series obsgen's own
        recording rules write; with the cluster filter when multi-cluster is on."""
        all_matchers = [*self.scope_matchers(), *matchers]
        return f"{series}{{{', '.join(all_matchers)}}}" if all_matchers else series

    def scope_matchers(self) -> list[str]:
        """Matchers of every dashboard query: the `cluster` variable when multi-cluster is on."""
        cluster = self.settings.cluster
        return [matcher(cluster.label, "$cluster")] if cluster.enabled and self.templated else []

    def label_values(self, label: str, series: str, *matchers: str) -> str:
        """Returns a Grafana variable query listing `label` values of a catalog series."""
        return f"label_values({self.selector(series, *matchers)}, {label})"

    def rate(self, series: str, *matchers: str, function: str = "rate") -> str:
        """Returns `rate(series{...}[window])` (or irate/increase via `function`)."""
        return f"{function}({self.selector(series, *matchers)}[{self.window}])"

    def histogram_quantile(
        self, quantile: float, metric: str, by: Sequence[str], *matchers: str
    ) -> str:
        """Returns the quantile of a histogram over `window`, kept apart by `by` labels."""
        inner = aggregate("sum", self.rate(f"{metric}_bucket", *matchers), ("le", *by))
        return f"histogram_quantile({quantile}, {inner})"

    def histogram_mean(self, metric: str, by: Sequence[str], *matchers: str) -> str:
        """Returns the mean observed value of a histogram over `window`."""
        total = aggregate("sum", self.rate(f"{metric}_sum", *matchers), by)
        count = aggregate("sum", self.rate(f"{metric}_count", *matchers), by)
        return f"({total} / {count})"

    # ---- vLLM: prefix styles and naming generations ------------------------------------

    def vllm_names(self, metric: str) -> list[str]:
        """Returns the exposed names of a vLLM metric (catalog name, current generation)
        for the configured prefix and naming generation; `either` gives current then legacy."""
        entry = self.catalog.get(metric)
        if entry is None or entry.exporter != "vllm":
            raise ContentError(f"'{metric}' is not a vLLM metric in the catalog")
        legacy = entry.renamed_from or metric
        naming = self.settings.exporters.vllm.naming
        chosen = {"current": [metric], "legacy": [legacy], "either": [metric, legacy]}[naming]
        return [self._vllm_exposed(name) for name in dict.fromkeys(chosen)]

    def vllm(self, metric: str, build: Callable[[str], str]) -> str:
        """Builds one aggregated expression per exposed name and joins them with `or`.

        `build` receives the exposed base name (e.g. "ray_vllm_kv_cache_usage_perc") and must
        aggregate: `or` on raw series would double-count during a deprecation window."""
        return join_or([build(name) for name in self.vllm_names(metric)])

    def vllm_quantile(self, quantile: float, metric: str, by: Sequence[str], *matchers: str) -> str:
        """Returns a vLLM histogram quantile; in `either` mode the bucket rates are or-ed."""
        return f"histogram_quantile({quantile}, {self.vllm_bucket_rates(metric, by, *matchers)})"

    def vllm_bucket_rates(self, metric: str, by: Sequence[str], *matchers: str) -> str:
        """Returns the bucket rates of a vLLM histogram summed by `le` and `by`."""
        return self.vllm(
            metric,
            lambda name: aggregate("sum", self.rate(f"{name}_bucket", *matchers), ("le", *by)),
        )

    def vllm_mean(self, metric: str, by: Sequence[str], *matchers: str) -> str:
        """Returns the mean of a vLLM histogram over `window`."""
        return self.vllm(metric, lambda name: self.histogram_mean(name, by, *matchers))

    def vllm_share_within(
        self, metric: str, bound: float, by: Sequence[str], *matchers: str
    ) -> str:
        """Returns the share of a vLLM histogram's observations at or below `bound` (a bucket
        bound) over `window`: the good-request ratio of a latency SLO."""
        within = self.vllm(
            metric,
            lambda name: aggregate(
                "sum", self.rate(f"{name}_bucket", *matchers, bucket_bound_matcher(bound)), by
            ),
        )
        total = self.vllm(
            metric, lambda name: aggregate("sum", self.rate(f"{name}_count", *matchers), by)
        )
        return f"({within} / {total})"

    def vllm_rate(self, metric: str, by: Sequence[str], *matchers: str) -> str:
        """Returns the per-second rate of a vLLM counter, summed by `by`."""
        return self.vllm(metric, lambda name: aggregate("sum", self.rate(name, *matchers), by))

    def vllm_gauge(self, metric: str, op: str, by: Sequence[str], *matchers: str) -> str:
        """Returns a vLLM gauge aggregated with `op` (max/avg for ratios, sum for counts)."""
        return self.vllm(metric, lambda name: aggregate(op, self.selector(name, *matchers), by))

    def _vllm_exposed(self, catalog_name: str) -> str:
        return self.settings.exporters.vllm.prefix + catalog_name[len(_VLLM_CATALOG_PREFIX) :]

    def _is_vllm_alias(self, series: str) -> bool:
        prefix = self.settings.exporters.vllm.prefix
        if not series.startswith(prefix):
            return False
        return (_VLLM_CATALOG_PREFIX + series[len(prefix) :]) in self.catalog

    # ---- DCGM ---------------------------------------------------------------------------

    @property
    def dcgm_labels(self) -> DcgmLabels:
        """The workload labels of DCGM series for the configured pod-label style."""
        return DcgmLabels(*_DCGM_WORKLOAD_LABELS[self.settings.exporters.dcgm.pod_label])

    def dcgm_workload(self, namespace: str, pod: str) -> list[str]:
        """Matchers that keep the GPUs of pods matching `pod` in `namespace`."""
        labels = self.dcgm_labels
        return [matcher(labels.namespace, namespace), matcher(labels.pod, pod)]
