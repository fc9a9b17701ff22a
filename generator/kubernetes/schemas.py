"""The project's own schemas for the fields obsgen writes into each kind, and a small validator.

The schemas are JSON Schema (draft 7 keywords) written as Python dicts from the syntax rules in
names.py, so one regular expression serves settings, schemas and tests. They are stricter than
the API server on purpose: no unknown fields, label values as strings, durations and port names
in the form the Prometheus operator accepts. The validator implements only the keywords used
here; the tests check the same schemas with the jsonschema package.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from generator.kubernetes import names

Schema = dict[str, Any]

CORE_V1 = "v1"
MONITORING_V1 = "monitoring.coreos.com/v1"
GRAFANA_OPERATOR_V1BETA1 = "grafana.integreatly.org/v1beta1"
KUSTOMIZE_V1BETA1 = "kustomize.config.k8s.io/v1beta1"

_PROMETHEUS_LABEL = r"^[a-zA-Z_][a-zA-Z0-9_]*$"


def _text(pattern: str = "", rule: str = "", **more: Any) -> Schema:
    """A string, optionally of a syntax (`rule` says which, for messages)."""
    schema: Schema = {"type": "string", **more}
    if pattern:
        schema["pattern"] = pattern
    if rule:
        schema["description"] = rule
    return schema


def _mapping(keys: Schema, values: Schema, **more: Any) -> Schema:
    return {"type": "object", "propertyNames": keys, "additionalProperties": values, **more}


def _record(required: list[str], **properties: Schema) -> Schema:
    """An object with exactly these fields, `required` among them."""
    return {
        "type": "object",
        "required": required,
        "properties": properties,
        "additionalProperties": False,
    }


def _list(items: Schema, min_items: int = 1) -> Schema:
    return {"type": "array", "items": items, "minItems": min_items}


def _const(value: str) -> Schema:
    return {"const": value}


# Every unit at most once, largest first, as the Prometheus operator's CRDs require.
DURATION = _text(
    r"^(0|([0-9]+y)?([0-9]+w)?([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?([0-9]+ms)?)$",
    "a duration such as 30s or 1h30m (units y, w, d, h, m, s, ms, largest first)",
    minLength=1,
)
NAME = _text(names.DNS1123_SUBDOMAIN.pattern, names.SUBDOMAIN_RULE)
NAMESPACE = _text(names.DNS1123_LABEL.pattern, names.NAMESPACE_RULE)
LABELS = _mapping(
    _text(names.QUALIFIED_NAME.pattern, names.KEY_RULE),
    _text(names.LABEL_VALUE.pattern, names.VALUE_RULE),
)
ANNOTATIONS = _mapping(_text(names.QUALIFIED_NAME.pattern, names.KEY_RULE), _text())
METADATA = _record(
    ["name", "namespace", "labels"],
    name=NAME,
    namespace=NAMESPACE,
    labels=LABELS,
    annotations=ANNOTATIONS,
)
LABEL_SELECTOR = _record(["matchLabels"], matchLabels={**LABELS, "minProperties": 1})
NAMESPACE_SELECTOR = {
    **_record([], any={"const": True}, matchNames=_list(NAMESPACE)),
    "oneOf": [{"required": ["any"]}, {"required": ["matchNames"]}],
}
PORT = _text(names.PORT_NAME.pattern, names.PORT_RULE)
PATH = _text(r"^/\S*$", "a URL path starting with '/'")
PROMETHEUS_LABEL = _text(_PROMETHEUS_LABEL, "a Prometheus label name")
RELABELING = _record(
    ["sourceLabels", "targetLabel"],
    action={"enum": ["replace"]},
    sourceLabels=_list(PROMETHEUS_LABEL),
    targetLabel=PROMETHEUS_LABEL,
)
ENDPOINT = _record(
    ["port"],
    port=PORT,
    path=PATH,
    interval=DURATION,
    honorLabels={"type": "boolean"},
    relabelings=_list(RELABELING),
)
RULE_LABELS = _mapping(PROMETHEUS_LABEL, _text())
ALERTING_RULE = _record(
    ["alert", "expr"],
    alert=_text(_PROMETHEUS_LABEL, "an alert name"),
    expr=_text(minLength=1),
    labels=RULE_LABELS,
    annotations=RULE_LABELS,
    keep_firing_for=DURATION,
    **{"for": DURATION},
)
RECORDING_RULE = _record(
    ["record", "expr"],
    record=_text(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$", "a metric name"),
    expr=_text(minLength=1),
    labels=RULE_LABELS,
)
RULE_GROUP = _record(
    ["name", "rules"],
    name=_text(minLength=1),
    interval=DURATION,
    rules=_list({"oneOf": [ALERTING_RULE, RECORDING_RULE]}),
)


def _kind(api_version: str, kind: str, required: list[str], **fields: Schema) -> Schema:
    return _record(
        ["apiVersion", "kind", *required],
        apiVersion=_const(api_version),
        kind=_const(kind),
        **fields,
    )


SCHEMAS: dict[tuple[str, str], Schema] = {
    (CORE_V1, "ConfigMap"): _kind(
        CORE_V1,
        "ConfigMap",
        ["metadata", "data"],
        metadata=METADATA,
        data=_mapping(
            _text(
                r"^[-._a-zA-Z0-9]+$", "a key of letters, digits, '-', '_' and '.'", maxLength=253
            ),
            _text(),
            minProperties=1,
        ),
    ),
    (MONITORING_V1, "PrometheusRule"): _kind(
        MONITORING_V1,
        "PrometheusRule",
        ["metadata", "spec"],
        metadata=METADATA,
        spec=_record(["groups"], groups=_list(RULE_GROUP)),
    ),
    (MONITORING_V1, "PodMonitor"): _kind(
        MONITORING_V1,
        "PodMonitor",
        ["metadata", "spec"],
        metadata=METADATA,
        spec=_record(
            ["selector", "podMetricsEndpoints"],
            namespaceSelector=NAMESPACE_SELECTOR,
            selector=LABEL_SELECTOR,
            podMetricsEndpoints=_list(ENDPOINT),
        ),
    ),
    (MONITORING_V1, "ServiceMonitor"): _kind(
        MONITORING_V1,
        "ServiceMonitor",
        ["metadata", "spec"],
        metadata=METADATA,
        spec=_record(
            ["selector", "endpoints"],
            namespaceSelector=NAMESPACE_SELECTOR,
            selector=LABEL_SELECTOR,
            endpoints=_list(ENDPOINT),
        ),
    ),
    (GRAFANA_OPERATOR_V1BETA1, "GrafanaDashboard"): _kind(
        GRAFANA_OPERATOR_V1BETA1,
        "GrafanaDashboard",
        ["metadata", "spec"],
        metadata=METADATA,
        spec={
            **_record(
                ["instanceSelector", "uid", "folder"],
                instanceSelector=LABEL_SELECTOR,
                uid=_text(r"^[a-zA-Z0-9_-]+$", "a Grafana uid", maxLength=40),
                folder=_text(minLength=1),
                json=_text(minLength=2),
                gzipJson=_text(r"^[A-Za-z0-9+/]+={0,2}$", "base64 text", minLength=4),
            ),
            # Exactly one source of the dashboard's content.
            "oneOf": [{"required": ["json"]}, {"required": ["gzipJson"]}],
        },
    ),
    (KUSTOMIZE_V1BETA1, "Kustomization"): _kind(
        KUSTOMIZE_V1BETA1,
        "Kustomization",
        ["resources"],
        resources=_list(_text(r"^[a-z0-9][-a-z0-9_./]*\.yaml$", "a relative path of a .yaml file")),
    ),
}


def schema_for(document: dict[str, Any]) -> Schema | None:
    """The schema of the document's apiVersion and kind, None for a kind obsgen never writes."""
    return SCHEMAS.get((str(document.get("apiVersion")), str(document.get("kind"))))


