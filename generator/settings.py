"""obsgen.yaml -> frozen Settings; every environment difference lives in that one file."""

from __future__ import annotations

import difflib
import math
import os
import re
import types
import typing
from dataclasses import MISSING, dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from generator.catalog import load_catalog
from generator.durations import parse_duration
from generator.errors import SettingsError
from generator.kubernetes import names
from generator.rules import SEVERITIES
from generator.yaml_source import KeyPath, MarkedDocument, load_marked_yaml

CONFIG_ENV = "OBSGEN_CONFIG"
RUNBOOK_URL = "https://github.com/example/obsgen/blob/main/docs/runbooks.md#{alert_lower}"
RUNBOOK_PLACEHOLDERS = ("{alert}", "{alert_lower}")
MAX_FOLDER_DEPTH = 4  # Grafana's MaxNestedFolderDepth
DEFAULT_CONFIG = Path("obsgen.yaml")

_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_DURATION = re.compile(r"^([0-9]+(ms|s|m|h|d|w|y))+$")
_VERSION = re.compile(r"^[0-9]+(\.[0-9]+){0,3}$")
_WEBHOOK_URL = re.compile(r"^https?://[^\s/]+\S*$")
# The keys a mapping field accepts, by its metadata pattern: the syntax and how to name it.
_MAPPING_KEYS = {
    "": (_LABEL_NAME, "a valid label name"),
    "kubernetes-labels": (names.QUALIFIED_NAME, f"a valid Kubernetes label key ({names.KEY_RULE})"),
    "receivers": (
        re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"),
        "a valid receiver name (letters, digits, '-', '_' and '.')",
    ),
    "severities": (
        re.compile(f"^({'|'.join(SEVERITIES)})$"),
        "a severity (" + " | ".join(SEVERITIES) + ")",
    ),
    "label-values": (re.compile(r"^.+$", re.DOTALL), "a non-empty label value"),
}


def _limits(
    low: float | None = None, high: float | None = None, pattern: str = "", values: str = ""
) -> Any:
    """Field metadata read by the loader: numeric bounds or named patterns of text, of a
    mapping's keys (`pattern`) and of its values (`values`)."""
    return {"min": low, "max": high, "pattern": pattern, "values": values}


@dataclass(frozen=True)
class DatasourceSettings:
    type: Literal["prometheus"] = "prometheus"
    default: str = "Prometheus"  # the datasource the `datasource` variable selects first


@dataclass(frozen=True)
class ClusterSettings:
    enabled: bool = False
    label: str = field(default="cluster", metadata=_limits(pattern="label"))


@dataclass(frozen=True)
class VllmSettings:
    prefix: Literal["vllm:", "ray_vllm:", "ray_vllm_"] = "vllm:"
    naming: Literal["current", "legacy", "either"] = "current"
    version: str = field(default="0.11", metadata=_limits(pattern="version"))


@dataclass(frozen=True)
class DcgmSettings:
    # The stock Helm ServiceMonitor has honorLabels: false, so workload labels arrive as exported_*.
    pod_label: Literal["pod", "exported_pod", "pod_name"] = "exported_pod"
    version: str = field(default="4.2.3", metadata=_limits(pattern="version"))


@dataclass(frozen=True)
class ExporterSettings:
    vllm: VllmSettings = field(default_factory=VllmSettings)
    dcgm: DcgmSettings = field(default_factory=DcgmSettings)


