"""A small read-only client for the Prometheus query API: instant and range queries, label
values and series, decoded into plain Python values.

It reuses the live checks' HTTP client (GET only, bounded answers, timeouts, no proxies for
loopback); every failure becomes one QueryError that names what was asked and why it failed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from generator.errors import ObsgenError
from generator.prometheus_api import ApiError, PrometheusClient, Unreachable

Labels = dict[str, str]


class QueryError(ObsgenError):
    """Prometheus could not be asked, or refused the question; the message says which."""


@dataclass(frozen=True)
class Sample:
    """One series' value at one instant."""

    labels: Labels
    value: float


@dataclass(frozen=True)
class RangeSeries:
    """One series' (time, value) points over a range, time in Unix seconds."""

    labels: Labels
    points: tuple[tuple[float, float], ...]


class QueryClient:
    """Read-only questions to the Prometheus at `url` (e.g. http://127.0.0.1:9090)."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        try:
            self._http = PrometheusClient(url, timeout)
        except Unreachable as exc:
            raise QueryError(str(exc)) from None
        self.url = self._http.display_url

    def query(self, expr: str, at: float | None = None) -> list[Sample]:
        """Returns the value of `expr` at `at` (default: now) per series; a scalar result is
        one sample without labels."""
        params = [("query", expr)] + ([("time", _number(at))] if at is not None else [])
        data = self._get("/api/v1/query", params, f"query {expr!r}")
        kind, result = data.get("resultType"), data.get("result")
        if kind == "scalar":
            return [Sample({}, float(result[1]))]
        if kind == "vector":
            return [Sample(dict(r["metric"]), float(r["value"][1])) for r in result]
        raise QueryError(f"query {expr!r} at {self.url} returned a {kind}, not a vector")

    def query_range(self, expr: str, start: float, end: float, step: float) -> list[RangeSeries]:
        """Returns every series of `expr` evaluated from `start` to `end` every `step` seconds."""
        params = [
            ("query", expr),
            ("start", _number(start)),
            ("end", _number(end)),
            ("step", _number(step)),
        ]
        data = self._get("/api/v1/query_range", params, f"range query {expr!r}")
        return [
            RangeSeries(
                dict(r["metric"]), tuple((float(t), float(v)) for t, v in r.get("values", []))
            )
            for r in data.get("result", [])
        ]

    def label_values(
        self,
        label: str,
        match: Sequence[str] = (),
        start: float | None = None,
        end: float | None = None,
    ) -> list[str]:
        """Returns the sorted values of `label` on series matching any selector in `match`
        (every series when empty), between `start` and `end` when given."""
        params = [("match[]", selector) for selector in match] + _window(start, end)
        data = self._get(f"/api/v1/label/{label}/values", params, f"values of label {label!r}")
        return [str(value) for value in data]

    def series(
        self, match: Sequence[str], start: float | None = None, end: float | None = None
    ) -> list[Labels]:
        """Returns the label sets of the series matching any selector in `match`."""
        params = [("match[]", selector) for selector in match] + _window(start, end)
        data = self._get("/api/v1/series", params, f"series {list(match)!r}")
        return [dict(labels) for labels in data]

    def get(self, path: str, params: list[tuple[str, str]]) -> Any:
        """Returns the decoded `data` of Prometheus' answer to GET `path` (e.g.
        /api/v1/query_range) with `params`, as JSON values, without converting them."""
        return self._get(path, params, f"GET {path}")

    def _get(self, path: str, params: list[tuple[str, str]], what: str) -> Any:
        try:
            return self._http.get(path, params)
        except Unreachable as exc:
            raise QueryError(f"cannot ask Prometheus at {self.url} ({what}): {exc}") from None
        except ApiError as exc:
            raise QueryError(f"Prometheus at {self.url} refused the {what}: {exc}") from None


def _number(value: float) -> str:
    return f"{value:.3f}"


def _window(start: float | None, end: float | None) -> list[tuple[str, str]]:
    window = [("start", _number(start))] if start is not None else []
    return window + ([("end", _number(end))] if end is not None else [])
