"""The build's fast paths give what the straightforward code gives.

to_json writes the bytes of json.dumps(indent=2, sort_keys=True, ensure_ascii=False); a
rendered dashboard holds plain JSON values (never tuples or subclasses); expressions repeated across
documents are parsed once, yet every copy is reported where it is.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from generator.build import build
from generator.checks.documents import Document
from generator.checks.runner import validate_documents
from generator.render.serialize import to_json
from generator.settings import Settings

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text()
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner) | st.tuples(inner, inner) | st.dictionaries(st.text(), inner),
    max_leaves=40,
)


def _reference(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


@given(JSON_VALUES)
def test_to_json_writes_the_bytes_of_json_dumps(value: Any) -> None:
    assert to_json(value) == _reference(value)


def test_to_json_falls_back_for_what_only_json_dumps_handles() -> None:
    class Name(str):
        pass

    for value in ({1: "a", 2: "b"}, {"a": Name("x")}, [True, 1, 1.5, Name("y")]):
        assert to_json(value) == _reference(value)


def _values(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [value, *(v for item in value.values() for v in _values(item))]
    if isinstance(value, list):
        return [value, *(v for item in value for v in _values(item))]
    return [value]


def test_rendered_dashboards_hold_plain_json_values() -> None:
    dashboards = [a.document for a in build(Settings()).artifacts if a.kind == "dashboard"]
    assert dashboards
    for dashboard in dashboards:
        assert json.loads(to_json(dashboard)) == dashboard
        for value in _values(dashboard):
            assert value is None or type(value) in (dict, list, str, int, float, bool)


def _dashboard(uid: str, expr: str) -> Document:
    target = {"refId": "A", "expr": expr, "datasource": {"type": "prometheus"}}
    panel = {"id": 1, "type": "timeseries", "title": "p", "targets": [target]}
    return Document("dashboard", f"{uid}.json", {"uid": uid, "title": uid, "panels": [panel]})


def test_a_repeated_expression_is_reported_in_every_document() -> None:
    documents = [_dashboard(uid, "sum(rate(no_such_metric_total[5m]))") for uid in "abc"]
    problems = [
        p for p in validate_documents(documents, Settings()) if p.check == "promql/unknown-metric"
    ]
    assert sorted(p.file for p in problems) == ["a.json", "b.json", "c.json"]