@dataclass(frozen=True)
class Thresholds:
    """Numbers that dashboards draw and alerts fire on, so both always agree."""

    gpu_temperature_warning_celsius: float = field(default=83.0, metadata=_limits(0, 150))
    gpu_temperature_critical_celsius: float = field(default=90.0, metadata=_limits(0, 150))
    gpu_framebuffer_used_ratio: float = field(default=0.95, metadata=_limits(0, 1))
    gpu_busy_ratio: float = field(default=0.8, metadata=_limits(0, 1))
    cpu_busy_ratio: float = field(default=0.8, metadata=_limits(0, 1))
    kv_cache_usage_ratio: float = field(default=0.9, metadata=_limits(0, 1))
    # Latency targets: a request is good when it is faster (the SLO counts good requests), so
    # each must be a bucket bound of vLLM's histogram; p99 lines are drawn against them too.
    ttft_target_seconds: float = field(default=2.5, metadata=_limits(0.001, 3600))
    inter_token_target_seconds: float = field(default=0.2, metadata=_limits(0.001, 3600))
    e2e_target_seconds: float = field(default=30.0, metadata=_limits(0.001, 86400))
    waiting_requests: int = field(default=50, metadata=_limits(0, 1_000_000))
    request_error_ratio: float = field(default=0.05, metadata=_limits(0, 1))
    # Below it a GPU counts as idle: verdict `idle`, stalled jobs, allocated-but-idle GPUs.
    gpu_idle_ratio: float = field(default=0.1, metadata=_limits(0, 1))
    # Share of wall time a data disk is busy above which storage holds the job back.
    storage_busy_ratio: float = field(default=0.8, metadata=_limits(0, 1))
    # Share of CFS periods throttled above which the pods' CPU limit holds the job back.
    cpu_throttled_ratio: float = field(default=0.25, metadata=_limits(0, 1))


@dataclass(frozen=True)
class BurnRateWindow:
    """One multiwindow burn-rate condition: both windows burn faster than `burn_rate`."""

    long_window: str = field(default="1h", metadata=_limits(pattern="duration"))
    short_window: str = field(default="5m", metadata=_limits(pattern="duration"))
    burn_rate: float = field(default=14.4, metadata=_limits(0.1, 10_000))


@dataclass(frozen=True)
class SloSettings:
    """Latency SLOs of inference (TTFT, end-to-end): share of requests faster than the target
    over `period`; the windows default to the SRE workbook's (2 % / 5 % / 10 % of the budget)."""

    objective: float = field(default=0.99, metadata=_limits(0.5, 0.99999))
    period: str = field(default="30d", metadata=_limits(pattern="duration"))
    # Requests per second a model must serve for a page: below it a few slow requests are a
    # large share, noise rather than an outage (0: page on any traffic).
    min_request_rate: float = field(default=0.1, metadata=_limits(0, 1_000_000))
    page_fast: BurnRateWindow = field(default_factory=BurnRateWindow)
    page_slow: BurnRateWindow = field(
        default_factory=lambda: BurnRateWindow(long_window="6h", short_window="30m", burn_rate=6)
    )
    ticket: BurnRateWindow = field(
        default_factory=lambda: BurnRateWindow(long_window="3d", short_window="6h", burn_rate=1)
    )


@dataclass(frozen=True)
class AlertSettings:
    # {alert} becomes the alert name, {alert_lower} the name in lower case (a GitHub anchor).
    runbook_url: str = RUNBOOK_URL
    labels: dict[str, str] = field(default_factory=dict)  # added to every alert (e.g. team)
    for_duration: str = field(default="5m", metadata=_limits(pattern="duration"))
    job_stalled_after: str = field(default="15m", metadata=_limits(pattern="duration"))
    data_starved_after: str = field(default="30m", metadata=_limits(pattern="duration"))
    gpu_missing_after: str = field(default="10m", metadata=_limits(pattern="duration"))
    idle_allocated_after: str = field(default="4h", metadata=_limits(pattern="duration"))


@dataclass(frozen=True)
class GrafanaSettings:
    folder: str = field(default="GPU Workloads", metadata=_limits(pattern="folder"))
    tags: tuple[str, ...] = ("obsgen", "gpu")
    refresh: str = field(default="30s", metadata=_limits(pattern="duration"))


@dataclass(frozen=True)
class PrometheusSettings:
    version: str = field(default="2.42", metadata=_limits(pattern="version"))
    scrape_interval: str = field(default="30s", metadata=_limits(pattern="duration"))


# Kubernetes labels (selectors too): label keys to label values.
_KUBERNETES_LABELS = _limits(pattern="kubernetes-labels", values="kubernetes-label-value")
_NAMESPACES = _limits(pattern="namespace")  # namespace names; () selects every namespace


@dataclass(frozen=True)
class GrafanaOperatorSettings:
    enabled: bool = False
    instance_selector: dict[str, str] = field(
        default_factory=lambda: {"dashboards": "grafana"}, metadata=_KUBERNETES_LABELS
    )
    encoding: Literal["json", "gzipJson"] = "json"


