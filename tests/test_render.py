"""Rendered dashboards and rule files: the Grafana and Prometheus contracts every build keeps."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import grafanalib.core as G
import promql_parser
import pytest

from generator.build import Artifact, BuildResult, build
from generator.errors import RenderError
from generator.grafana_variables import referenced_names, substitute
from generator.panels import target
from generator.promql_ast import children, vector_selectors
from generator.render.dashboards import render_dashboard
from generator.render.rules import render_rule_groups, runbook_url
from generator.rules import SEVERITIES, AlertingRule, RecordingRule, RuleGroup
from generator.settings import (
    AlertSettings,
    ClusterSettings,
    DcgmSettings,
    ExporterSettings,
    Settings,
    VllmSettings,
)

DATASOURCE_REF = {"type": "prometheus", "uid": "${datasource}"}
GRAFANA_BUILTIN_REF = {"type": "grafana", "uid": "-- Grafana --"}
TRAINING_UID = "ee6mbjghme96oc"
INFERENCE_UID = "bec31e71-3ac5-4133-b2e3-b9f75c8ab56c"
TRAINING_LINK = (
    "/d/ee6mbjghme96oc/gpu-training?var-namespace=default&var-job=ray-train&var-instance=All"
)
COMPARISONS = {"==", "!=", ">", "<", ">=", "<="}


def _variants() -> dict[str, Settings]:
    base = Settings()
    return {
        "defaults": base,
        "cluster": dataclasses.replace(base, cluster=ClusterSettings(enabled=True)),
        "cluster-region": dataclasses.replace(
            base, cluster=ClusterSettings(enabled=True, label="region")
        ),
        "ray_vllm_-either": dataclasses.replace(
            base,
            exporters=dataclasses.replace(
                base.exporters, vllm=VllmSettings(prefix="ray_vllm_", naming="either")
            ),
        ),
        "dcgm-pod": dataclasses.replace(
            base,
            exporters=dataclasses.replace(base.exporters, dcgm=DcgmSettings(pod_label="pod")),
        ),
        "everything": Settings(
            cluster=ClusterSettings(enabled=True),
            exporters=ExporterSettings(
                vllm=VllmSettings(prefix="ray_vllm:", naming="either"),
                dcgm=DcgmSettings(pod_label="pod_name"),
            ),
            alerts=AlertSettings(labels={"team": "ml"}),
        ),
    }


VARIANTS = _variants()
_BUILDS: dict[str, BuildResult] = {}


def built(variant: str) -> BuildResult:
    """One build per settings variant per test session (builds are pure and deterministic)."""
    if variant not in _BUILDS:
        _BUILDS[variant] = build(VARIANTS[variant])
    return _BUILDS[variant]


def artifacts_of(kind: str) -> list[Any]:
    return [
        pytest.param(variant, artifact, id=f"{variant}-{artifact.path.rsplit('/', 1)[-1]}")
        for variant in VARIANTS
        for artifact in built(variant).artifacts
        if artifact.kind == kind
    ]


DASHBOARDS = artifacts_of("dashboard")
RULE_FILES = artifacts_of("rules")
ALL_ARTIFACTS = DASHBOARDS + RULE_FILES


def all_panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every panel, panels nested in rows included."""
    for panel in panels:
        yield panel
        yield from all_panels(panel.get("panels", []))


def data_panels(model: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in all_panels(model["panels"]) if p["type"] != "row"]