def schema_errors(document: dict[str, Any]) -> list[str]:
    """Why `document` does not match its kind's schema, one line per mistake ([] when it does)."""
    schema = schema_for(document)
    if schema is None:
        return [
            f"no schema for apiVersion {document.get('apiVersion')!r}, "
            f"kind {document.get('kind')!r}"
        ]
    return list(_errors(document, schema, ""))


_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "boolean": (bool,),
    "integer": (int,),
    "object": (dict,),
    "array": (list,),
}


def _errors(value: Any, schema: Schema, where: str) -> list[str]:
    """The mistakes of `value` against `schema`; `where` is its path (metadata.labels.x)."""
    at = where or "the object"
    expected = schema.get("type")
    if expected and (
        not isinstance(value, _TYPES[expected]) or (expected == "integer" and value is True)
    ):
        return [f"{at} must be of type {expected}, got {value!r}"[:300]]
    if "const" in schema and value != schema["const"]:
        return [f"{at} must be {schema['const']!r}, got {value!r}"]
    if "enum" in schema and value not in schema["enum"]:
        return [f"{at} must be one of {', '.join(map(repr, schema['enum']))}, got {value!r}"]
    if isinstance(value, str):
        return _text_errors(value, schema, at)
    errors: list[str] = []
    if isinstance(value, dict):
        errors += _object_errors(value, schema, where)
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            errors.append(f"{at} must have at least {schema['minItems']} item(s)")
        for index, item in enumerate(value):
            errors += _errors(item, schema.get("items", {}), f"{where}[{index}]")
    if "oneOf" in schema:
        errors += _one_of_errors(value, schema["oneOf"], where)
    return errors


def _one_of_errors(value: Any, options: list[Schema], where: str) -> list[str]:
    """[] when exactly one option fits; else the mistakes against the closest option."""
    found = [_errors(value, option, where) for option in options]
    fitting = sum(1 for errors in found if not errors)
    if fitting == 1:
        return []
    if fitting > 1:
        return [f"{where or 'the object'} fits more than one of its forms"]
    return min(found, key=len)


def _text_errors(value: str, schema: Schema, at: str) -> list[str]:
    if len(value) < schema.get("minLength", 0):
        return [f"{at} must have at least {schema['minLength']} character(s)"]
    if len(value) > schema.get("maxLength", len(value)):
        return [f"{at} must have at most {schema['maxLength']} characters"]
    if "pattern" in schema and not _compiled(schema["pattern"]).search(value):
        return [f"{at} {value!r} is not {schema.get('description', schema['pattern'])}"]
    return []


def _object_errors(value: dict[Any, Any], schema: Schema, where: str) -> list[str]:
    at = where or "the object"
    errors = [f"{at} needs '{key}'" for key in schema.get("required", []) if key not in value]
    if len(value) < schema.get("minProperties", 0):
        errors.append(f"{at} must not be empty")
    properties = schema.get("properties", {})
    extra = schema.get("additionalProperties", True)
    keys = schema.get("propertyNames")
    for key, item in value.items():
        inner = f"{where}.{key}" if where else str(key)
        if keys is not None:
            if not isinstance(key, str):
                errors.append(f"{at} key {key!r} must be a string")
                continue
            errors += [f"{at} key {e.removeprefix(f'{at} ')}" for e in _text_errors(key, keys, at)]
        if key in properties:
            errors += _errors(item, properties[key], inner)
        elif extra is False:
            errors.append(f"{at} has the unknown field '{key}'")
        elif isinstance(extra, dict):
            errors += _errors(item, extra, inner)
    return errors


@functools.cache
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)