@dataclass(frozen=True)
class RayMonitorSettings:
    enabled: bool = True
    namespaces: tuple[str, ...] = field(default=(), metadata=_NAMESPACES)
    head_selector: dict[str, str] = field(
        default_factory=lambda: {"ray.io/node-type": "head"}, metadata=_KUBERNETES_LABELS
    )
    worker_selector: dict[str, str] = field(
        default_factory=lambda: {"ray.io/node-type": "worker"}, metadata=_KUBERNETES_LABELS
    )
    port: str = field(default="metrics", metadata=_limits(pattern="port-name"))
    head_extra_ports: tuple[str, ...] = field(default=(), metadata=_limits(pattern="port-name"))


@dataclass(frozen=True)
class VllmMonitorSettings:
    enabled: bool = True
    namespaces: tuple[str, ...] = field(default=(), metadata=_NAMESPACES)
    selector: dict[str, str] = field(
        default_factory=lambda: {"app.kubernetes.io/name": "vllm"}, metadata=_KUBERNETES_LABELS
    )
    port: str = field(default="http", metadata=_limits(pattern="port-name"))
    path: str = field(default="/metrics", metadata=_limits(pattern="url-path"))


@dataclass(frozen=True)
class DcgmMonitorSettings:
    enabled: bool = True
    exporter: Literal["gpu-operator", "helm-chart"] = "gpu-operator"
    namespaces: tuple[str, ...] = field(default=("gpu-operator",), metadata=_NAMESPACES)


@dataclass(frozen=True)
class MonitorSettings:
    ray: RayMonitorSettings = field(default_factory=RayMonitorSettings)
    vllm: VllmMonitorSettings = field(default_factory=VllmMonitorSettings)
    dcgm: DcgmMonitorSettings = field(default_factory=DcgmMonitorSettings)


@dataclass(frozen=True)
class KubernetesSettings:
    """What out/kubernetes/ holds: sidecar ConfigMaps, PrometheusRules, monitors, ..."""

    namespace: str = field(default="monitoring", metadata=_limits(pattern="namespace"))
    name_prefix: str = field(default="obsgen-", metadata=_limits(pattern="name-prefix"))
    part_of: str = field(default="obsgen", metadata=_limits(pattern="kubernetes-label-value"))
    sidecar: bool = True
    dashboard_label: str = field(
        default="grafana_dashboard", metadata=_limits(pattern="kubernetes-label-key")
    )
    # A string: the sidecar compares text.
    dashboard_label_value: str = field(
        default="1", metadata=_limits(pattern="kubernetes-label-value")
    )
    folder_annotation: str = field(
        default="grafana_folder", metadata=_limits(pattern="kubernetes-annotation-key")
    )
    rule_labels: dict[str, str] = field(
        default_factory=lambda: {"release": "kube-prometheus-stack"}, metadata=_KUBERNETES_LABELS
    )
    monitor_labels: dict[str, str] = field(
        default_factory=lambda: {"release": "kube-prometheus-stack"}, metadata=_KUBERNETES_LABELS
    )
    monitors: MonitorSettings = field(default_factory=MonitorSettings)
    grafana_operator: GrafanaOperatorSettings = field(default_factory=GrafanaOperatorSettings)


@dataclass(frozen=True)
class AlertmanagerSettings:
    """What out/alertmanager/alertmanager.yaml routes where, how it groups and how often."""

    # Receiver name -> webhook URL; "" is a receiver with only a name, for people to wire up.
    receivers: dict[str, str] = field(
        default_factory=lambda: {"default": "", "gpu-oncall": "", "ml-platform": ""},
        metadata=_limits(pattern="receivers", values="webhook-url"),
    )
    default_receiver: str = "default"  # takes what no team or severity route takes
    severity_receivers: dict[str, str] = field(
        default_factory=lambda: {"critical": "gpu-oncall", "warning": "ml-platform"},
        metadata=_limits(pattern="severities"),
    )
    team_label: str = field(default="team", metadata=_limits(pattern="label"))
    # team label value -> receiver; these routes come before the severity routes.
    team_receivers: dict[str, str] = field(
        default_factory=dict, metadata=_limits(pattern="label-values")
    )
    # One notification per alert and node (its GPUs together) or per alert and model.
    group_by: tuple[str, ...] = field(
        default=("alertname", "Hostname", "namespace", "model_name"),
        metadata=_limits(pattern="label"),
    )
    group_wait: str = field(default="30s", metadata=_limits(pattern="duration"))
    group_interval: str = field(default="5m", metadata=_limits(pattern="duration"))
    repeat_interval: str = field(default="4h", metadata=_limits(pattern="duration"))


