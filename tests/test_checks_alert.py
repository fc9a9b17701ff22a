"""The alert/* and rules/duplicate checks, table-driven through validate_documents."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from generator.build import build
from generator.checks.documents import Document
from generator.checks.problem import Problem
from generator.checks.runner import validate_documents
from generator.settings import (
    ClusterSettings,
    DcgmSettings,
    PrometheusSettings,
    Settings,
    VllmSettings,
)

REMOVE: Any = object()  # alert(field=REMOVE) drops the field
TEMPERATURE = "max by (Hostname, gpu) (DCGM_FI_DEV_GPU_TEMP) > 85"


def alert(**extra: Any) -> dict[str, Any]:
    """An alerting rule every alert check accepts; keyword arguments replace its fields."""
    rule: dict[str, Any] = {
        "alert": "GpuHot",
        "expr": TEMPERATURE,
        "for": "5m",
        "labels": {"severity": "warning"},
        "annotations": {
            "summary": "GPU {{ $labels.gpu }} on {{ $labels.Hostname }} is hot",
            "description": "GPU {{ $labels.gpu }} has been above 85 °C for 5 minutes.",
            "runbook_url": "https://runbooks.example.com/GpuHot",
        },
    }
    rule.update(extra)
    return {k: v for k, v in rule.items() if v is not REMOVE}


def annotated(**annotations: str) -> dict[str, Any]:
    """alert() with some annotations replaced."""
    return alert(annotations={**alert()["annotations"], **annotations})


def rules(*items: dict[str, Any], group: str = "gpu", file: str = "r.yaml") -> Document:
    return Document(
        "rules", file, {"groups": [{"name": group, "rules": copy.deepcopy(list(items))}]}
    )


def with_scrape(interval: str) -> Settings:
    return dataclasses.replace(Settings(), prometheus=PrometheusSettings(scrape_interval=interval))


def problems(
    check: str, documents: list[Document], settings: Settings | None = None
) -> list[Problem]:
    found = validate_documents(documents, settings or Settings())
    assert not [p for p in found if p.check == "obsgen/internal"], found
    return [p for p in found if p.check == check]


def assert_single(
    check: str,
    severity: str,
    documents: list[Document],
    words: list[str] | None,
    settings: Settings | None = None,
) -> None:
    """No problem of `check` when `words` is None, else one whose message has every word."""
    found = problems(check, documents, settings)
    if words is None:
        assert found == [], found
        return
    assert len(found) == 1, found
    (problem,) = found
    assert (problem.check, problem.severity) == (check, severity)
    for word in words:
        assert word in problem.message, problem.message
    assert problem.hint


Case = tuple[str, list[dict[str, Any]], list[str] | None]

LABEL_CASES: list[Case] = [
    ("warning", [alert()], None),
    ("critical", [alert(labels={"severity": "critical", "team": "ml"})], None),
    ("info", [alert(labels={"severity": "info"})], None),
    ("recording-rules-need-none", [{"record": "a:b:c", "expr": "sum(up)"}], None),
    ("no-labels", [alert(labels=REMOVE)], ["alert 'GpuHot' has no severity label"]),
    ("no-severity", [alert(labels={"team": "ml"})], ["no severity label"]),
    ("unknown-value", [alert(labels={"severity": "page"})], ["severity 'page'", "critical"]),
    ("not-a-mapping", [alert(labels=["severity"])], ["labels that are not a mapping"]),
]


@pytest.mark.parametrize(("items", "words"), [pytest.param(r, w, id=i) for i, r, w in LABEL_CASES])
def test_labels(items: list[dict[str, Any]], words: list[str] | None) -> None:
    assert_single("alert/labels", "error", [rules(*items)], words)


ANNOTATION_CASES: list[Case] = [
    ("complete", [alert()], None),
    ("templated-runbook", [annotated(runbook_url="http://wiki/{{ $labels.gpu }}")], None),
    (
        "missing-runbook",
        [alert(annotations={"summary": "s", "description": "d"})],
        ["alert 'GpuHot' has no runbook_url annotation"],
    ),
    ("empty-summary", [annotated(summary=" ")], ["no summary annotation"]),
    ("none", [alert(annotations=REMOVE)], ["no summary, description or runbook_url annotations"]),
    ("relative-runbook", [annotated(runbook_url="runbooks/GpuHot.md")], ["not an http"]),
]


@pytest.mark.parametrize(
    ("items", "words"), [pytest.param(r, w, id=i) for i, r, w in ANNOTATION_CASES]
)
def test_annotations(items: list[dict[str, Any]], words: list[str] | None) -> None:
    assert_single("alert/annotations", "warning", [rules(*items)], words)


XID = "max by (gpu) (DCGM_FI_DEV_XID_ERRORS) > 0"
RECORDED_TEMPERATURE = {
    "record": "gpu:DCGM_FI_DEV_GPU_TEMP:max",
    "expr": "max by (gpu) (DCGM_FI_DEV_GPU_TEMP)",
}
# (case id, rules, scrape interval, key words or None)
FOR_CASES: list[tuple[str, list[dict[str, Any]], str, list[str] | None]] = [
    ("five-minutes", [alert()], "30s", None),
    ("event-alert-fires-at-once", [alert(expr=XID, **{"for": "0m"})], "30s", None),
    ("missing-is-zero", [alert(**{"for": REMOVE})], "30s", None),
    ("two-dcgm-samples", [alert(**{"for": "1m"})], "30s", None),
    ("fast-scrape-non-dcgm", [alert(expr="up == 0", **{"for": "30s"})], "15s", None),
    (
        "one-scrape",
        [alert(expr="up == 0", **{"for": "45s"})],
        "30s",
        ["alert 'GpuHot' has for: 45s", "two collection intervals (1m", "every 30s"],
    ),
    (
        "dcgm-samples-slower-than-scrape",
        [alert(**{"for": "30s"})],
        "15s",
        ["for: 30s", "dcgm-exporter samples DCGM_FI_DEV_GPU_TEMP every 30s"],
    ),
    (
        "dcgm-through-recording-rule",
        [RECORDED_TEMPERATURE, alert(expr="gpu:DCGM_FI_DEV_GPU_TEMP:max > 85", **{"for": "45s"})],
        "15s",
        ["dcgm-exporter samples"],
    ),
    ("slow-scrape", [alert(**{"for": "1m"})], "1m", ["(2m; Prometheus scrapes every 1m)"]),
    ("not-a-duration", [alert(**{"for": "5 minutes"})], "30s", ["'5 minutes'", "not a Prometheus"]),
    ("units-out-of-order", [alert(**{"for": "5m1h"})], "30s", ["not a Prometheus duration"]),
    ("number-without-unit", [alert(**{"for": 5})], "30s", ["not a Prometheus duration"]),
]


@pytest.mark.parametrize(
    ("items", "scrape", "words"), [pytest.param(r, s, w, id=i) for i, r, s, w in FOR_CASES]
)
def test_for(items: list[dict[str, Any]], scrape: str, words: list[str] | None) -> None:
    assert_single("alert/for", "warning", [rules(*items)], words, with_scrape(scrape))


def described(expr: str, text: str, **extra: Any) -> dict[str, Any]:
    """alert() with `expr`, a plain summary and `text` as its description."""
    annotations = {**alert()["annotations"], "summary": "A GPU is hot.", "description": text}
    return alert(expr=expr, annotations=annotations, **extra)


TEMPLATE_CASES: list[Case] = [
    ("kept-labels", [alert()], None),
    ("plain-selector-unknown", [described("DCGM_FI_DEV_GPU_TEMP > 85", "{{ $labels.pod }}")], None),
    ("without-unknown", [described("max without (pod) (x) > 1", "{{ $labels.gpu }}")], None),
    (
        "label-replace-adds",
        [described('label_replace(sum by (a) (x), "b", "$1", "a", "(.*)") > 1', "{{ $labels.b }}")],
        None,
    ),
    (
        "group-left-adds",
        [
            described(
                "sum by (a) (x) * on (a) group_left (b) sum by (a, b) (y) > 1", "{{ .Labels.b }}"
            )
        ],
        None,
    ),
    (
        "or-of-both",
        [described("sum by (a) (x) > 1 or sum by (a, b) (y) > 2", "{{ $labels.a }}")],
        None,
    ),
    (
        "histogram-quantile-keeps-grouping",
        [
            described(
                "histogram_quantile(0.99, sum by (le, model_name) (rate(x_bucket[5m]))) > 2",
                "{{ $labels.model_name }}",
            )
        ],
        None,
    ),
    (
        "dollar-value-and-humanize",
        [described(TEMPERATURE, "{{ $value | humanize }} {{- /* c */ -}}")],
        None,
    ),
    (
        "unclosed",
        [described(TEMPERATURE, "GPU {{ $labels.gpu is hot")],
        ["annotation 'description'", "'{{' at column 5 is never closed"],
    ),
    (
        "nested-open",
        [described(TEMPERATURE, "GPU {{ $labels.gpu {{ $value }}")],
        ["not closed before the next '{{' at column 20"],
    ),
    (
        "stray-close",
        [described(TEMPERATURE, "GPU $labels.gpu }} hot")],
        ["'}}' at column 17 closes no '{{'"],
    ),
    (
        "empty-action",
        [described(TEMPERATURE, "GPU {{ }} hot")],
        ["the action at column 5 is empty"],
    ),
    (
        "label-template",
        [alert(labels={"severity": "warning", "gpu": "{{ $labels.gpu"})],
        ["label 'gpu'"],
    ),
    (
        "dropped-by-aggregation",
        [described(TEMPERATURE, "{{ $labels.pod }} is hot")],
        ["annotation 'description' uses $labels.pod", "keeps only Hostname, gpu"],
    ),
    (
        "dot-labels-and-index",
        [described(TEMPERATURE, '{{ .Labels.pod }} {{ index $labels "pod" }}')],
        ["$labels.pod"],
    ),
    (
        "sum-without-grouping",
        [described("sum(DCGM_FI_DEV_GPU_TEMP) > 85", "{{ $labels.gpu }}")],
        ["$labels.gpu", "no labels"],
    ),
    (
        "on-keeps-only-matching",
        [described("sum by (a, b) (x) > on (a) sum by (a) (y)", "{{ $labels.b }}")],
        ["$labels.b", "keeps only a"],
    ),
    (
        "rule-label-is-not-in-labels",
        [described(TEMPERATURE, "{{ $labels.severity }}")],
        ["$labels.severity", "not the rule's own labels"],
    ),
    (
        "through-recording-rule",
        [
            RECORDED_TEMPERATURE,
            described("gpu:DCGM_FI_DEV_GPU_TEMP:max > 85", "{{ $labels.Hostname }}"),
        ],
        ["$labels.Hostname", "keeps only gpu"],
    ),
]


@pytest.mark.parametrize(
    ("items", "words"), [pytest.param(r, w, id=i) for i, r, w in TEMPLATE_CASES]
)
def test_template(items: list[dict[str, Any]], words: list[str] | None) -> None:
    assert_single("alert/template", "error", [rules(*items)], words)


COMPARISON_CASES: list[Case] = [
    ("threshold", [alert()], None),
    ("absent", [alert(expr='absent(up{job="dcgm-exporter"})')], None),
    ("absent-over-time", [alert(expr="absent_over_time(up[10m])")], None),
    ("or-of-comparisons", [alert(expr="a > 1 or b > 2")], None),
    ("and-with-comparison-on-a-side", [alert(expr="a and b > 1")], None),
    ("unless", [alert(expr="kube_pod_info unless on (pod) up")], None),
    ("aggregated-filter", [alert(expr="count by (job) (up == 0)")], None),
    ("arithmetic-over-filter", [alert(expr="(x > 1) * 100")], None),
    ("deeply-nested", [alert(expr="(" * 400 + "x > 1" + ")" * 400)], None),
    (
        "bare-aggregation",
        [alert(expr="sum by (gpu) (DCGM_FI_DEV_GPU_TEMP)")],
        ["alert 'GpuHot' has no comparison"],
    ),
    ("bool-comparison", [alert(expr="x > bool 1")], ["no comparison"]),
    ("or-with-bare-side", [alert(expr="a > 1 or b")], ["no comparison"]),
    ("fallback-vector", [alert(expr="count(up == 0) or vector(0)")], ["no comparison"]),
    ("scalar-does-not-filter", [alert(expr="x * scalar(y > 1)")], ["no comparison"]),
]


@pytest.mark.parametrize(
    ("items", "words"), [pytest.param(r, w, id=i) for i, r, w in COMPARISON_CASES]
)
def test_comparison(items: list[dict[str, Any]], words: list[str] | None) -> None:
    assert_single("alert/comparison", "warning", [rules(*items)], words)


RECORD = {"record": "job:up:sum", "expr": "sum by (job) (up)"}
# (case id, documents, severity, key words or None)
DUPLICATE_CASES: list[tuple[str, Callable[[], list[Document]], str, list[str] | None]] = [
    ("unique", lambda: [rules(alert(), RECORD)], "error", None),
    (
        "same-alert-other-severity",
        lambda: [rules(alert(), alert(labels={"severity": "critical"}))],
        "error",
        None,
    ),
    (
        "record-told-apart-by-label",
        lambda: [
            rules(RECORD, {**RECORD, "expr": "sum by (job) (up == 0)", "labels": {"q": "down"}})
        ],
        "error",
        None,
    ),
    (
        "identical-alert-other-file",
        lambda: [
            rules(alert()),
            rules(alert(expr=TEMPERATURE.replace(" ", "  ")), group="gpu2", file="s.yaml"),
        ],
        "warning",
        ["alert 'GpuHot' is an exact copy of the one in group 'gpu' of r.yaml"],
    ),
    (
        "identical-record-same-group",
        lambda: [rules(RECORD, RECORD)],
        "error",
        ["recording rule 'job:up:sum' is an exact copy", "group 'gpu' of this file"],
    ),
    (
        "group-twice-in-a-file",
        lambda: [
            Document(
                "rules",
                "r.yaml",
                {
                    "groups": [
                        {"name": "gpu", "rules": [alert()]},
                        {"name": "gpu", "rules": [RECORD]},
                    ]
                },
            )
        ],
        "error",
        ["rule group 'gpu' is defined twice in this file"],
    ),
    (
        "group-in-two-files",
        lambda: [rules(alert()), rules(RECORD, file="s.yaml")],
        "warning",
        ["rule group 'gpu' is also defined in r.yaml"],
    ),
    (
        "record-name-two-expressions",
        lambda: [rules(RECORD, {**RECORD, "expr": "count by (job) (up)"})],
        "warning",
        ["recording rule 'job:up:sum' is also defined", "different expression"],
    ),
]


@pytest.mark.parametrize(
    ("documents", "severity", "words"),
    [pytest.param(d, s, w, id=i) for i, d, s, w in DUPLICATE_CASES],
)
def test_rules_duplicate(
    documents: Callable[[], list[Document]], severity: str, words: list[str] | None
) -> None:
    assert_single("rules/duplicate", severity, documents(), words)


ODD_RULE_FILES: list[dict[str, Any]] = [
    {"groups": "x"},
    {"groups": [None, 1, {"name": 3, "rules": "x"}, {"rules": [None, "x", 1]}]},
    {
        "groups": [
            {
                "name": ["g"],
                "rules": [
                    {"alert": ["x"], "expr": 5, "for": [], "labels": "x", "annotations": [1]},
                    {"alert": "A", "expr": "up >", "labels": {"severity": None}},
                    {"alert": "B", "annotations": {"summary": 3, "runbook_url": None}},
                    {"record": None, "expr": None, "labels": [1]},
                    {"record": "r", "expr": "r + 1"},  # reads itself
                    {"alert": "C", "expr": "r > 1", "annotations": {"d": "{{ $labels.x }}"}},
                ],
            }
        ]
    },
]


@pytest.mark.parametrize("data", ODD_RULE_FILES)
def test_any_shape_never_breaks_a_check(data: dict[str, Any]) -> None:
    found = validate_documents([Document("rules", "odd.yaml", data)], Settings())
    assert not [p for p in found if p.check == "obsgen/internal"], found


def _variants() -> dict[str, Settings]:
    base = Settings()
    exporters = base.exporters
    return {
        "defaults": base,
        "cluster": dataclasses.replace(base, cluster=ClusterSettings(enabled=True)),
        "vllm-either": dataclasses.replace(
            base, exporters=dataclasses.replace(exporters, vllm=VllmSettings(naming="either"))
        ),
        "dcgm-pod": dataclasses.replace(
            base, exporters=dataclasses.replace(exporters, dcgm=DcgmSettings(pod_label="pod"))
        ),
    }


@pytest.mark.parametrize("settings", list(_variants().values()), ids=list(_variants()))
def test_bundled_content_passes_these_checks(settings: Settings) -> None:
    families = ("dashboard/", "alert/", "rules/", "obsgen/")
    found = [p for p in build(settings).problems if p.check.startswith(families)]
    assert found == [], [p.describe() for p in found]
