"""The dashboard/* checks, table-driven through validate_documents on small dashboards."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from generator.checks.documents import Document, read_paths
from generator.checks.problem import Problem
from generator.checks.runner import validate_documents
from generator.settings import Settings

FIXTURES = Path(__file__).parent / "fixtures" / "reference-faults"
ANCHORS = Path("/work/shared/reference/anchors")
DS = {"type": "prometheus", "uid": "${datasource}"}
DATASOURCE_VARIABLE = {"name": "datasource", "type": "datasource", "query": "prometheus"}
NAMESPACE_VARIABLE = {
    "name": "namespace",
    "type": "query",
    "datasource": DS,
    "query": "label_values(kube_pod_info, namespace)",
}


REMOVE: Any = object()  # panel(field=REMOVE) and target(field=REMOVE) drop the field


def target(expr: str = 'sum by (pod) (up{namespace="$namespace"})', **extra: Any) -> dict[str, Any]:
    fields = {"refId": "A", "datasource": DS, "expr": expr, "legendFormat": "{{pod}}", **extra}
    return {k: v for k, v in fields.items() if v is not REMOVE}


def panel(**extra: Any) -> dict[str, Any]:
    """A panel every dashboard check accepts; keyword arguments replace its fields."""
    base: dict[str, Any] = {
        "id": 1,
        "type": "timeseries",
        "title": "Pods up",
        "description": "Scrape targets that answer.",
        "gridPos": {"x": 0, "y": 0, "w": 12, "h": 8},
        "datasource": DS,
        "fieldConfig": {"defaults": {"unit": "short"}, "overrides": []},
        "targets": [target()],
    }
    base.update(extra)
    return {k: v for k, v in base.items() if v is not REMOVE}


def dashboard(
    *panels: dict[str, Any],
    variables: list[Any] | None = None,
    uid: str = "d1",
    file: str = "d.json",
    **extra: Any,
) -> Document:
    model: dict[str, Any] = {
        "title": "Test",
        "uid": uid,
        "templating": {
            "list": [DATASOURCE_VARIABLE, NAMESPACE_VARIABLE] if variables is None else variables
        },
        "panels": list(panels) if panels else [panel()],
        **extra,
    }
    return Document("dashboard", file, copy.deepcopy(model))


def problems(check: str, *documents: Document) -> list[Problem]:
    found = validate_documents(list(documents), Settings())
    assert not [p for p in found if p.check == "obsgen/internal"], found
    return [p for p in found if p.check == check]


def assert_single(
    check: str, severity: str, documents: list[Document], words: list[str] | None
) -> None:
    """No problem of `check` when `words` is None, else one whose message has every word."""
    found = problems(check, *documents)
    if words is None:
        assert found == [], found
        return
    assert len(found) == 1, found
    (problem,) = found
    assert (problem.check, problem.severity) == (check, severity)
    for word in words:
        assert word in problem.message, problem.message
    assert problem.hint


def second(**extra: Any) -> dict[str, Any]:
    """Another valid panel, to the right of panel()."""
    values: dict[str, Any] = {
        "id": 2,
        "title": "Other",
        "gridPos": {"x": 12, "y": 0, "w": 12, "h": 8},
    }
    values.update(extra)
    return panel(**values)


Case = tuple[str, Callable[[], list[Document]], list[str] | None]
ROW = {"id": 9, "type": "row", "title": "Row", "gridPos": {"x": 0, "y": 8, "w": 24, "h": 1}}


def one(*panels: dict[str, Any], **kwargs: Any) -> Callable[[], list[Document]]:
    return lambda: [dashboard(*panels, **kwargs)]


# (case id, documents, key words of the single expected problem, or None for no problem)
DATASOURCE_CASES: list[Case] = [
    ("variable", one(panel()), None),
    (
        "legacy-string-variable",
        one(panel(datasource="$datasource", targets=[target(datasource=None)])),
        None,
    ),
    (
        "ds-prefixed-variable",
        one(
            panel(datasource={"uid": "${DS_PROMETHEUS}"}, targets=[target(datasource=None)]),
            variables=[{"name": "DS_PROMETHEUS", "type": "datasource", "query": "prometheus"}],
        ),
        None,
    ),
    (
        "mixed-panel-with-variable-targets",
        one(panel(datasource={"type": "datasource", "uid": "-- Mixed --"})),
        None,
    ),
    (
        "builtin-annotation",
        one(
            panel(),
            annotations={
                "list": [{"builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"}}]
            },
        ),
        None,
    ),
    ("text-panel-needs-none", one(panel(type="text", datasource=REMOVE, targets=REMOVE)), None),
    (
        "hard-coded-panel-uid",
        one(panel(datasource={"type": "prometheus", "uid": "P8ED27CEB897F165F"})),
        ["panel 'Pods up'", "hard-coded datasource 'P8ED27CEB897F165F'", "panel datasource"],
    ),
    (
        "hard-coded-target-uid",
        one(panel(targets=[target(datasource={"type": "prometheus", "uid": "prometheus"})])),
        ["hard-coded datasource 'prometheus'", "target A"],
    ),
    (
        "legacy-string-name",
        one(panel(datasource="Prometheus", targets=[target(datasource=None)])),
        ["hard-coded datasource 'Prometheus'"],
    ),
    (
        "undefined-variable",
        one(panel(targets=[target(datasource={"uid": "$ds"})])),
        ["$ds", "defines no variable named 'ds'", "target A"],
    ),
    (
        "no-datasource-anywhere",
        one(panel(datasource=REMOVE, targets=[target(datasource=None)])),
        ["panel 'Pods up' has no datasource", "default datasource"],
    ),
    (
        "type-without-uid",
        one(panel(datasource={"type": "prometheus"}, targets=[target(datasource=None)])),
        ["no uid"],
    ),
    (
        "query-variable-hard-coded",
        one(
            panel(),
            variables=[
                DATASOURCE_VARIABLE,
                {**NAMESPACE_VARIABLE, "datasource": {"type": "prometheus", "uid": "prom1"}},
            ],
        ),
        ["variable 'namespace'", "hard-coded datasource 'prom1'"],
    ),
    (
        "annotation-hard-coded",
        one(
            panel(),
            annotations={
                "list": [{"name": "deploys", "datasource": {"type": "prometheus", "uid": "p1"}}]
            },
        ),
        ["annotation 'deploys'", "hard-coded datasource 'p1'"],
    ),
]


@pytest.mark.parametrize(
    ("documents", "words"), [pytest.param(d, w, id=i) for i, d, w in DATASOURCE_CASES]
)
def test_datasource(documents: Callable[[], list[Document]], words: list[str] | None) -> None:
    assert_single("dashboard/datasource", "error", documents(), words)


def test_datasource_variable_of_the_wrong_type() -> None:
    variables = [{"name": "datasource", "type": "custom", "query": "a,b"}, NAMESPACE_VARIABLE]
    messages = [p.message for p in problems("dashboard/datasource", dashboard(variables=variables))]
    assert any(
        "'datasource' is a custom variable, not a datasource variable" in m for m in messages
    )
    assert any("defines no datasource variable" in m for m in messages)


def test_datasource_dashboard_without_variable() -> None:
    document = dashboard(panel(), variables=[])
    messages = [p.message for p in problems("dashboard/datasource", document)]
    assert any("dashboard 'Test' defines no datasource variable" in m for m in messages)
    assert any(
        "$datasource" in m and "defines no variable named 'datasource'" in m for m in messages
    )


def test_datasource_problem_per_panel_names_every_place() -> None:
    hard = {"type": "prometheus", "uid": "prometheus"}
    document = dashboard(
        panel(
            datasource=hard, targets=[target(datasource=hard), target(datasource=hard, refId="B")]
        )
    )
    (problem,) = problems("dashboard/datasource", document)
    assert "(the panel datasource, target A and target B)" in problem.message
    assert problem.location == {"dashboard": "Test", "panel": "Pods up"}


UNDEFINED_CASES: list[Case] = [
    ("defined", one(panel()), None),
    (
        "builtins",
        one(
            panel(
                targets=[
                    target(
                        "sum(rate(x[$__rate_interval])) * $__interval_ms / ${__range_s}"
                        " + $__range_ms"
                    )
                ]
            )
        ),
        None,
    ),
    (
        "regex-capture-and-template-data",
        one(
            panel(targets=[target('label_replace(up, "pod", "$1-${2}", "instance", "(.*):(.*)")')])
        ),
        None,
    ),
    (
        "format-of-defined",
        one(panel(targets=[target('up{namespace=~"${namespace:regex}"}')])),
        None,
    ),
    ("posix-class", one(panel(targets=[target('up{pod=~"[[:alpha:]]+"}')])), None),
    (
        "datasource-refs-belong-to-dashboard-datasource",
        one(panel(datasource={"uid": "$ds"}, targets=[target(datasource={"uid": "$ds"})])),
        None,
    ),
    (
        "expr",
        one(panel(targets=[target('up{cluster="$cluster"}')])),
        ["panel 'Pods up'", "$cluster", "the query of target A", "no variable named 'cluster'"],
    ),
    (
        "legend",
        one(panel(targets=[target(legendFormat="{{pod}} on ${node}")])),
        ["$node", "the legend of target A"],
    ),
    ("title-bracket-form", one(panel(title="[[job]] GPUs")), ["$job", "the title"]),
    ("repeat", one(panel(repeat="gpu")), ["$gpu", "repeat"]),
    (
        "variable-query",
        one(
            panel(),
            variables=[
                DATASOURCE_VARIABLE,
                {
                    **NAMESPACE_VARIABLE,
                    "query": {"query": 'label_values(up{cluster="$cluster"}, ns)'},
                },
            ],
        ),
        ["variable 'namespace'", "$cluster", "its query"],
    ),
]


@pytest.mark.parametrize(
    ("documents", "words"), [pytest.param(d, w, id=i) for i, d, w in UNDEFINED_CASES]
)
def test_undefined_variable(
    documents: Callable[[], list[Document]], words: list[str] | None
) -> None:
    assert_single("dashboard/undefined-variable", "error", documents(), words)


def test_undefined_variable_suggests_a_close_name() -> None:
    (problem,) = problems(
        "dashboard/undefined-variable", dashboard(panel(targets=[target('up{ns="$namespce"}')]))
    )
    assert "did you mean $namespace?" in problem.hint


def test_undefined_variable_one_problem_per_panel_and_name() -> None:
    document = dashboard(
        panel(title="$gpu", targets=[target('up{a="$gpu"}'), target('up{b="$gpu"}', refId="B")])
    )
    (problem,) = problems("dashboard/undefined-variable", document)
    assert "the title, the query of target A and the query of target B" in problem.message


HEATMAP_OPTIONS = {"yAxis": {"unit": "s"}}
UNITS_CASES: list[Case] = [
    ("timeseries-with-unit", one(panel()), None),
    ("short-counts", one(panel(fieldConfig={"defaults": {"unit": "none"}})), None),
    (
        "heatmap-axis-unit",
        one(panel(type="heatmap", fieldConfig={}, options=HEATMAP_OPTIONS)),
        None,
    ),
    ("table-left-out", one(panel(type="table", fieldConfig={})), None),
    ("row-left-out", one(panel(), ROW), None),
    (
        "stat-with-value-mappings",
        one(panel(type="stat", fieldConfig={"defaults": {"mappings": [{"type": "value"}]}})),
        None,
    ),
    (
        "legacy-graph-yaxes",
        one(panel(type="graph", fieldConfig=REMOVE, yaxes=[{"format": "s"}])),
        None,
    ),
    (
        "timeseries-without",
        one(panel(fieldConfig={"defaults": {}})),
        ["timeseries panel 'Pods up'", "no unit"],
    ),
    (
        "stat-empty-unit",
        one(panel(type="stat", fieldConfig={"defaults": {"unit": " "}})),
        ["stat panel"],
    ),
    (
        "heatmap-without",
        one(panel(type="heatmap", fieldConfig=REMOVE)),
        ["heatmap panel", "no unit"],
    ),
    ("gauge-bad-fieldconfig", one(panel(type="gauge", fieldConfig="oops")), ["gauge panel"]),
]


@pytest.mark.parametrize(
    ("documents", "words"), [pytest.param(d, w, id=i) for i, d, w in UNITS_CASES]
)
def test_units(documents: Callable[[], list[Document]], words: list[str] | None) -> None:
    assert_single("dashboard/units", "warning", documents(), words)


DESCRIPTION_CASES: list[Case] = [
    ("described", one(panel()), None),
    ("row-needs-none", one(panel(), ROW), None),
    (
        "library-panel",
        one(panel(description=REMOVE, libraryPanel={"uid": "l1", "name": "L"})),
        None,
    ),
    ("missing", one(panel(description=REMOVE)), ["panel 'Pods up' has no description"]),
    ("blank", one(panel(description="  ")), ["no description"]),
    ("not-text", one(panel(description=["x"])), ["no description"]),
]


@pytest.mark.parametrize(
    ("documents", "words"), [pytest.param(d, w, id=i) for i, d, w in DESCRIPTION_CASES]
)
def test_description(documents: Callable[[], list[Document]], words: list[str] | None) -> None:
    assert_single("dashboard/description", "warning", documents(), words)


NO_TARGETS_CASES: list[Case] = [
    ("one-query", one(panel()), None),
    ("text-panel", one(panel(type="text", targets=REMOVE)), None),
    ("one-empty-one-not", one(panel(targets=[target(""), target(refId="B")])), None),
    (
        "dashboard-datasource-reuse",
        one(
            panel(
                datasource={"type": "datasource", "uid": "-- Dashboard --"},
                targets=[{"refId": "A", "panelId": 2}],
            )
        ),
        None,
    ),
    (
        "other-datasource-type",
        one(
            panel(
                type="logs",
                datasource={"type": "grafana-opensearch-datasource", "uid": "${logs}"},
                targets=[{"refId": "A", "query": "", "metrics": [{"type": "count"}]}],
            )
        ),
        None,
    ),
    ("empty-list", one(panel(targets=[])), ["timeseries panel 'Pods up' has no targets"]),
    ("missing", one(panel(type="stat", targets=REMOVE)), ["stat panel", "no targets"]),
    ("only-empty", one(panel(targets=[target(" ")])), ["its target has an empty query"]),
    (
        "all-empty",
        one(panel(targets=[target(""), {"refId": "B", "datasource": DS}])),
        ["all 2 targets have an empty query"],
    ),
]


@pytest.mark.parametrize(
    ("documents", "words"), [pytest.param(d, w, id=i) for i, d, w in NO_TARGETS_CASES]
)
def test_no_targets(documents: Callable[[], list[Document]], words: list[str] | None) -> None:
    assert_single("dashboard/no-targets", "error", documents(), words)


def grid(x: int, y: int, w: int, h: int) -> dict[str, int]:
    return {"x": x, "y": y, "w": w, "h": h}


GRID_CASES: list[Case] = [
    ("side-by-side", one(panel(), second()), None),
    (
        "row-then-panels",
        one({**ROW, "gridPos": grid(0, 0, 24, 1)}, panel(gridPos=grid(0, 1, 24, 8))),
        None,
    ),
    (
        "collapsed-row-children-apart",
        one(
            panel(),
            second(),
            {
                **ROW,
                "collapsed": True,
                "panels": [panel(id=3, gridPos=grid(0, 9, 24, 8))],
            },
            {**ROW, "id": 10, "gridPos": grid(0, 9, 24, 1)},
        ),
        None,
    ),
    ("missing", one(panel(gridPos=REMOVE)), ["panel 'Pods up' has no gridPos"]),
    (
        "not-whole-numbers",
        one(panel(gridPos={"x": "0", "y": 0, "w": 12.5, "h": 8})),
        ["without whole-number x, w"],
    ),
    ("too-wide", one(panel(gridPos=grid(14, 0, 12, 8))), ["x + w = 26", "24-column"]),
    ("zero-width", one(panel(gridPos=grid(0, 0, 0, 8))), ["w and h must be >= 1"]),
    ("negative-x", one(panel(gridPos=grid(-1, 0, 6, 8))), ["x and y must be >= 0"]),
    (
        "overlap",
        one(panel(), second(gridPos=grid(6, 4, 12, 8))),
        ["panel 'Other' (x=6, y=4, w=12, h=8) overlaps panel 'Pods up' (x=0, y=0, w=12, h=8)"],
    ),
    (
        "row-over-panel",
        one(panel(), {**ROW, "gridPos": grid(0, 4, 24, 1)}),
        ["row 'Row'", "overlaps"],
    ),
    (
        "collapsed-row-children-overlap",
        one(
            panel(),
            {
                **ROW,
                "collapsed": True,
                "panels": [
                    panel(id=3, title="A", gridPos=grid(0, 9, 12, 8)),
                    panel(id=4, title="B", gridPos=grid(11, 9, 12, 8)),
                ],
            },
        ),
        ["panel 'B'", "overlaps panel 'A'", "inside row 'Row'"],
    ),
]


@pytest.mark.parametrize(
    ("documents", "words"), [pytest.param(d, w, id=i) for i, d, w in GRID_CASES]
)
def test_grid(documents: Callable[[], list[Document]], words: list[str] | None) -> None:
    assert_single("dashboard/grid", "error", documents(), words)


DUPLICATE_CASES: list[Case] = [
    ("unique", one(panel(), second()), None),
    ("single-empty-refid", one(panel(targets=[target(refId="")])), None),
    (
        "different-uids",
        lambda: [dashboard(uid="a"), dashboard(uid="b", file="e.json")],
        None,
    ),
    (
        "panel-id-nested",
        one(
            panel(), {**ROW, "collapsed": True, "panels": [second(id=1, gridPos=grid(0, 9, 8, 8))]}
        ),
        ["panel 'Other' has id 1, already used by panel 'Pods up'"],
    ),
    (
        "refid",
        one(panel(targets=[target(), target()])),
        ["panel 'Pods up' has 2 targets with refId 'A'"],
    ),
    (
        "empty-refids",
        one(panel(targets=[target(refId=""), target(refId=REMOVE)])),
        ["2 targets with an empty or missing refId"],
    ),
    (
        "dashboard-uid",
        lambda: [dashboard(uid="same"), dashboard(uid="same", file="e.json")],
        ["dashboard uid 'same' is also the uid of 'Test' in d.json"],
    ),
]


@pytest.mark.parametrize(
    ("documents", "words"), [pytest.param(d, w, id=i) for i, d, w in DUPLICATE_CASES]
)
def test_duplicate_ids(documents: Callable[[], list[Document]], words: list[str] | None) -> None:
    assert_single("dashboard/duplicate-ids", "error", documents(), words)


ODD_SHAPES: list[dict[str, Any]] = [
    {"title": "t", "panels": "not a list", "templating": "x", "annotations": [1]},
    {"title": "t", "panels": [1, None, "x", [], {"targets": "x", "gridPos": []}]},
    {
        "title": 5,
        "uid": ["x"],
        "templating": {"list": [1, {"name": 3, "type": None, "query": 7, "datasource": []}]},
        "annotations": {"list": [None, {"datasource": 7}]},
        "panels": [
            {
                "type": 5,
                "id": [1],
                "title": None,
                "datasource": 7,
                "repeat": 3,
                "description": {},
                "fieldConfig": {"defaults": []},
                "gridPos": {"x": True, "y": None},
                "targets": [None, {"datasource": [], "expr": 3, "refId": 4, "legendFormat": {}}],
            },
            {"type": "row", "gridPos": "x", "panels": [None, {"type": "heatmap", "options": 3}]},
            {"type": "graph", "yaxes": [None], "gridPos": {"x": 0, "y": 0, "w": 10**30, "h": 1}},
        ],
    },
]


@pytest.mark.parametrize("model", ODD_SHAPES)
def test_any_shape_never_breaks_a_check(model: dict[str, Any]) -> None:
    found = validate_documents([Document("dashboard", "odd.json", model)], Settings())
    assert not [p for p in found if p.check == "obsgen/internal"], found


def test_training_fixture_reports_the_undefined_datasource() -> None:
    documents, unreadable = read_paths([FIXTURES / "training-undefined-datasource.json"])
    assert unreadable == []
    found = validate_documents(documents, Settings())
    datasource = [p.message for p in found if p.check == "dashboard/datasource"]
    assert any("dashboard 'GPU Training' defines no datasource variable" in m for m in datasource)
    assert any(
        "panel 'Disk I/O' uses datasource variable $datasource" in m
        and "defines no variable named 'datasource'" in m
        for m in datasource
    )
    assert any(
        "panel 'Memory Usage' uses the hard-coded datasource 'prometheus' (the panel datasource)"
        in m
        for m in datasource
    )
    assert any("variable 'namespace' uses datasource variable $datasource" in m for m in datasource)
    # Datasource references are dashboard/datasource's alone: no second report of the same fault.
    assert [p for p in found if p.check == "dashboard/undefined-variable"] == []
    assert all(p.severity == "error" for p in found if p.check == "dashboard/datasource")


@pytest.mark.skipif(not ANCHORS.is_dir(), reason="the reference anchors are not on this machine")
def test_reference_anchor_dashboards() -> None:
    documents, unreadable = read_paths([ANCHORS])
    assert unreadable == []
    found = validate_documents(documents, Settings())
    assert not [p for p in found if p.check == "obsgen/internal"], found
    training = [
        p.message
        for p in found
        if p.check == "dashboard/datasource" and p.location.get("dashboard") == "GPU Training"
    ]
    assert any("defines no datasource variable" in m for m in training)
    assert any(
        "$datasource" in m and "defines no variable named 'datasource'" in m for m in training
    )
    hard_coded = [p.message for p in found if "hard-coded datasource" in p.message]
    assert any("'P8ED27CEB897F165F'" in m for m in hard_coded)
    assert any("'prometheus'" in m for m in hard_coded)