@dataclass(frozen=True)
class Settings:
    datasource: DatasourceSettings = field(default_factory=DatasourceSettings)
    cluster: ClusterSettings = field(default_factory=ClusterSettings)
    exporters: ExporterSettings = field(default_factory=ExporterSettings)
    thresholds: Thresholds = field(default_factory=Thresholds)
    slo: SloSettings = field(default_factory=SloSettings)
    alerts: AlertSettings = field(default_factory=AlertSettings)
    grafana: GrafanaSettings = field(default_factory=GrafanaSettings)
    prometheus: PrometheusSettings = field(default_factory=PrometheusSettings)
    kubernetes: KubernetesSettings = field(default_factory=KubernetesSettings)
    alertmanager: AlertmanagerSettings = field(default_factory=AlertmanagerSettings)
    source: str = "(defaults)"  # where these settings came from, for messages


def resolve_config_path(explicit: str | None) -> Path:
    """--config wins, then OBSGEN_CONFIG, then ./obsgen.yaml."""
    if explicit:
        return Path(explicit)
    from_env = os.environ.get(CONFIG_ENV)
    return Path(from_env) if from_env else DEFAULT_CONFIG


BUILT_IN = "(built-in defaults)"


def settings_for(explicit: str | None) -> Settings:
    """The settings a command uses: --config, else $OBSGEN_CONFIG, else ./obsgen.yaml, else
    (no file named anywhere and none here) the built-in defaults, with source BUILT_IN."""
    path = resolve_config_path(explicit)
    if not explicit and not os.environ.get(CONFIG_ENV) and not path.exists():
        return Settings(source=BUILT_IN)
    return load_settings(path)


def load_settings(path: Path) -> Settings:
    """Returns the settings in `path`; any problem raises SettingsError naming file and key."""
    if not path.exists():
        raise SettingsError(
            f"{path}: settings file not found; pass --config PATH, set "
            f"{CONFIG_ENV}, or run where obsgen.yaml is"
        )
    document = load_marked_yaml(path, SettingsError)
    if not isinstance(document.data, dict):
        raise SettingsError(
            f"{path}: the top level must be a mapping of sections "
            f"(datasource, cluster, exporters, ...)"
        )
    values = _bind(Settings, document.data, (), document)
    settings = Settings(**{**values, "source": str(path)})
    _check_consistency(settings, document)
    return settings


def _check_consistency(settings: Settings, doc: MarkedDocument) -> None:
    """Rules between keys that each look fine alone."""
    if "severity" in settings.alerts.labels:
        raise SettingsError(
            f"{doc.where(('alerts', 'labels', 'severity'))}: 'alerts.labels.severity' cannot be "
            f"set for every alert: each alert's severity routes it; remove the key"
        )
    limits = settings.thresholds
    if limits.gpu_temperature_warning_celsius >= limits.gpu_temperature_critical_celsius:
        key = ("thresholds", "gpu_temperature_warning_celsius")
        raise SettingsError(
            f"{doc.where(key)}: 'thresholds.gpu_temperature_warning_celsius' "
            f"({limits.gpu_temperature_warning_celsius:g}) must be below "
            f"'thresholds.gpu_temperature_critical_celsius' "
            f"({limits.gpu_temperature_critical_celsius:g})"
        )
    if not any(placeholder in settings.alerts.runbook_url for placeholder in RUNBOOK_PLACEHOLDERS):
        raise SettingsError(
            f"{doc.where(('alerts', 'runbook_url'))}: 'alerts.runbook_url' must contain "
            f"{{alert}} (each alert's name) or {{alert_lower}} (the name in lower case, as in "
            f"a GitHub heading anchor)"
        )
    _check_latency_targets(settings, doc)
    _check_slo(settings.slo, doc)
    _check_alertmanager(settings.alertmanager, doc)
    _check_selectors(settings.kubernetes, doc)