def variables(model: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {v["name"]: v for v in model["templating"]["list"]}


def unparen(node: Any) -> Any:
    while isinstance(node, promql_parser.ParenExpr):
        node = node.expr
    return node


def ref_ids(count: int) -> list[str]:
    letters = [chr(c) for c in range(ord("A"), ord("Z") + 1)]
    two = [a + b for a in letters for b in letters]
    return (letters + two)[:count]


# ---- the bundled dashboards ----------------------------------------------------------------


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_bundled_build_has_both_dashboards_and_no_problems(variant: str) -> None:
    result = built(variant)
    uids = {a.document["uid"] for a in result.artifacts if a.kind == "dashboard"}
    assert {TRAINING_UID, INFERENCE_UID} <= uids
    assert [p.describe() for p in result.problems] == []


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_training_dashboard_keeps_the_reference_uid_and_variables(variant: str) -> None:
    (model,) = [
        a.document for a in built(variant).artifacts if a.document.get("uid") == TRAINING_UID
    ]
    assert model["title"] == "GPU Training"
    found = variables(model)
    assert {"datasource", "namespace", "job", "instance"} <= set(found)
    assert found["instance"]["multi"] is True
    assert found["instance"]["includeAll"] is True


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_reference_deep_link_still_resolves(variant: str) -> None:
    (model,) = [
        a.document for a in built(variant).artifacts if a.document.get("uid") == TRAINING_UID
    ]
    link = urlsplit(TRAINING_LINK)
    _, d, uid, slug = link.path.split("/")
    assert (d, uid) == ("d", model["uid"])
    assert slug == re.sub(r"[^a-z0-9]+", "-", model["title"].lower()).strip("-")
    found = variables(model)
    for key, (value,) in parse_qs(link.query).items():
        name = key.removeprefix("var-")
        assert name in found, f"the link sets {name}, which the dashboard no longer has"
        if value == "All":
            assert found[name]["includeAll"] is True


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_inference_dashboard_keeps_the_reference_uid_and_variables(variant: str) -> None:
    (model,) = [
        a.document for a in built(variant).artifacts if a.document.get("uid") == INFERENCE_UID
    ]
    assert {"datasource", "namespace", "model_name"} <= set(variables(model))


# ---- every rendered dashboard --------------------------------------------------------------


@pytest.mark.parametrize(("variant", "artifact"), DASHBOARDS)
def test_panels_and_targets_use_the_datasource_variable(variant: str, artifact: Artifact) -> None:
    for panel in all_panels(artifact.document["panels"]):
        if panel["type"] == "row":
            assert "datasource" not in panel
            assert "targets" not in panel
            continue
        assert panel["datasource"] == DATASOURCE_REF, panel["title"]
        assert panel["targets"], f"panel {panel['title']!r} has no query"
        for query in panel["targets"]:
            assert query["datasource"] == DATASOURCE_REF, panel["title"]


@pytest.mark.parametrize(("variant", "artifact"), DASHBOARDS)
def test_datasource_variable_exists(variant: str, artifact: Artifact) -> None:
    model = artifact.document
    found = variables(model)
    assert found["datasource"]["type"] == "datasource"
    assert found["datasource"]["query"] == "prometheus"
    assert model["templating"]["list"][0]["name"] == "datasource"


def datasource_values(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "datasource":
                yield f"{path}/{key}", item
            yield from datasource_values(item, f"{path}/{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from datasource_values(item, f"{path}/{index}")


@pytest.mark.parametrize(("variant", "artifact"), DASHBOARDS)
def test_no_hard_coded_datasource_anywhere(variant: str, artifact: Artifact) -> None:
    model = json.loads(artifact.text)
    found = list(datasource_values(model))
    assert found
    for path, value in found:
        if re.fullmatch(r"/annotations/list/\d+/datasource", path):
            annotation = model["annotations"]["list"][int(path.split("/")[3])]
            if annotation.get("builtIn") == 1:
                assert value == GRAFANA_BUILTIN_REF
                continue
        assert value == DATASOURCE_REF, f"{path} = {value!r}"


@pytest.mark.parametrize(("variant", "artifact"), DASHBOARDS)
def test_query_variables_use_the_datasource_variable(variant: str, artifact: Artifact) -> None:
    for variable in artifact.document["templating"]["list"]:
        if variable["type"] == "query":
            assert variable["datasource"] == DATASOURCE_REF, variable["name"]


@pytest.mark.parametrize(("variant", "artifact"), DASHBOARDS)
def test_ref_ids_are_a_b_c_within_each_panel(variant: str, artifact: Artifact) -> None:
    for panel in data_panels(artifact.document):
        ids = [t["refId"] for t in panel["targets"]]
        assert ids == ref_ids(len(ids)), panel["title"]
        assert len(set(ids)) == len(ids)


@pytest.mark.parametrize(("variant", "artifact"), DASHBOARDS)
def test_panel_ids_are_unique(variant: str, artifact: Artifact) -> None:
    ids = [p["id"] for p in all_panels(artifact.document["panels"])]
    assert all(isinstance(i, int) and i > 0 for i in ids)
    assert len(ids) == len(set(ids))


def rectangle(panel: dict[str, Any]) -> tuple[int, int, int, int]:
    grid = panel["gridPos"]
    if panel["type"] == "row":
        assert (grid["x"], grid["w"], grid["h"]) == (0, 24, 1), panel["title"]
    return grid["x"], grid["y"], grid["x"] + grid["w"], grid["y"] + grid["h"]


def overlaps(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@pytest.mark.parametrize(("variant", "artifact"), DASHBOARDS)
def test_panels_fit_the_grid_and_never_overlap(variant: str, artifact: Artifact) -> None:
    panels = artifact.document["panels"]
    # Visible panels share one grid; panels inside a collapsed row share that row's grid.
    grids = [panels] + [p["panels"] for p in panels if p["type"] == "row" and p["collapsed"]]
    for grid in grids:
        placed: list[tuple[str, tuple[int, int, int, int]]] = []
        for panel in grid:
            box = rectangle(panel)
            x, y, right, bottom = box
            assert x >= 0 and y >= 0, panel["title"]
            assert right - x >= 1 and bottom - y >= 1, panel["title"]
            assert right - x <= 24 and right <= 24, panel["title"]
            for title, other in placed:
                assert not overlaps(box, other), f"{panel['title']!r} overlaps {title!r}"
            placed.append((panel["title"], box))


@pytest.mark.parametrize(("variant", "artifact"), DASHBOARDS)
def test_rows_are_followed_by_their_panels(variant: str, artifact: Artifact) -> None:
    """Grafana assigns a panel to the row above it: each expanded row sits above its panels."""
    panels = artifact.document["panels"]
    current_row_y = -1
    for panel in panels:
        if panel["type"] == "row":
            assert panel["gridPos"]["y"] > current_row_y
            current_row_y = panel["gridPos"]["y"]
            if not panel["collapsed"]:
                assert panel["panels"] == []
        else:
            assert panel["gridPos"]["y"] > current_row_y, panel["title"]


@pytest.mark.parametrize(("variant", "artifact"), DASHBOARDS)
def test_schema_version(variant: str, artifact: Artifact) -> None:
    assert artifact.document["schemaVersion"] >= 39


@pytest.mark.parametrize(("variant", "artifact"), DASHBOARDS)
def test_every_panel_has_a_unit_and_a_description(variant: str, artifact: Artifact) -> None:
    for panel in data_panels(artifact.document):
        assert panel["fieldConfig"]["defaults"].get("unit", "").strip(), panel["title"]
        assert panel.get("description", "").strip(), panel["title"]
        assert panel.get("title", "").strip()


@pytest.mark.parametrize(("variant", "artifact"), DASHBOARDS)
def test_no_legacy_keys_remain(variant: str, artifact: Artifact) -> None:
    model = artifact.document
    for key in ("rows", "style", "hideControls", "sharedCrosshair"):
        assert key not in model
    for panel in all_panels(model["panels"]):
        for key in ("span", "height", "error", "minSpan"):
            assert key not in panel, (panel["title"], key)
        for query in panel.get("targets", []):
            for key in ("intervalFactor", "step", "query"):
                assert key not in query, (panel["title"], key)


@pytest.mark.parametrize(("variant", "artifact"), DASHBOARDS)
def test_every_target_expression_parses(variant: str, artifact: Artifact) -> None:
    for panel in data_panels(artifact.document):
        for query in panel["targets"]:
            expr = query["expr"]
            assert expr.strip(), panel["title"]
            substituted = substitute(expr)
            assert len(substituted) == len(expr)
            try:
                promql_parser.parse(substituted)
            except ValueError as exc:
                pytest.fail(f"{panel['title']} {query['refId']}: {expr!r}: {exc}")


@pytest.mark.parametrize(("variant", "artifact"), DASHBOARDS)
def test_targets_only_reference_defined_variables(variant: str, artifact: Artifact) -> None:
    defined = set(variables(artifact.document))
    for panel in data_panels(artifact.document):
        for query in panel["targets"]:
            # $__rate_interval is built in; $1 is a label_replace group, not a variable.
            used = {
                n
                for n in referenced_names(query["expr"])
                if not n.startswith("__") and not n.isdigit()
            }
            assert used <= defined, (panel["title"], used - defined)


@pytest.mark.parametrize(("variant", "artifact"), DASHBOARDS)
def test_cluster_variable_and_filter_follow_the_settings(variant: str, artifact: Artifact) -> None:
    cluster = VARIANTS[variant].cluster
    found = variables(artifact.document)
    assert "cluster" in found
    assert found["cluster"]["hide"] == (0 if cluster.enabled else 2)
    filter_text = f'{cluster.label}=~"$cluster"'
    for panel in data_panels(artifact.document):
        for query in panel["targets"]:
            expr = query["expr"]
            if not cluster.enabled:
                assert "$cluster" not in expr, panel["title"]
                continue
            assert filter_text in expr, panel["title"]
            # Every selector, not just one, must be filtered or clusters mix.
            for selector in vector_selectors(promql_parser.parse(substitute(expr))):
                matchers = {(m.name, str(m.op), m.value) for m in selector.matchers.matchers}
                assert (cluster.label, "MatchOp.Re", "$cluster") in matchers, (
                    panel["title"],
                    selector.name,
                )


@pytest.mark.parametrize(("variant", "artifact"), DASHBOARDS)
def test_heatmaps_show_prometheus_buckets(variant: str, artifact: Artifact) -> None:
    heatmaps = [p for p in data_panels(artifact.document) if p["type"] == "heatmap"]
    for panel in heatmaps:
        assert panel["options"]["calculate"] is False
        assert panel["targets"]
        for query in panel["targets"]:
            assert query["format"] == "heatmap"
            # A histogram's buckets, or cumulative counts the query labels with `le` itself.
            assert "_bucket" in query["expr"] or '"le"' in query["expr"]
        for legacy in ("dataFormat", "cards", "xAxis", "yAxis", "heatmap"):
            assert legacy not in panel


def test_bundled_inference_dashboard_has_heatmaps() -> None:
    """Guards the heatmap test above against passing vacuously."""
    (model,) = [
        a.document for a in built("defaults").artifacts if a.path.endswith(INFERENCE_UID + ".json")
    ]
    assert any(p["type"] == "heatmap" for p in data_panels(model))


# ---- determinism and byte-stable text ------------------------------------------------------


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_two_builds_give_identical_text(variant: str) -> None:
    first = build(VARIANTS[variant])
    second = build(VARIANTS[variant])
    assert [a.path for a in first.artifacts] == [a.path for a in second.artifacts]
    for one, two in zip(first.artifacts, second.artifacts, strict=True):
        assert one.text == two.text, one.path
    assert first.manifest_text == second.manifest_text


@pytest.mark.parametrize(("variant", "artifact"), DASHBOARDS)
def test_dashboard_text_is_sorted_pretty_json(variant: str, artifact: Artifact) -> None:
    text = artifact.text
    canonical = json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert text == canonical
    assert json.loads(text) == artifact.document


def test_settings_change_the_output() -> None:
    """Determinism must not come from ignoring the settings."""
    texts = {
        name: {a.path: a.text for a in built(name).artifacts} for name in ("defaults", "cluster")
    }
    assert texts["defaults"].keys() == texts["cluster"].keys()
    assert texts["defaults"] != texts["cluster"]


# ---- render_dashboard on small dashboards --------------------------------------------------


def panel(title: str, *, x: int = 0, y: int = 0, w: int = 12, h: int = 8, n: int = 1) -> G.Panel:
    return G.TimeSeries(
        title=title,
        description=f"{title} description",
        unit="short",
        targets=[target(f'up{{job="{i}"}}') for i in range(n)],
        gridPos=G.GridPos(h=h, w=w, x=x, y=y),
    )


def test_panel_without_grid_position_is_an_error() -> None:
    dashboard = G.Dashboard(
        title="Small",
        uid="small",
        panels=[panel("fine"), G.TimeSeries(title="Lost panel", targets=[target("up")])],
    )
    with pytest.raises(RenderError, match="Lost panel") as raised:
        render_dashboard(dashboard, "dashboards/small.py")
    assert "dashboards/small.py" in str(raised.value)


def test_panel_without_grid_position_inside_a_collapsed_row_is_an_error() -> None:
    row = G.RowPanel(
        title="Row",
        collapsed=True,
        gridPos=G.GridPos(h=1, w=24, x=0, y=0),
        panels=[G.TimeSeries(title="Hidden lost panel", targets=[target("up")])],
    )
    with pytest.raises(RenderError, match="Hidden lost panel"):
        render_dashboard(G.Dashboard(title="Small", uid="small", panels=[row]), "small")


@pytest.mark.parametrize(("x", "w"), [(0, 25), (13, 12), (24, 1), (-1, 6)])
def test_panel_outside_the_grid_is_an_error(x: int, w: int) -> None:
    dashboard = G.Dashboard(title="Small", uid="small", panels=[panel("Too wide", x=x, w=w)])
    with pytest.raises(RenderError, match="Too wide"):
        render_dashboard(dashboard, "small")


@pytest.mark.parametrize("uid", [None, ""])
def test_dashboard_without_uid_is_an_error(uid: str | None) -> None:
    dashboard = G.Dashboard(title="No uid", uid=uid, panels=[panel("p")])
    with pytest.raises(RenderError, match="uid") as raised:
        render_dashboard(dashboard, "dashboards/nouid.py")
    assert "No uid" in str(raised.value)
    assert "dashboards/nouid.py" in str(raised.value)


def test_many_targets_get_two_letter_ref_ids() -> None:
    model = render_dashboard(
        G.Dashboard(title="Many", uid="many", panels=[panel("p", n=28)]), "many"
    )
    ids = [t["refId"] for t in model["panels"][0]["targets"]]
    assert ids[:3] == ["A", "B", "C"]
    assert ids[25:] == ["Z", "AA", "AB"]
    assert ids == ref_ids(28)


def test_collapsed_row_children_get_ids_and_datasources() -> None:
    row = G.RowPanel(
        title="Collapsed",
        collapsed=True,
        gridPos=G.GridPos(h=1, w=24, x=0, y=1),
        panels=[panel("child 1", y=2, n=2), panel("child 2", x=12, y=2)],
    )
    model = render_dashboard(
        G.Dashboard(title="Rows", uid="rows", panels=[panel("top", w=24, h=1), row]), "rows"
    )
    top, rendered_row = model["panels"]
    assert rendered_row["type"] == "row"
    assert rendered_row["collapsed"] is True
    assert "datasource" not in rendered_row
    nested = rendered_row["panels"]
    assert [p["title"] for p in nested] == ["child 1", "child 2"]
    ids = [top["id"], rendered_row["id"], *(p["id"] for p in nested)]
    assert len(set(ids)) == 4
    for child in nested:
        assert child["datasource"] == DATASOURCE_REF
        for query in child["targets"]:
            assert query["datasource"] == DATASOURCE_REF
    assert [t["refId"] for t in nested[0]["targets"]] == ["A", "B"]


def test_rendering_does_not_depend_on_earlier_renders() -> None:
    def dashboard() -> G.Dashboard:
        return G.Dashboard(title="Same", uid="same", panels=[panel("a"), panel("b", x=12)])

    first = render_dashboard(dashboard(), "same")
    render_dashboard(G.Dashboard(title="Other", uid="other", panels=[panel("c", n=5)]), "x")
    assert render_dashboard(dashboard(), "same") == first


def test_render_drops_nulls_and_sets_the_schema() -> None:
    model = render_dashboard(G.Dashboard(title="T", uid="t", panels=[panel("a")]), "t")
    assert model["schemaVersion"] >= 39

    def has_null(value: Any) -> bool:
        if isinstance(value, dict):
            return any((v is None and k != "value") or has_null(v) for k, v in value.items())
        if isinstance(value, list):
            return any(has_null(v) for v in value)
        return False

    # Only threshold steps may carry `value: null` (Grafana's base step).
    assert not has_null(model)


# ---- rule files ----------------------------------------------------------------------------


def alerting_rules(artifact: Artifact) -> Iterator[dict[str, Any]]:
    for group in artifact.document["groups"]:
        for rule in group["rules"]:
            if "alert" in rule:
                yield rule


@pytest.mark.parametrize(("variant", "artifact"), RULE_FILES)
def test_alerting_rules_carry_severity_summary_description_and_runbook(
    variant: str, artifact: Artifact
) -> None:
    settings = VARIANTS[variant]
    rules = list(alerting_rules(artifact))
    assert rules
    for rule in rules:
        name = rule["alert"]
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}, name
        annotations = rule["annotations"]
        assert annotations["summary"].strip(), name
        assert annotations["description"].strip(), name
        assert annotations["runbook_url"] == runbook_url(settings.alerts.runbook_url, name)
        assert name.lower() in annotations["runbook_url"].lower()
        assert re.fullmatch(r"[0-9]+(ms|s|m|h|d|w|y)", rule["for"]), name
        for key, value in settings.alerts.labels.items():
            assert rule["labels"][key] == value, name


@pytest.mark.parametrize(("variant", "artifact"), RULE_FILES)
def test_rule_expressions_parse(variant: str, artifact: Artifact) -> None:
    for group in artifact.document["groups"]:
        assert group["rules"], group["name"]
        for rule in group["rules"]:
            promql_parser.parse(rule["expr"])


@pytest.mark.parametrize(("variant", "artifact"), RULE_FILES)
def test_rule_expressions_use_no_grafana_variables(variant: str, artifact: Artifact) -> None:
    """Prometheus evaluates rules itself: `$cluster` there is a literal regex matching nothing,
    so the rule would silently never fire."""
    for group in artifact.document["groups"]:
        for rule in group["rules"]:
            name = rule.get("alert") or rule.get("record")
            # "$1" is label_replace's capture group, not a variable.
            variables = [n for n in referenced_names(rule["expr"]) if not n.isdigit()]
            assert variables == [], (name, rule["expr"])


@pytest.mark.parametrize(("variant", "artifact"), RULE_FILES)
def test_multi_cluster_rules_keep_clusters_apart(variant: str, artifact: Artifact) -> None:
    """One Prometheus (Thanos, Mimir) holds every cluster: an aggregation without the cluster
    label adds up different clusters' GPUs and models and hides where an alert fires."""
    cluster = VARIANTS[variant].cluster
    if not cluster.enabled:
        return
    for group in artifact.document["groups"]:
        for rule in group["rules"]:
            name = rule.get("alert") or rule.get("record")
            stack = [promql_parser.parse(rule["expr"])]
            while stack:
                node = stack.pop()
                stack.extend(children(node))
                if not isinstance(node, promql_parser.AggregateExpr):
                    continue
                modifier = node.modifier
                kept = modifier is not None and (
                    (modifier.type == promql_parser.AggModifierType.By)
                    == (cluster.label in modifier.labels)
                )
                assert kept, (name, node.prettify())


def filters_every_series(node: Any) -> bool:
    """True when every series the expression can return passed a comparison."""
    node = unparen(node)
    if not isinstance(node, promql_parser.BinaryExpr):
        return False
    op = str(node.op)
    if op in COMPARISONS:
        return True
    if op == "or":
        return filters_every_series(node.lhs) and filters_every_series(node.rhs)
    if op == "unless":  # keeps only the series the right side lacks: a filter of its own
        return True
    if op == "and":
        return filters_every_series(node.lhs)
    return False


@pytest.mark.parametrize(("variant", "artifact"), RULE_FILES)
def test_alert_conditions_compare_every_alternative(variant: str, artifact: Artifact) -> None:
    """`a or b > 0.9` means `a or (b > 0.9)`: it would fire for every series of `a`."""
    for rule in alerting_rules(artifact):
        assert filters_every_series(promql_parser.parse(rule["expr"])), (
            rule["alert"],
            rule["expr"],
        )


def test_settings_labels_are_added_to_every_alert() -> None:
    settings = dataclasses.replace(
        Settings(), alerts=AlertSettings(labels={"team": "ml", "env": "prod"})
    )
    result = build(settings)
    rule_files = [a for a in result.artifacts if a.kind == "rules"]
    assert rule_files
    for artifact in rule_files:
        for rule in alerting_rules(artifact):
            assert rule["labels"]["team"] == "ml"
            assert rule["labels"]["env"] == "prod"
            assert rule["labels"]["severity"] in SEVERITIES
    # And no alert carries them without the setting.
    for artifact in built("defaults").artifacts:
        if artifact.kind == "rules":
            for rule in alerting_rules(artifact):
                assert "team" not in rule["labels"]


def rule_settings(**alerts: Any) -> Settings:
    return dataclasses.replace(Settings(), alerts=dataclasses.replace(AlertSettings(), **alerts))


def render_one(rule: AlertingRule | RecordingRule, settings: Settings) -> dict[str, Any]:
    document = render_rule_groups([RuleGroup(name="g", rules=(rule,))], settings)
    (group,) = document["groups"]
    assert group["name"] == "g"
    (rendered,) = group["rules"]
    return rendered


def alert(**overrides: Any) -> AlertingRule:
    values: dict[str, Any] = {
        "alert": "SomethingBroke",
        "expr": "up == 0",
        "severity": "critical",
        "summary": "s",
        "description": "d",
    }
    return AlertingRule(**{**values, **overrides})


@pytest.mark.parametrize(
    ("settings_labels", "rule_labels", "severity", "expected"),
    [
        ({"team": "ml"}, {}, "critical", {"team": "ml", "severity": "critical"}),
        ({"team": "ml"}, {"team": "infra"}, "warning", {"team": "infra", "severity": "warning"}),
        (
            {"team": "ml", "severity": "info"},
            {"severity": "info"},
            "critical",
            {"team": "ml", "severity": "critical"},
        ),
        (
            {"team": "ml", "env": "prod"},
            {"component": "gpu"},
            "info",
            {"team": "ml", "env": "prod", "component": "gpu", "severity": "info"},
        ),
    ],
)
def test_label_precedence(
    settings_labels: dict[str, str],
    rule_labels: dict[str, str],
    severity: str,
    expected: dict[str, str],
) -> None:
    rendered = render_one(
        alert(labels=rule_labels, severity=severity), rule_settings(labels=settings_labels)
    )
    assert rendered["labels"] == expected
    assert list(rendered["labels"]) == sorted(expected)


@pytest.mark.parametrize(
    ("rule_for", "settings_for", "expected"),
    [("", "5m", "5m"), ("", "7m", "7m"), ("0m", "7m", "0m"), ("15m", "7m", "15m")],
)
def test_for_falls_back_to_the_settings(rule_for: str, settings_for: str, expected: str) -> None:
    rendered = render_one(alert(for_duration=rule_for), rule_settings(for_duration=settings_for))
    assert rendered["for"] == expected


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("https://runbooks.example.com/obsgen/{alert}", "https://runbooks.example.com/obsgen/Hot"),
        ("https://wiki.internal/gpu#{alert}", "https://wiki.internal/gpu#Hot"),
        ("https://r.example/{alert}/{alert}.md", "https://r.example/Hot/Hot.md"),
        (
            "https://git.example/docs/runbooks.md#{alert_lower}",
            "https://git.example/docs/runbooks.md#hot",
        ),
        ("https://r.example/{alert}#{alert_lower}", "https://r.example/Hot#hot"),
    ],
)
def test_runbook_url_uses_the_alert_name(pattern: str, expected: str) -> None:
    rendered = render_one(alert(alert="Hot"), rule_settings(runbook_url=pattern))
    assert rendered["annotations"]["runbook_url"] == expected
    assert rendered["annotations"]["summary"] == "s"
    assert rendered["annotations"]["description"] == "d"


def test_rendered_alert_shape() -> None:
    rendered = render_one(alert(), Settings())
    assert list(rendered) == ["alert", "expr", "for", "labels", "annotations"]
    assert rendered["alert"] == "SomethingBroke"
    assert rendered["expr"] == "up == 0"


def test_recording_rule_shape() -> None:
    rendered = render_one(RecordingRule(record="job:up:sum", expr="sum by (job) (up)"), Settings())
    assert rendered == {"record": "job:up:sum", "expr": "sum by (job) (up)"}
    labelled = render_one(
        RecordingRule(record="job:up:sum", expr="sum(up)", labels={"b": "2", "a": "1"}),
        rule_settings(labels={"team": "ml"}),
    )
    assert labelled["labels"] == {"a": "1", "b": "2"}  # settings labels are for alerts only


def test_group_interval_is_rendered_only_when_set() -> None:
    groups = [
        RuleGroup(name="fast", rules=(alert(),), interval="15s"),
        RuleGroup(name="default", rules=(alert(),)),
    ]
    rendered = render_rule_groups(groups, Settings())["groups"]
    assert rendered[0]["interval"] == "15s"
    assert "interval" not in rendered[1]


def all_rules(result: BuildResult) -> list[dict[str, Any]]:
    return [
        rule
        for artifact in result.artifacts
        if artifact.kind == "rules"
        for group in artifact.document["groups"]
        for rule in group["rules"]
    ]


def metrics_behind(expr: str, records: dict[str, str]) -> set[str]:
    """Metric names an expression reads, looking through recording rules."""
    names: set[str] = set()
    pending = [expr]
    while pending:
        for selector in vector_selectors(promql_parser.parse(pending.pop())):
            if selector.name in records:
                pending.append(records[selector.name])
            else:
                names.add(selector.name)
    return names


REQUIRED_ALERTS = [
    ("xid", r"xid", "DCGM_FI_DEV_XID_ERRORS"),
    ("gpu-temperature", r"temp", "DCGM_FI_DEV_GPU_TEMP"),
    ("framebuffer", r"framebuffer|memory", "DCGM_FI_DEV_FB_USED"),
    ("kv-cache", r"kv.?cache", "kv_cache_usage_perc"),
    ("ttft-slo", r"ttft|firsttoken", "time_to_first_token_seconds_bucket"),
    ("e2e-slo", r"e2e|endtoend", "e2e_request_latency_seconds_bucket"),
]


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize(
    ("what", "name_pattern", "metric"), REQUIRED_ALERTS, ids=[r[0] for r in REQUIRED_ALERTS]
)
def test_required_alerts_exist(variant: str, what: str, name_pattern: str, metric: str) -> None:
    rules = all_rules(built(variant))
    records = {r["record"]: r["expr"] for r in rules if "record" in r}
    matching = [
        r
        for r in rules
        if "alert" in r
        and re.search(name_pattern, r["alert"], re.IGNORECASE)
        and any(name.endswith(metric) for name in metrics_behind(r["expr"], records))
    ]
    assert matching, f"no {what} alert"
    if what.endswith("-slo"):  # burn-rate alerts: a page and a ticket
        assert {r["labels"]["severity"] for r in matching} == {"critical", "warning"}


def test_alert_names_are_unique() -> None:
    names = [r["alert"] for r in all_rules(built("defaults")) if "alert" in r]
    assert len(names) == len(set(names))
