"""out/kubernetes/: every object valid for Kubernetes and its operators, shaped by obsgen.yaml.

No cluster is involved. Objects are checked with kubernetes-validate (the API server's own
OpenAPI schemas, for the core kinds), with the project's schemas (through obsgen's validator and
the jsonschema package alike), and with the Prometheus operator's CRDs when
../shared/reference/crds/ is present beside the checkout.
"""

from __future__ import annotations

import base64
import copy
import gzip
import json
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from generator.kubernetes import schemas, sizes
from generator.kubernetes.names import DNS1123_LABEL, DNS1123_SUBDOMAIN

PROJECT_ROOT = Path(__file__).resolve().parents[1]
REFERENCE_CRDS = PROJECT_ROOT.parent / "shared" / "reference" / "crds"
KUBERNETES_VERSIONS = ["1.25", "1.30", "1.37"]
UIDS = ("ee6mbjghme96oc", "bec31e71-3ac5-4133-b2e3-b9f75c8ab56c", "obsgen-gpu-fleet")
# alerts/*.py, one PrometheusRule each
RULE_MODULES = ("fleet", "gpu_health", "inference", "training")
RULE_OBJECTS = [f"rules/{module.replace('_', '-')}.yaml" for module in RULE_MODULES]
# Every optional kind on, every choice away from its default.
EVERYTHING = """\
kubernetes:
  namespace: observability
  name_prefix: team-a-
  part_of: gpu-platform
  dashboard_label: example.com/dashboard
  dashboard_label_value: "yes"
  folder_annotation: example.com/folder
  rule_labels: {release: prom, team: ml}
  monitor_labels: {release: prom}
  monitors:
    ray:
      namespaces: [ray, ray-jobs]
      head_extra_ports: [as-metrics, dash-metrics]
    vllm:
      namespaces: [inference]
      selector: {app: vllm-server}
      port: api
      path: /custom/metrics
    dcgm:
      exporter: helm-chart
      namespaces: []
  grafana_operator:
    enabled: true
    instance_selector: {grafana: main}
    encoding: gzipJson
"""
SETTINGS_VARIANTS = {"defaults": "", "everything": EVERYTHING}

BIG_DASHBOARD = """\
from generator.panels import Section, dashboard, target, timeseries
from generator.queries import Queries

PANELS = {panels}
DESCRIPTION = "Why this panel matters. " * {repeat}


def build(settings):
    util = target(Queries(settings).selector("DCGM_FI_DEV_GPU_UTIL"))
    panels = [
        timeseries(f"GPU {{i}}", DESCRIPTION, "percent", [util]) for i in range(PANELS)
    ]
    return dashboard(
        settings, uid="{uid}", title="{title}", description="", variables=[],
        sections=[Section("GPU", panels)],
    )
"""


def load_objects(root: Path) -> dict[str, dict[str, Any]]:
    """Path under out/kubernetes/ -> the object in it."""
    return {
        p.relative_to(root).as_posix(): yaml.safe_load(p.read_text(encoding="utf-8"))
        for p in sorted(root.rglob("*.yaml"))
    }


@pytest.fixture
def build(run_cli, write_settings, tmp_path: Path):
    """build(settings_text="", *args) -> out/kubernetes/ of a successful build."""
    count = 0

    def run(text: str = "", *args: str | Path) -> Path:
        nonlocal count
        count += 1
        config = write_settings(tmp_path, text, f"settings-{count}.yaml")
        out = tmp_path / f"out-{count}"
        result = run_cli("build", "--config", config, "--out", out, *args)
        assert result.exit_code == 0, result.output
        return out / "kubernetes"

    return run


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, dict[str, Any]]]:
    """The objects of a build with each of SETTINGS_VARIANTS, by variant and path."""
    from click.testing import CliRunner

    from generator.cli import cli

    found = {}
    for variant, text in SETTINGS_VARIANTS.items():
        directory = tmp_path_factory.mktemp(variant)
        (directory / "obsgen.yaml").write_text(text, encoding="utf-8")
        out = directory / "out"
        result = CliRunner().invoke(
            cli, ["build", "--config", str(directory / "obsgen.yaml"), "--out", str(out)]
        )
        assert result.exit_code == 0, result.output
        found[variant] = load_objects(out / "kubernetes")
    return found