# Latency targets -> the vLLM histogram whose bucket `le` equal to the target counts good
# requests (time_per_output_token_seconds: the inter-token buckets of both engines).
LATENCY_TARGET_HISTOGRAMS = {
    "ttft_target_seconds": "vllm:time_to_first_token_seconds",
    "inter_token_target_seconds": "vllm:time_per_output_token_seconds",
    "e2e_target_seconds": "vllm:e2e_request_latency_seconds",
}


def _check_latency_targets(settings: Settings, doc: MarkedDocument) -> None:
    """Each latency target is a bucket bound of its histogram at the configured vLLM version."""
    catalog, version = load_catalog(), settings.exporters.vllm.version
    for key, histogram in LATENCY_TARGET_HISTOGRAMS.items():
        target = getattr(settings.thresholds, key)
        metric = catalog.get(histogram)
        bounds = metric.bucket_bounds(version) if metric else ()
        if bounds and target not in bounds:
            raise SettingsError(
                f"{doc.where(('thresholds', key))}: 'thresholds.{key}' ({target:g}) is not a "
                f"bucket bound of {histogram} in vLLM {version}: a request counts as good when "
                f"it falls in the bucket le=target; use one of "
                f"{', '.join(f'{bound:g}' for bound in bounds)}"
            )


def _check_slo(slo: SloSettings, doc: MarkedDocument) -> None:
    """Each burn-rate condition confirms a long window with a shorter one inside the period."""
    period = parse_duration(slo.period) or 0.0
    for name in ("page_fast", "page_slow", "ticket"):
        window: BurnRateWindow = getattr(slo, name)
        long, short = parse_duration(window.long_window), parse_duration(window.short_window)
        key = ("slo", name, "short_window")
        if not short or not long or short >= long:
            raise SettingsError(
                f"{doc.where(key)}: 'slo.{name}.short_window' ({window.short_window}) must be "
                f"shorter than 'slo.{name}.long_window' ({window.long_window})"
            )
        if long > period:
            key = ("slo", name, "long_window")
            raise SettingsError(
                f"{doc.where(key)}: 'slo.{name}.long_window' ({window.long_window}) must not be "
                f"longer than 'slo.period' ({slo.period})"
            )


def _check_selectors(settings: KubernetesSettings, doc: MarkedDocument) -> None:
    """What an enabled object selects is named: an empty selector would select everything."""
    monitors, operator = settings.monitors, settings.grafana_operator
    selectors: list[tuple[KeyPath, bool, dict[str, str], str]] = [
        (
            ("monitors", "ray", "head_selector"),
            monitors.ray.enabled,
            monitors.ray.head_selector,
            "pod",
        ),
        (
            ("monitors", "ray", "worker_selector"),
            monitors.ray.enabled,
            monitors.ray.worker_selector,
            "pod",
        ),
        (("monitors", "vllm", "selector"), monitors.vllm.enabled, monitors.vllm.selector, "pod"),
        (
            ("grafana_operator", "instance_selector"),
            operator.enabled,
            operator.instance_selector,
            "Grafana instance",
        ),
    ]
    for key, enabled, selector, selected in selectors:
        if enabled and not selector:
            key_path = ("kubernetes", *key)
            raise SettingsError(
                f"{doc.where(key_path)}: '{'.'.join(key_path)}' is empty, so it would select "
                f"every {selected}; name their labels, or set "
                f"'kubernetes.{'.'.join(key[:-1])}.enabled: false'"
            )


