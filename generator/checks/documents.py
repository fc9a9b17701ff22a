"""Documents to validate, read from paths: Grafana dashboards, rule files, PrometheusRules,
and the dashboards in Grafana sidecar ConfigMaps.

Reading never raises: a file obsgen cannot use becomes a Problem naming it, and the rest of
the files are still checked.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from generator.checks.problem import Problem

DocumentKind = Literal["dashboard", "rules"]
MAX_FILE_BYTES = 32 * 1024 * 1024  # larger inputs are refused, not parsed
_SUFFIXES = (".json", ".yaml", ".yml")
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Document:
    """A dashboard model or a rule file ({"groups": [...]}) and the file it came from."""

    kind: DocumentKind
    file: str
    data: dict[str, Any]


def read_paths(paths: Iterable[Path]) -> tuple[list[Document], list[Problem]]:
    """Every document under `paths` (directories recursively) and the problems reading them."""
    # Loading builds many small containers and no cycles; the cyclic collector only slows it.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _read_paths(paths)
    finally:
        if collecting:
            gc.enable()


def _read_paths(paths: Iterable[Path]) -> tuple[list[Document], list[Problem]]:
    documents: list[Document] = []
    problems: list[Problem] = []
    for file in _files(paths, problems):
        found, problem = read_file(file)
        documents.extend(found)
        if problem:
            problems.append(problem)
    return documents, problems


def _files(paths: Iterable[Path], problems: list[Problem]) -> Iterator[Path]:
    for path in paths:
        built = _built_artifacts(path)
        if built is not None:
            yield from built
        elif path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix.lower() in _SUFFIXES)
            for candidate in found:
                if candidate.is_file():
                    yield candidate
                elif not candidate.exists():
                    problems.append(_input_problem(str(candidate), "broken symbolic link"))
            if not any(p.is_file() for p in found):
                problems.append(
                    _input_problem(str(path), "no .json, .yaml or .yml file in this directory")
                )
        elif path.is_file():
            yield path
        else:
            problems.append(_input_problem(str(path), "no such file or directory"))


def _built_artifacts(directory: Path) -> list[Path] | None:
    """The dashboards and rule files an `obsgen build` output directory lists in its
    manifest.json; None when `directory` is not one. Its ConfigMaps and PrometheusRules
    deliver the same documents again, so checking them too would report every uid and rule as
    a duplicate of itself (`obsgen validate DIR/kubernetes` checks those)."""
    manifest = directory / "manifest.json"
    if not directory.is_dir() or not manifest.is_file():
        return None
    try:
        artifacts = json.loads(manifest.read_text(encoding="utf-8")).get("artifacts")
        listed = sorted(
            directory / entry["path"]
            for entry in artifacts
            if entry.get("kind") in ("dashboard", "rules")
        )
    except (OSError, ValueError, AttributeError, TypeError, KeyError):
        return None  # not obsgen's manifest: read the directory like any other
    return listed or None


def read_file(path: Path) -> tuple[list[Document], Problem | None]:
    """The documents in one file, or a problem saying why there are none."""
    file = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return [], _input_problem(
                file, f"file is {size:,} bytes; the limit is {MAX_FILE_BYTES:,}"
            )
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [], _input_problem(file, f"cannot read: {exc}")
    if path.suffix.lower() == ".json":
        return _from_json(text, file)
    return _from_yaml(text, file)


def _from_json(text: str, file: str) -> tuple[list[Document], Problem | None]:
    try:
        data = json.loads(text)
    except ValueError as exc:
        return [], _input_problem(file, f"not valid JSON: {exc}")
    except RecursionError:
        return [], _input_problem(file, "JSON nested too deeply to read")
    groups = _rule_groups(data)
    if groups is not None:  # Prometheus reads rule files written as JSON too
        return [Document("rules", file, {"groups": groups})], None
    dashboard = _dashboard_model(data)
    if dashboard is None:
        return [], _input_problem(
            file,
            "JSON that is neither a Grafana dashboard (no 'panels' or 'title', bare or under "
            "'dashboard') nor a rule file ('groups')",
        )
    return [Document("dashboard", file, dashboard)], None


def _from_yaml(text: str, file: str) -> tuple[list[Document], Problem | None]:
    try:
        loaded = list(yaml.load_all(text, Loader=_Loader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        return [], _input_problem(file, f"not valid YAML{where}: {exc.problem}")
    except (yaml.YAMLError, RecursionError) as exc:
        return [], _input_problem(file, f"not valid YAML: {exc}")
    documents = []
    kubernetes_objects = 0
    for data in loaded:
        groups = _rule_groups(data)
        if groups is not None:
            documents.append(Document("rules", file, {"groups": groups}))
        elif (dashboard := _dashboard_model(data)) is not None:
            documents.append(Document("dashboard", file, dashboard))
        elif _is_kubernetes_object(data):
            # Monitors, kustomizations and the like hold nothing to check: not an error.
            kubernetes_objects += 1
            found, problem = _configmap_dashboards(data, file)
            if problem:
                return [], problem
            documents.extend(found)
    if not documents and not kubernetes_objects:
        return [], _input_problem(
            file,
            "neither a Prometheus rule file ('groups'), a PrometheusRule manifest nor a dashboard",
        )
    return documents, None


def _is_kubernetes_object(data: Any) -> bool:
    return isinstance(data, dict) and isinstance(data.get("kind"), str) and "apiVersion" in data


def _configmap_dashboards(data: dict[str, Any], file: str) -> tuple[list[Document], Problem | None]:
    """The dashboards in a Grafana sidecar ConfigMap: its *.json data values."""
    values = data.get("data") if data.get("kind") == "ConfigMap" else None
    if not isinstance(values, dict):
        return [], None
    documents = []
    for key, text in sorted(values.items(), key=lambda item: str(item[0])):
        if not (str(key).endswith(".json") and isinstance(text, str)):
            continue
        try:
            model = _dashboard_model(json.loads(text))
        except (ValueError, RecursionError) as exc:
            return [], _input_problem(file, f"ConfigMap data key {key!r} is not valid JSON: {exc}")
        if model is not None:
            documents.append(Document("dashboard", file, model))
    return documents, None


def _dashboard_model(data: Any) -> dict[str, Any] | None:
    if isinstance(data, dict) and isinstance(data.get("dashboard"), dict):
        data = data["dashboard"]
    if isinstance(data, dict) and ("panels" in data or "rows" in data) and "title" in data:
        return data
    return None


def _rule_groups(data: Any) -> list[Any] | None:
    if not isinstance(data, dict):
        return None
    if data.get("kind") == "PrometheusRule" and isinstance(data.get("spec"), dict):
        data = data["spec"]
    groups = data.get("groups")
    return groups if isinstance(groups, list) else None


def _input_problem(file: str, message: str) -> Problem:
    return Problem(
        "input/unreadable",
        "error",
        message,
        file,
        hint="point obsgen validate at Grafana dashboard JSON, Prometheus rule "
        "files or PrometheusRule manifests",
    )