def every_object() -> list[Any]:
    return [pytest.param(variant, id=variant) for variant in SETTINGS_VARIANTS]


def by_kind(objects: dict[str, dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {path: document for path, document in objects.items() if document["kind"] == kind}


def compact(model: Any) -> str:
    return json.dumps(model, separators=(",", ":"), sort_keys=True)


# ---- every object is valid -------------------------------------------------------------------


@pytest.mark.parametrize("variant", every_object())
def test_every_object_matches_the_projects_schema(built, variant: str) -> None:
    objects = built[variant]
    assert objects
    for path, document in objects.items():
        schema = schemas.schema_for(document)
        assert schema is not None, path
        assert schemas.schema_errors(document) == [], path
        # The same schema read by a complete JSON Schema implementation agrees.
        jsonschema.Draft7Validator.check_schema(schema)
        errors = [e.message for e in jsonschema.Draft7Validator(schema).iter_errors(document)]
        assert errors == [], path


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("variant", every_object())
def test_configmaps_are_valid_for_the_kubernetes_api(built, variant: str, version: str) -> None:
    configmaps = by_kind(built[variant], "ConfigMap")
    assert len(configmaps) == len(UIDS)
    for path, document in configmaps.items():
        # strict: unknown fields are errors too; raises ValidationError on any mistake.
        assert kubernetes_validate.validate(document, version, strict=True), path


def test_kubernetes_validate_catches_what_the_sidecar_would_miss(built) -> None:
    """The check above has teeth: a number as the sidecar's label value is refused."""
    document = copy.deepcopy(next(iter(by_kind(built["defaults"], "ConfigMap").values())))
    document["metadata"]["labels"]["grafana_dashboard"] = 1
    with pytest.raises(kubernetes_validate.ValidationError, match="not of type 'string'"):
        kubernetes_validate.validate(document, "1.30", strict=True)


def reference_crd_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) -> openAPIV3Schema of every CRD under REFERENCE_CRDS."""
    found = {}
    for path in sorted(REFERENCE_CRDS.glob("*.yaml")):
        crd = yaml.safe_load(path.read_text(encoding="utf-8"))
        for version in crd["spec"]["versions"]:
            api_version = f"{crd['spec']['group']}/{version['name']}"
            found[(api_version, crd["spec"]["names"]["kind"])] = version["schema"][
                "openAPIV3Schema"
            ]
    return found


@pytest.mark.skipif(not REFERENCE_CRDS.is_dir(), reason=f"{REFERENCE_CRDS} is not present")
@pytest.mark.parametrize("variant", every_object())
def test_custom_resources_match_the_prometheus_operator_crds(built, variant: str) -> None:
    crds = reference_crd_schemas()
    checked = set()
    for path, document in built[variant].items():
        schema = crds.get((document["apiVersion"], document["kind"]))
        if schema is None:
            continue
        errors = [e.message for e in jsonschema.Draft7Validator(schema).iter_errors(document)]
        assert errors == [], path
        checked.add(document["kind"])
    assert checked == {"PrometheusRule", "PodMonitor", "ServiceMonitor"}


@pytest.mark.parametrize("variant", every_object())
def test_names_labels_and_annotations_follow_kubernetes_syntax(built, variant: str) -> None:
    for path, document in built[variant].items():
        if document["kind"] == "Kustomization":
            continue
        metadata = document["metadata"]
        assert DNS1123_SUBDOMAIN.match(metadata["name"]), path
        assert DNS1123_LABEL.match(metadata["namespace"]), path
        assert metadata["labels"]["app.kubernetes.io/managed-by"] == "obsgen"
        assert all(isinstance(v, str) for v in metadata["labels"].values()), path
        assert all(isinstance(v, str) for v in metadata.get("annotations", {}).values()), path


# ---- what the objects say ----------------------------------------------------------------------


def test_one_sidecar_configmap_per_dashboard(built, project_root: Path, tmp_path: Path) -> None:
    configmaps = by_kind(built["defaults"], "ConfigMap")
    assert sorted(configmaps) == sorted(f"dashboards/{uid}.yaml" for uid in UIDS)
    for uid in UIDS:
        document = configmaps[f"dashboards/{uid}.yaml"]
        assert document["metadata"] == {
            "name": f"obsgen-dashboard-{uid}",
            "namespace": "monitoring",
            "labels": {
                "app.kubernetes.io/managed-by": "obsgen",
                "app.kubernetes.io/part-of": "obsgen",
                "grafana_dashboard": "1",
            },
            "annotations": {"grafana_folder": "GPU Workloads"},
        }
        assert list(document["data"]) == [f"{uid}.json"]
        text = document["data"][f"{uid}.json"]
        model = json.loads(text)
        assert model["uid"] == uid
        assert text == compact(model)  # compact, sorted: no spaces to spare


def test_configmap_data_is_the_dashboard_written_to_out(build) -> None:
    kubernetes = build()
    out = kubernetes.parent
    for uid in UIDS:
        written = json.loads((out / f"dashboards/gpu-workloads/{uid}.json").read_text())
        configmap = yaml.safe_load((kubernetes / f"dashboards/{uid}.yaml").read_text())
        assert configmap["data"][f"{uid}.json"] == compact(written)


def test_settings_shape_the_sidecar_configmaps(built) -> None:
    for document in by_kind(built["everything"], "ConfigMap").values():
        metadata = document["metadata"]
        assert metadata["namespace"] == "observability"
        assert metadata["name"].startswith("team-a-dashboard-")
        assert metadata["labels"] == {
            "app.kubernetes.io/managed-by": "obsgen",
            "app.kubernetes.io/part-of": "gpu-platform",
            "example.com/dashboard": "yes",
        }
        assert metadata["annotations"] == {"example.com/folder": "GPU Workloads"}


def test_the_folder_annotation_names_the_grafana_folder(build) -> None:
    kubernetes = build("grafana:\n  folder: AI Infra\n")
    for uid in UIDS:
        document = yaml.safe_load((kubernetes / f"dashboards/{uid}.yaml").read_text())
        assert document["metadata"]["annotations"] == {"grafana_folder": "AI Infra"}


def test_one_prometheus_rule_per_rule_module_with_the_same_groups(build) -> None:
    kubernetes = build()
    out = kubernetes.parent
    rules = by_kind(load_objects(kubernetes), "PrometheusRule")
    assert sorted(rules) == RULE_OBJECTS
    for module in RULE_MODULES:
        document = rules[f"rules/{module.replace('_', '-')}.yaml"]
        rule_file = yaml.safe_load((out / f"rules/{module}.rules.yaml").read_text())
        assert document["apiVersion"] == "monitoring.coreos.com/v1"
        assert document["spec"] == {"groups": rule_file["groups"]}
        assert document["metadata"]["labels"]["release"] == "kube-prometheus-stack"
        assert document["metadata"]["name"] == f"obsgen-rules-{module.replace('_', '-')}"


def test_rule_labels_come_from_settings(built) -> None:
    for document in by_kind(built["everything"], "PrometheusRule").values():
        assert document["metadata"]["labels"] == {
            "app.kubernetes.io/managed-by": "obsgen",
            "app.kubernetes.io/part-of": "gpu-platform",
            "release": "prom",
            "team": "ml",
        }


def test_ray_pod_monitors_copy_the_cluster_label(built) -> None:
    relabeling = {
        "action": "replace",
        "sourceLabels": ["__meta_kubernetes_pod_label_ray_io_cluster"],
        "targetLabel": "ray_io_cluster",
    }
    defaults = built["defaults"]
    for role, node_type in (("head", "head"), ("workers", "worker")):
        spec = defaults[f"monitors/ray-{role}.yaml"]["spec"]
        assert defaults[f"monitors/ray-{role}.yaml"]["kind"] == "PodMonitor"
        assert spec["selector"] == {"matchLabels": {"ray.io/node-type": node_type}}
        assert spec["namespaceSelector"] == {"any": True}
        assert spec["podMetricsEndpoints"] == [
            {"port": "metrics", "interval": "30s", "relabelings": [relabeling]}
        ]
    head = built["everything"]["monitors/ray-head.yaml"]["spec"]
    assert [e["port"] for e in head["podMetricsEndpoints"]] == [
        "metrics",
        "as-metrics",
        "dash-metrics",
    ]
    assert all(e["relabelings"] == [relabeling] for e in head["podMetricsEndpoints"])
    assert head["namespaceSelector"] == {"matchNames": ["ray", "ray-jobs"]}


def test_the_vllm_pod_monitor_scrapes_the_server_port(built) -> None:
    default = built["defaults"]["monitors/vllm.yaml"]
    assert default["kind"] == "PodMonitor"
    assert default["spec"]["podMetricsEndpoints"] == [
        {"port": "http", "path": "/metrics", "interval": "30s"}
    ]
    assert default["spec"]["selector"] == {"matchLabels": {"app.kubernetes.io/name": "vllm"}}
    custom = built["everything"]["monitors/vllm.yaml"]["spec"]
    assert custom["podMetricsEndpoints"] == [
        {"port": "api", "path": "/custom/metrics", "interval": "30s"}
    ]
    assert custom["selector"] == {"matchLabels": {"app": "vllm-server"}}
    assert custom["namespaceSelector"] == {"matchNames": ["inference"]}


def test_monitors_carry_the_monitor_labels_and_the_scrape_interval(build) -> None:
    kubernetes = build("prometheus:\n  scrape_interval: 15s\n")
    monitors = {p: d for p, d in load_objects(kubernetes).items() if p.startswith("monitors/")}
    assert len(monitors) == 4
    for document in monitors.values():
        assert document["metadata"]["labels"]["release"] == "kube-prometheus-stack"
        spec = document["spec"]
        for endpoint in spec.get("podMetricsEndpoints", spec.get("endpoints")):
            assert endpoint["interval"] == "15s"


@pytest.mark.parametrize(
    ("pod_label", "honor_labels"),
    [("pod", True), ("exported_pod", False), ("pod_name", True)],
)
def test_dcgm_honor_labels_follow_the_pod_label_the_queries_read(
    build, pod_label: str, honor_labels: bool
) -> None:
    kubernetes = build(f"exporters:\n  dcgm:\n    pod_label: {pod_label}\n")
    document = yaml.safe_load((kubernetes / "monitors/dcgm-exporter.yaml").read_text())
    assert document["kind"] == "ServiceMonitor"
    assert [e["honorLabels"] for e in document["spec"]["endpoints"]] == [honor_labels]


@pytest.mark.parametrize(
    ("variant", "selector", "port", "namespaces"),
    [
        (
            "defaults",
            {"app": "nvidia-dcgm-exporter"},
            "gpu-metrics",
            {"matchNames": ["gpu-operator"]},
        ),
        ("everything", {"app.kubernetes.io/name": "dcgm-exporter"}, "metrics", {"any": True}),
    ],
    ids=["gpu-operator", "helm-chart"],
)
def test_the_dcgm_service_monitor_finds_the_exporters_service(
    built, variant: str, selector: dict[str, str], port: str, namespaces: dict[str, Any]
) -> None:
    spec = built[variant]["monitors/dcgm-exporter.yaml"]["spec"]
    assert spec["selector"] == {"matchLabels": selector}
    assert spec["namespaceSelector"] == namespaces
    assert [(e["port"], e["path"]) for e in spec["endpoints"]] == [(port, "/metrics")]


def test_disabled_kinds_are_not_written(build) -> None:
    kubernetes = build(
        "kubernetes:\n  sidecar: false\n  monitors:\n    ray: {enabled: false}\n"
        "    vllm: {enabled: false}\n    dcgm: {enabled: false}\n"
    )
    objects = load_objects(kubernetes)
    assert sorted(objects) == ["kustomization.yaml", *RULE_OBJECTS]
    assert objects["kustomization.yaml"]["resources"] == RULE_OBJECTS


@pytest.mark.parametrize("encoding", ["json", "gzipJson"])
def test_grafana_operator_dashboards(build, encoding: str) -> None:
    kubernetes = build(
        "grafana:\n  folder: AI Infra\nkubernetes:\n  grafana_operator:\n    enabled: true\n"
        f"    instance_selector: {{grafana: main}}\n    encoding: {encoding}\n"
    )
    out = kubernetes.parent
    for uid in UIDS:
        document = yaml.safe_load((kubernetes / f"grafana-operator/{uid}.yaml").read_text())
        assert document["apiVersion"] == "grafana.integreatly.org/v1beta1"
        assert document["kind"] == "GrafanaDashboard"
        spec = document["spec"]
        assert spec["instanceSelector"] == {"matchLabels": {"grafana": "main"}}
        assert spec["folder"] == "AI Infra"
        assert spec["uid"] == uid
        written = json.loads((out / f"dashboards/ai-infra/{uid}.json").read_text())
        if encoding == "json":
            assert "gzipJson" not in spec
            assert spec["json"] == compact(written)
        else:
            assert "json" not in spec
            packed = base64.b64decode(spec["gzipJson"], validate=True)
            assert gzip.decompress(packed).decode("utf-8") == compact(written)
            assert packed[4:8] == b"\0\0\0\0"  # no timestamp: the bytes do not change
        assert schemas.schema_errors(document) == []


def test_the_kustomization_lists_exactly_the_files(built) -> None:
    for objects in built.values():
        resources = objects["kustomization.yaml"]
        assert resources["apiVersion"] == "kustomize.config.k8s.io/v1beta1"
        assert resources["kind"] == "Kustomization"
        listed = resources["resources"]
        assert listed == sorted(listed)
        assert set(listed) == set(objects) - {"kustomization.yaml"}
        assert len(listed) == len(set(listed))


def test_builds_are_byte_identical(build) -> None:
    def files(root: Path) -> dict[str, bytes]:
        return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*.yaml")}

    one, two = build(EVERYTHING), build(EVERYTHING)
    assert files(one) == files(two)
    # A ConfigMap and a GrafanaDashboard per dashboard, the rules, 4 monitors, 1 kustomization.
    assert len(files(one)) == 2 * len(UIDS) + len(RULE_MODULES) + 4 + 1


def test_obsgen_validate_checks_what_reaches_the_cluster(build, run_cli) -> None:
    kubernetes = build()
    result = run_cli("validate", kubernetes, "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == []
    # The dashboards inside the ConfigMaps and the PrometheusRules.
    assert f"in {len(UIDS) + len(RULE_MODULES)} documents" in result.stderr


def test_obsgen_validate_reports_the_size_of_the_bundled_builds_objects(
    run_cli, tmp_path: Path
) -> None:
    team = big_dashboard(tmp_path / "team", panels=30, repeat=420)
    result = run_cli(
        "validate",
        "--config",
        PROJECT_ROOT / "obsgen.yaml",
        "--dashboards",
        team,
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.output  # a warning: below --fail-on error
    problems = [p for p in json.loads(result.stdout) if p["check"] == "kubernetes/size"]
    assert [(p["severity"], p["file"], p["location"]) for p in problems] == [
        ("warning", "kubernetes/dashboards/huge.yaml", {"dashboard": "Huge"})
    ]


def test_a_configmap_with_broken_dashboard_json_is_reported(run_cli, tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata:\n  x.json: '{\"title\":'\n",
        encoding="utf-8",
    )
    result = run_cli("validate", path, "--format", "json")
    assert result.exit_code == 1
    (problem,) = json.loads(result.stdout)
    assert problem["check"] == "input/unreadable"
    assert "ConfigMap data key 'x.json' is not valid JSON" in problem["message"]


def test_uids_that_become_the_same_name_are_refused(cli_error, tmp_path: Path) -> None:
    team = tmp_path / "team"
    team.mkdir()
    for name, uid in (("a.py", "Team_A"), ("b.py", "team-a")):
        module = BIG_DASHBOARD.format(panels=1, repeat=1, uid=uid, title=name)
        (team / name).write_text(module, encoding="utf-8")
    message = cli_error(
        "build",
        "--config",
        PROJECT_ROOT / "obsgen.yaml",
        "--out",
        tmp_path / "out",
        "--dashboards",
        team,
    )
    assert f"{team / 'a.py'} and {team / 'b.py'} both become" in message
    assert "kubernetes/dashboards/team-a.yaml" in message
    assert not (tmp_path / "out").exists()


# ---- sizes -----------------------------------------------------------------------------------


def big_dashboard(directory: Path, panels: int, repeat: int) -> Path:
    """A team dashboard module whose JSON grows with panels x repeat (24 bytes a repeat)."""
    directory.mkdir()
    text = BIG_DASHBOARD.format(panels=panels, repeat=repeat, uid="huge", title="Huge")
    (directory / "huge.py").write_text(text, encoding="utf-8")
    return directory


@pytest.mark.parametrize(
    ("panels", "outcome"),
    [(10, "fits"), (30, "warning"), (110, "error")],
    ids=["100KiB", "300KiB", "1.1MiB"],
)
def test_a_large_dashboard_warns_then_fails(
    run_cli, tmp_path: Path, panels: int, outcome: str
) -> None:
    team = big_dashboard(tmp_path / "team", panels, repeat=420)  # about 10 KiB a panel
    out = tmp_path / "out"
    result = run_cli(
        "build", "--config", PROJECT_ROOT / "obsgen.yaml", "--out", out, "--dashboards", team
    )
    configmap = out / "kubernetes/dashboards/huge.yaml"
    if outcome == "error":
        assert result.exit_code == 1
        assert "Traceback" not in result.output
        assert (
            "kubernetes/dashboards/huge.yaml (dashboard 'Huge'): error [kubernetes/size] "
            "ConfigMap obsgen-dashboard-huge holds 1,"
        ) in result.output
        assert "over 1,048,576 bytes" in result.output
        assert not out.exists()
        return
    assert result.exit_code == 0, result.output
    document = yaml.safe_load(configmap.read_text(encoding="utf-8"))
    data = len(document["data"]["huge.json"].encode())
    warning = "warning [kubernetes/size] client-side `kubectl apply` will fail"
    if outcome == "fits":
        assert 80_000 < data < 200_000
        assert warning not in result.output
    else:
        assert 262_144 < data < 1_048_576
        assert f"kubernetes/dashboards/huge.yaml (dashboard 'Huge'): {warning}" in result.output
        assert "kubectl apply --server-side -k out/kubernetes" in result.output


def configmap_with_data(size: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "x", "namespace": "m", "labels": {}},
        "data": {"x.json": "a" * size},
    }


def test_the_annotation_budget_boundary() -> None:
    overhead = sizes.annotation_bytes_with_last_applied(configmap_with_data(0))
    at_limit = configmap_with_data(sizes.ANNOTATIONS_LIMIT - overhead)
    assert sizes.annotation_bytes_with_last_applied(at_limit) == sizes.ANNOTATIONS_LIMIT
    assert sizes.size_problems(at_limit, "f", {}) == []
    over = configmap_with_data(sizes.ANNOTATIONS_LIMIT - overhead + 1)
    (problem,) = sizes.size_problems(over, "f", {"dashboard": "X"})
    assert (problem.check, problem.severity) == ("kubernetes/size", "warning")
    assert "262,145 bytes" in problem.message
    assert "--server-side" in problem.hint


def test_the_configmap_limit_boundary() -> None:
    (at_limit,) = sizes.size_problems(configmap_with_data(sizes.CONFIGMAP_LIMIT), "f", {})
    assert at_limit.severity == "warning"
    (over,) = sizes.size_problems(configmap_with_data(sizes.CONFIGMAP_LIMIT + 1), "f", {})
    assert over.severity == "error"
    assert "1,048,577 bytes of data" in over.message


def test_json_escapes_count_against_the_annotation_budget() -> None:
    # kubectl's copy is JSON inside JSON: quotes gain a backslash, '<' becomes \\u003c.
    plain = sizes.applied_json_bytes(configmap_with_data(100))
    quoted = configmap_with_data(0)
    quoted["data"]["x.json"] = '"' * 50 + "<" * 50
    assert sizes.applied_json_bytes(quoted) == plain + 50 + 250


# ---- the project's schemas refuse what Kubernetes or the operators refuse ----------------------


def _set(document: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split("/")
    for key in parents:
        document = document[int(key)] if isinstance(document, list) else document[key]
    if value is _DELETE:
        del document[last]
    elif isinstance(document, list):
        document[int(last)] = value
    else:
        document[last] = value


_DELETE = object()
BROKEN = [
    (
        "dashboards/ee6mbjghme96oc.yaml",
        "metadata/labels/grafana_dashboard",
        1,
        "must be of type string",
    ),
    ("dashboards/ee6mbjghme96oc.yaml", "metadata/namespace", "Monitoring", "DNS-1123 label"),
    ("dashboards/ee6mbjghme96oc.yaml", "metadata/name", "x" * 254, "DNS-1123 subdomain"),
    ("dashboards/ee6mbjghme96oc.yaml", "metadata/labels/bad key", "x", "key 'bad key'"),
    ("dashboards/ee6mbjghme96oc.yaml", "metadata/labels/grafana_dashboard", "a b", "'a b' is not"),
    ("dashboards/ee6mbjghme96oc.yaml", "metadata/uid", "x", "unknown field 'uid'"),
    ("monitors/vllm.yaml", "spec/podMetricsEndpoints/0/port", 8000, "must be of type string"),
    ("monitors/vllm.yaml", "spec/podMetricsEndpoints/0/port", "8000", "port name"),
    ("monitors/vllm.yaml", "spec/podMetricsEndpoints/0/interval", "15 s", "duration"),
    ("monitors/ray-head.yaml", "spec/selector/matchLabels", {}, "must not be empty"),
    ("monitors/ray-head.yaml", "spec/namespaceSelector/matchNames", ["x"], "more than one"),
    ("monitors/dcgm-exporter.yaml", "spec/endpoints", [], "at least 1 item"),
    ("rules/inference.yaml", "spec/groups/0/rules/0/for", "5 minutes", "duration"),
    ("rules/inference.yaml", "spec/groups/0/rules/0/labels/severity", 3, "type string"),
    ("rules/inference.yaml", "spec/groups/0/rules/0/expr", _DELETE, "needs 'expr'"),
    ("kustomization.yaml", "resources/0", "/etc/passwd", "relative path"),
]


@pytest.mark.parametrize(("path", "field", "value", "message"), BROKEN)
def test_schema_mistakes_are_found(built, path: str, field: str, value: Any, message: str) -> None:
    document = copy.deepcopy(built["defaults"][path])
    _set(document, field, value)
    errors = schemas.schema_errors(document)
    assert errors, field
    assert any(message in error for error in errors), errors
    schema = schemas.schema_for(document)
    assert schema is not None
    assert not jsonschema.Draft7Validator(schema).is_valid(document)


def test_a_grafana_dashboard_holds_json_or_gzip_json_not_both(built) -> None:
    document = copy.deepcopy(built["everything"]["grafana-operator/ee6mbjghme96oc.yaml"])
    document["spec"]["json"] = "{}"
    assert any("more than one" in e for e in schemas.schema_errors(document))


def test_a_kind_obsgen_never_writes_has_no_schema() -> None:
    assert schemas.schema_errors({"apiVersion": "apps/v1", "kind": "Deployment"}) == [
        "no schema for apiVersion 'apps/v1', kind 'Deployment'"
    ]


# ---- settings that would make an invalid object are refused at load ----------------------------

BAD_SETTINGS = [
    ("kubernetes:\n  namespace: Monitoring_NS\n", "'kubernetes.namespace'", "DNS-1123 label"),
    ("kubernetes:\n  namespace: " + "a" * 64 + "\n", "'kubernetes.namespace'", "namespace name"),
    ("kubernetes:\n  dashboard_label_value: 1\n", "'kubernetes.dashboard_label_value'", "a string"),
    (
        "kubernetes:\n  dashboard_label_value: has space\n",
        "'kubernetes.dashboard_label_value'",
        "label value",
    ),
    ("kubernetes:\n  dashboard_label: 'bad key!'\n", "'kubernetes.dashboard_label'", "label key"),
    (
        "kubernetes:\n  folder_annotation: -folder\n",
        "'kubernetes.folder_annotation'",
        "annotation key",
    ),
    ("kubernetes:\n  part_of: true\n", "'kubernetes.part_of'", "a string"),
    ("kubernetes:\n  name_prefix: Obsgen-\n", "'kubernetes.name_prefix'", "name prefix"),
    (
        "kubernetes:\n  rule_labels:\n    release: 2\n",
        "'kubernetes.rule_labels.release'",
        "a string",
    ),
    (
        "kubernetes:\n  monitor_labels:\n    release: kube prometheus\n",
        "'kubernetes.monitor_labels.release'",
        "label value",
    ),
    (
        "kubernetes:\n  monitor_labels:\n    example.com/a/b: x\n",
        "'kubernetes.monitor_labels.example.com/a/b'",
        "label key",
    ),
    (
        "kubernetes:\n  monitors:\n    vllm:\n      port: 8000\n",
        "'kubernetes.monitors.vllm.port'",
        "a port name such as metrics, not a number",
    ),
    (
        "kubernetes:\n  monitors:\n    vllm:\n      port: '8000'\n",
        "'kubernetes.monitors.vllm.port'",
        "not a number",
    ),
    (
        "kubernetes:\n  monitors:\n    ray:\n      port: metrics-port-too-long\n",
        "'kubernetes.monitors.ray.port'",
        "at most 15",
    ),
    (
        "kubernetes:\n  monitors:\n    ray:\n      head_extra_ports: [44217]\n",
        "'kubernetes.monitors.ray.head_extra_ports' holds 44217",
        "not a number",
    ),
    (
        "kubernetes:\n  monitors:\n    ray:\n      namespaces: [Ray]\n",
        "'kubernetes.monitors.ray.namespaces' holds 'Ray'",
        "namespace name",
    ),
    (
        "kubernetes:\n  monitors:\n    vllm:\n      path: metrics\n",
        "'kubernetes.monitors.vllm.path'",
        "starting with '/'",
    ),
    (
        "kubernetes:\n  monitors:\n    vllm:\n      selector: {}\n",
        "'kubernetes.monitors.vllm.selector' is empty",
        "select every pod",
    ),
    (
        "kubernetes:\n  grafana_operator:\n    enabled: true\n    instance_selector: {}\n",
        "'kubernetes.grafana_operator.instance_selector' is empty",
        "'kubernetes.grafana_operator.enabled: false'",
    ),
    (
        "kubernetes:\n  monitors:\n    dcgm:\n      exporter: standalone\n",
        "'kubernetes.monitors.dcgm.exporter'",
        "'gpu-operator' | 'helm-chart'",
    ),
    (
        "kubernetes:\n  grafana_operator:\n    encoding: gzip\n",
        "'kubernetes.grafana_operator.encoding'",
        "'json' | 'gzipJson'",
    ),
    (
        "kubernetes:\n  grafana_operator:\n    instance_selector: {dashboards: 1}\n",
        "'kubernetes.grafana_operator.instance_selector.dashboards'",
        "a string",
    ),
]


@pytest.mark.parametrize(("text", "key", "expected"), BAD_SETTINGS)
def test_settings_that_would_make_invalid_objects_are_refused(
    cli_error, tmp_path: Path, text: str, key: str, expected: str
) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text(text, encoding="utf-8")
    message = cli_error("build", "--config", config, "--out", tmp_path / "out")
    assert f"Error: {config}:" in message
    assert key in message
    assert expected in message
    assert not (tmp_path / "out").exists()


def test_the_kubernetes_check_ids_are_documented(project_root: Path) -> None:
    text = (project_root / "docs" / "checks.md").read_text(encoding="utf-8")
    for check in ("kubernetes/schema", "kubernetes/size"):
        assert f"### `{check}`" in text