def _check_alertmanager(settings: AlertmanagerSettings, doc: MarkedDocument) -> None:
    """Every receiver a route names is defined; the intervals Alertmanager refuses at zero."""
    defined = ", ".join(sorted(settings.receivers)) or "none"
    references: list[tuple[KeyPath, str]] = [(("default_receiver",), settings.default_receiver)]
    references += [(("severity_receivers", k), v) for k, v in settings.severity_receivers.items()]
    references += [(("team_receivers", k), v) for k, v in settings.team_receivers.items()]
    for key, receiver in references:
        if receiver not in settings.receivers:
            key_path = ("alertmanager", *key)
            raise SettingsError(
                f"{doc.where(key_path)}: '{'.'.join(key_path)}' names receiver "
                f"{receiver!r}, which 'alertmanager.receivers' does not define "
                f"(defined: {defined}); add it there or name one of those"
            )
    for name in ("group_interval", "repeat_interval"):
        if not any(int(number) for number in re.findall(r"[0-9]+", getattr(settings, name))):
            raise SettingsError(
                f"{doc.where(('alertmanager', name))}: 'alertmanager.{name}' must be longer "
                f"than zero (Alertmanager refuses 0)"
            )
    repeated = sorted({label for label in settings.group_by if settings.group_by.count(label) > 1})
    if repeated:
        raise SettingsError(
            f"{doc.where(('alertmanager', 'group_by'))}: 'alertmanager.group_by' lists "
            f"{', '.join(repeated)} more than once"
        )


def _bind(cls: type, raw: dict[str, Any], key_path: KeyPath, doc: MarkedDocument) -> dict[str, Any]:
    known = {f.name: f for f in fields(cls) if f.name != "source"}
    hints = typing.get_type_hints(cls)
    for key in raw:
        if not isinstance(key, str) or key not in known:
            _unknown_key(str(key), list(known), (*key_path, str(key)), doc)
    values: dict[str, Any] = {}
    for name, spec in known.items():
        if name not in raw:
            continue
        values[name] = _coerce(hints[name], raw[name], (*key_path, name), doc, spec.metadata)
    for name, spec in known.items():
        if name not in values and spec.default is MISSING and spec.default_factory is MISSING:
            raise SettingsError(f"{doc.where(key_path)}: '{'.'.join(key_path)}' needs '{name}'")
    return values


def _unknown_key(key: str, known: list[str], key_path: KeyPath, doc: MarkedDocument) -> None:
    guess = difflib.get_close_matches(key, known, n=1)
    hint = f"; did you mean '{guess[0]}'?" if guess else f"; known keys: {', '.join(known)}"
    raise SettingsError(f"{doc.where(key_path)}: unknown key '{'.'.join(key_path)}'{hint}")


def _coerce(hint: Any, value: Any, key_path: KeyPath, doc: MarkedDocument, metadata: Any) -> Any:
    dotted = ".".join(key_path)
    where = doc.where(key_path)

    def fail(expected: str) -> typing.NoReturn:
        raise SettingsError(f"{where}: '{dotted}' must be {expected}, got {value!r}")

    origin = get_origin(hint)
    if is_dataclass(hint):
        if not isinstance(value, dict):
            fail("a mapping")
        return hint(**_bind(hint, value, key_path, doc))  # type: ignore[operator, arg-type]
    if origin is Literal:
        choices = get_args(hint)
        if value not in choices:
            fail("one of " + " | ".join(repr(c) for c in choices))
        return value
    if hint is bool:
        if not isinstance(value, bool):
            fail("true or false")
        return value
    if hint in (int, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            fail("a number")
        if hint is int and not isinstance(value, int):
            fail("a whole number")
        if not math.isfinite(value):
            fail("a finite number")
        low, high = metadata.get("min"), metadata.get("max")
        if (low is not None and value < low) or (high is not None and value > high):
            fail(f"a number between {low} and {high}")
        return hint(value)
    if hint is str:
        if not isinstance(value, str):
            fail(_NOT_TEXT.get(metadata.get("pattern", ""), "a string (quote it in YAML)"))
        _check_pattern(metadata.get("pattern", ""), value, fail)
        return value
    if origin is dict:
        if not isinstance(value, dict):
            fail("a mapping of names to strings")
        for name, item in value.items():
            _check_entry((*key_path, str(name)), name, item, doc, metadata)
        return dict(sorted(value.items()))
    if origin is tuple or (isinstance(hint, types.GenericAlias) and origin is tuple):
        if not isinstance(value, list):
            fail("a list of strings")
        for item in value:
            if not isinstance(item, str):
                if metadata.get("pattern", "") in _NOT_TEXT:
                    _fail_item(where, dotted, item)(_NOT_TEXT[metadata["pattern"]])
                fail("a list of strings")
            _check_pattern(metadata.get("pattern", ""), item, _fail_item(where, dotted, item))
        return tuple(value)
    raise TypeError(f"settings field {dotted} has an unsupported type {hint!r}")


def _check_entry(entry: KeyPath, key: Any, item: Any, doc: MarkedDocument, metadata: Any) -> None:
    """One key and value of a mapping field: text keys of the field's syntax, text values."""
    dotted, where = ".".join(entry), doc.where(entry)

    def fail(expected: str) -> typing.NoReturn:
        raise SettingsError(f"{where}: '{dotted}' must be {expected}, got {item!r}")

    if not isinstance(item, str):
        fail("a string (quote numbers and booleans)")
    if not isinstance(key, str):
        raise SettingsError(
            f"{where}: '{dotted}' needs a text key: quote it (YAML reads {key!r} as "
            f"{type(key).__name__})"
        )
    syntax, described = _MAPPING_KEYS[metadata.get("pattern", "")]
    if not syntax.match(key):
        raise SettingsError(f"{where}: '{dotted}' is not {described}")
    _check_pattern(metadata.get("values", ""), item, fail)


def _fail_item(where: str, dotted: str, item: object) -> typing.Callable[[str], typing.NoReturn]:
    """A fail() for one entry of a list field, naming the entry."""

    def fail(expected: str) -> typing.NoReturn:
        raise SettingsError(f"{where}: '{dotted}' holds {item!r}, which is not {expected}")

    return fail


# Text patterns checked by a regular expression, and how a message names them.
_TEXT_PATTERNS: dict[str, tuple[re.Pattern[str], str]] = {
    "namespace": (names.DNS1123_LABEL, f"a Kubernetes namespace name, {names.NAMESPACE_RULE}"),
    "name-prefix": (
        names.NAME_PREFIX,
        "empty or a name prefix of at most 40 lowercase letters, digits, '-' and '.', "
        "starting with a letter or digit",
    ),
    "kubernetes-label-key": (names.QUALIFIED_NAME, f"a Kubernetes label key ({names.KEY_RULE})"),
    "kubernetes-annotation-key": (
        names.QUALIFIED_NAME,
        f"a Kubernetes annotation key ({names.KEY_RULE})",
    ),
    "kubernetes-label-value": (
        names.LABEL_VALUE,
        f"a Kubernetes label value ({names.VALUE_RULE})",
    ),
    "port-name": (names.PORT_NAME, f"{names.PORT_RULE}, such as metrics"),
    "url-path": (re.compile(r"^/\S*$"), "a URL path starting with '/', such as /metrics"),
}
# What a value of the wrong type must be instead, where plain "a string" would mislead.
_NOT_TEXT = {
    "port-name": "a port name such as metrics, not a number: monitors find the container "
    "port by the name in its ports entry",
}


def _check_pattern(pattern: str, value: str, fail: typing.Callable[[str], typing.NoReturn]) -> None:
    if pattern in _TEXT_PATTERNS:
        syntax, described = _TEXT_PATTERNS[pattern]
        if not syntax.match(value):
            fail(_NOT_TEXT.get(pattern, described) if value.isdigit() else described)
    if pattern == "label" and not _LABEL_NAME.match(value):
        fail("a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*)")
    if pattern == "duration" and not _DURATION.match(value):
        fail("a Prometheus duration such as 30s, 5m or 1h")
    if pattern == "version" and not _VERSION.match(value):
        fail("a version such as 0.11 or 4.2.3")
    if pattern == "folder":
        levels = [level.strip() for level in value.split("/")]
        if not all(levels) or len(levels) > MAX_FOLDER_DEPTH:
            fail(
                f"a folder title, or nested titles 'Parent/Child' (at most {MAX_FOLDER_DEPTH} "
                f"levels, none empty)"
            )
    if pattern == "webhook-url" and value and not _WEBHOOK_URL.match(value):
        fail('an http:// or https:// URL, or "" for a receiver without a webhook')
