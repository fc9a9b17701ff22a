"""live/series and live/metadata against the real `prometheus` binary (Debian 2.42).

A tiny HTTP server on 127.0.0.1 exposes a few GPU and vLLM metrics, one in the Prometheus text
format and one in OpenMetrics; a real Prometheus scrapes it every second. One metric's TYPE
contradicts the catalog (DCGM_FI_DEV_GPU_TEMP as a counter) for live/metadata to find.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from prometheus_harness import (
    OPENMETRICS_FORMAT,
    TEXT_FORMAT,
    answer,
    exposition_server,
    free_port,
    http_server,
    running_prometheus,
    silent_listener,
    wait_for_series,
)

from generator.checks.documents import read_paths
from generator.checks.live import series
from generator.checks.problem import Problem
from generator.checks.runner import validate_documents
from generator.cli import cli
from generator.settings import Settings, load_settings

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CONFIG = PROJECT_ROOT / "obsgen.yaml"

TEXT_METRICS = """\
# HELP DCGM_FI_DEV_GPU_UTIL GPU utilization (in %).
# TYPE DCGM_FI_DEV_GPU_UTIL gauge
DCGM_FI_DEV_GPU_UTIL{gpu="0",exported_pod="trainer-0",exported_namespace="ml"} 87
DCGM_FI_DEV_GPU_UTIL{gpu="1",exported_pod="trainer-0",exported_namespace="ml"} 91
# HELP DCGM_FI_DEV_GPU_TEMP GPU temperature, declared with the wrong type on purpose.
# TYPE DCGM_FI_DEV_GPU_TEMP counter
DCGM_FI_DEV_GPU_TEMP{gpu="0"} 61
# HELP vllm:e2e_request_latency_seconds End-to-end request latency.
# TYPE vllm:e2e_request_latency_seconds histogram
vllm:e2e_request_latency_seconds_bucket{model_name="llama",le="1"} 3
vllm:e2e_request_latency_seconds_bucket{model_name="llama",le="+Inf"} 4
vllm:e2e_request_latency_seconds_sum{model_name="llama"} 2.5
vllm:e2e_request_latency_seconds_count{model_name="llama"} 4
"""
OPENMETRICS = """\
# TYPE vllm:prompt_tokens counter
# HELP vllm:prompt_tokens Number of prefill tokens processed.
vllm:prompt_tokens_total{model_name="llama"} 1234
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{model_name="llama"} 2
# EOF
"""
EXPOSED = [
    "DCGM_FI_DEV_GPU_UTIL",
    "DCGM_FI_DEV_GPU_TEMP",
    "vllm:e2e_request_latency_seconds_bucket",
    "vllm:prompt_tokens_total",
    "vllm:num_requests_running",
]


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a real Prometheus that has scraped the metrics above."""
    pages = {"/metrics": (TEXT_FORMAT, TEXT_METRICS), "/om": (OPENMETRICS_FORMAT, OPENMETRICS)}
    directory = tmp_path_factory.mktemp("prometheus")
    with exposition_server(pages) as target:
        scrapes = [("dcgm", target, "/metrics"), ("vllm", target, "/om")]
        with running_prometheus(directory, scrapes) as url:
            wait_for_series(url, EXPOSED)
            yield url


@pytest.fixture(scope="module")
def settings() -> Settings:
    return load_settings(CONFIG)


def dashboard(*targets: tuple[str, str]) -> dict[str, Any]:
    """A dashboard with one panel per (panel title, expr)."""
    panels = [
        {
            "id": index,
            "type": "timeseries",
            "title": title,
            "datasource": {"type": "prometheus", "uid": "${datasource}"},
            "targets": [{"refId": "A", "expr": expr}],
        }
        for index, (title, expr) in enumerate(targets, start=1)
    ]
    return {"title": "Live", "uid": "live", "panels": panels}


def live_problems(
    url: str, settings: Settings, directory: Path, document: dict[str, Any], timeout: float = 5
) -> list[Problem]:
    """The live/* problems of validating `document` (written as JSON) against `url`."""
    path = directory / "input.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    documents, unreadable = read_paths([path])
    assert not unreadable
    problems = validate_documents(
        documents, settings, prometheus_url=url, prometheus_timeout=timeout
    )
    assert not [p for p in problems if p.check == "obsgen/internal"], problems
    return [p for p in problems if p.check.startswith("live/")]


# (expression in a dashboard panel, the live checks it should trigger)
CASES = [
    ('avg by (gpu) (DCGM_FI_DEV_GPU_UTIL{exported_pod=~"$pod"})', []),
    ('DCGM_FI_DEV_GPU_UTIL{exported_namespace="${namespace:regex}", gpu=~"[[gpu]]"}', []),
    ('sum(rate(vllm:prompt_tokens_total{model_name="$model_name"}[$__rate_interval]))', []),
    (
        "histogram_quantile(0.99, sum by (le) "
        "(rate(vllm:e2e_request_latency_seconds_bucket[$__rate_interval])))",
        [],
    ),
    ("vllm:num_requests_running", []),
    ('{__name__="DCGM_FI_DEV_GPU_UTIL", gpu="1"}', []),
    ("${metric}", []),  # the metric is a variable: nothing to ask
    ('$metric{gpu="0"} / DCGM_FI_DEV_GPU_UTIL', []),
    ("vllm:gpu_cache_usage_perc", ["live/series"]),  # removed from vLLM
    ('DCGM_FI_DEV_GPU_UTIL{gpu="7"}', ["live/series"]),  # the metric exists, the label not
    ("max(DCGM_FI_DEV_GPU_TEMP) > 80", ["live/metadata"]),  # exposed as a counter
    ("rate(DCGM_FI_DEV_GPU_TEMP[5m])", ["live/metadata"]),
]


@pytest.mark.parametrize(("expr", "expected"), CASES, ids=[c[0][:60] for c in CASES])
def test_live_checks(
    prometheus: str, settings: Settings, tmp_path: Path, expr: str, expected: list[str]
) -> None:
    problems = live_problems(prometheus, settings, tmp_path, dashboard(("Panel", expr)))
    assert sorted(p.check for p in problems) == expected, problems


def test_missing_metric_names_selector_panel_and_hint(
    prometheus: str, settings: Settings, tmp_path: Path
) -> None:
    document = dashboard(
        ("GPU utilisation", "avg(DCGM_FI_DEV_GPU_UTIL)"),
        ("KV cache", 'avg(vllm:gpu_cache_usage_perc{model_name="$model_name"})'),
        ("Wrong GPU", 'DCGM_FI_DEV_GPU_UTIL{gpu="7"}'),
    )
    problems = live_problems(prometheus, settings, tmp_path, document)
    by_panel = {p.location["panel"]: p for p in problems}
    assert set(by_panel) == {"KV cache", "Wrong GPU"}
    removed = by_panel["KV cache"]
    assert removed.severity == "warning"
    assert "vllm:gpu_cache_usage_perc" in removed.message
    assert removed.location == {"dashboard": "Live", "panel": "KV cache", "refId": "A"}
    assert "is vllm scraped" in removed.hint
    wrong = by_panel["Wrong GPU"]
    assert 'DCGM_FI_DEV_GPU_UTIL{gpu="7"}' in wrong.message
    assert "has series, but none with these labels" in wrong.hint


def test_contradicting_type_names_both_types(
    prometheus: str, settings: Settings, tmp_path: Path
) -> None:
    document = dashboard(("Temperature", "max(DCGM_FI_DEV_GPU_TEMP)"))
    (problem,) = live_problems(prometheus, settings, tmp_path, document)
    assert problem.check == "live/metadata"
    assert problem.severity == "warning"
    assert "DCGM_FI_DEV_GPU_TEMP as counter" in problem.message
    assert "catalog says gauge" in problem.message
    assert problem.location["panel"] == "Temperature"


def test_rule_file_selectors_and_recorded_names(
    prometheus: str, settings: Settings, tmp_path: Path
) -> None:
    rules = {
        "groups": [
            {
                "name": "gpu",
                "rules": [
                    {"record": "gpu:utilisation:avg", "expr": "avg(DCGM_FI_DEV_GPU_UTIL)"},
                    {
                        "alert": "GpuBusy",
                        "expr": "gpu:utilisation:avg > 90",
                        "labels": {"severity": "warning"},
                    },
                ],
            }
        ]
    }
    path = tmp_path / "rules.yaml"
    path.write_text(json.dumps(rules), encoding="utf-8")
    documents, _ = read_paths([path])
    problems = validate_documents(documents, settings, prometheus_url=prometheus)
    (problem,) = [p for p in problems if p.check.startswith("live/")]
    assert problem.location == {"group": "gpu", "rule": "GpuBusy"}
    assert "gpu:utilisation:avg" in problem.message
    assert "rule file loaded" in problem.hint


def test_selectors_are_capped_with_an_info(
    prometheus: str, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(series, "MAX_SELECTORS", 2)
    document = dashboard(
        ("A", 'DCGM_FI_DEV_GPU_UTIL{gpu="0"}'),
        ("B", 'DCGM_FI_DEV_GPU_UTIL{gpu="1"}'),
        ("C", "no_such_metric_never_asked"),
    )
    problems = live_problems(prometheus, settings, tmp_path, document)
    assert [(p.check, p.severity) for p in problems] == [("live/series", "info")]
    assert "3 distinct selectors; only the first 2" in problems[0].message


def test_unreachable_prometheus_is_one_clear_error(settings: Settings, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    problems = live_problems(url, settings, tmp_path, dashboard(("P", "up")))
    assert time.monotonic() - started < 5
    (problem,) = problems
    assert (problem.check, problem.severity) == ("live/series", "error")
    assert url in problem.message
    assert "connection refused" in problem.message


def test_silent_server_times_out_quickly(settings: Settings, tmp_path: Path) -> None:
    with silent_listener() as url:
        started = time.monotonic()
        problems = live_problems(url, settings, tmp_path, dashboard(("P", "up")), timeout=0.5)
        assert time.monotonic() - started < 5
    (problem,) = problems
    assert problem.check == "live/series"
    assert "no answer within the timeout" in problem.message


def test_a_server_that_is_not_prometheus(settings: Settings, tmp_path: Path) -> None:
    with exposition_server({}) as target:
        problems = live_problems(f"http://{target}", settings, tmp_path, dashboard(("P", "up")))
    (problem,) = problems
    assert problem.check == "live/series"
    assert "HTTP 404" in problem.message


# Answers a real Prometheus does not give on demand, from a small API double.
SUCCESS = b'{"status":"success","data":{"resultType":"scalar","result":[0,"1"]}}'


def api_double(series: Callable[[BaseHTTPRequestHandler], None]) -> Any:
    """A server answering /api/v1/query like Prometheus and /api/v1/series with `series`."""

    def respond(handler: BaseHTTPRequestHandler) -> None:
        if handler.path.startswith("/api/v1/query"):
            answer(handler, 200, "application/json", SUCCESS)
        elif handler.path.startswith("/api/v1/series"):
            series(handler)
        else:
            answer(handler, 200, "application/json", b'{"status":"success","data":{}}')

    return http_server(respond)


def test_huge_series_answers_are_read_only_in_part(settings: Settings, tmp_path: Path) -> None:
    one = b'{"__name__":"up","instance":"node-00000:9100","job":"node"},'

    def series(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.end_headers()
        handler.wfile.write(b'{"status":"success","data":[')
        for _ in range(400):  # 20 MB, more than any answer obsgen accepts whole
            handler.wfile.write(one * 1000)
        handler.wfile.write(one[:-1] + b"]}")

    with api_double(series) as address:
        started = time.monotonic()
        problems = live_problems(f"http://{address}", settings, tmp_path, dashboard(("P", "up")))
        assert time.monotonic() - started < 5
    assert problems == []


def test_a_slow_answer_is_cut_at_the_timeout(settings: Settings, tmp_path: Path) -> None:
    def series(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.end_headers()
        for _ in range(100):  # a byte every 0.1 s: each read is quick, the whole is not
            handler.wfile.write(b" ")
            handler.wfile.flush()
            time.sleep(0.1)

    with api_double(series) as address:
        started = time.monotonic()
        problems = live_problems(
            f"http://{address}", settings, tmp_path, dashboard(("P", "up")), timeout=0.5
        )
        assert time.monotonic() - started < 5
    (problem,) = problems
    assert (problem.check, problem.location) == ("live/series", {})
    assert "incomplete check of 1 selector against" in problem.message
    assert "no answer within the timeout" in problem.message


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (401, b"Unauthorized", "HTTP 401: access denied"),
        (200, b"<html>login</html>", "not Prometheus API JSON"),
        (503, b"Service Unavailable", "not ready"),
    ],
)
def test_answers_that_are_not_the_api(
    settings: Settings, tmp_path: Path, status: int, body: bytes, expected: str
) -> None:
    def respond(handler: BaseHTTPRequestHandler) -> None:
        answer(handler, status, "text/html", body)

    with http_server(respond) as address:
        (problem,) = live_problems(f"http://{address}", settings, tmp_path, dashboard(("P", "up")))
    assert (problem.check, problem.severity) == ("live/series", "error")
    assert expected in problem.message


def test_a_selector_prometheus_rejects_is_an_info(settings: Settings, tmp_path: Path) -> None:
    rejected = b'{"status":"error","errorType":"bad_data","error":"invalid parameter"}'

    def series(handler: BaseHTTPRequestHandler) -> None:
        answer(handler, 400, "application/json", rejected)

    with api_double(series) as address:
        (problem,) = live_problems(f"http://{address}", settings, tmp_path, dashboard(("P", "up")))
    assert (problem.check, problem.severity) == ("live/series", "info")
    assert problem.location["panel"] == "P"
    assert "bad_data: invalid parameter" in problem.message


@pytest.mark.parametrize(
    "url", ["not-a-url", "ftp://127.0.0.1/", "http://", "file:///etc/passwd", "http://h:port/"]
)
def test_url_must_be_http(settings: Settings, tmp_path: Path, url: str) -> None:
    (problem,) = live_problems(url, settings, tmp_path, dashboard(("P", "up")))
    assert (problem.check, problem.severity) == ("live/series", "error")
    assert problem.message.startswith("--prometheus ")
    assert url in problem.message


def test_password_in_url_is_never_printed(settings: Settings, tmp_path: Path) -> None:
    url = f"http://reader:s3cret@127.0.0.1:{free_port()}/prometheus"
    (problem,) = live_problems(url, settings, tmp_path, dashboard(("P", "up")))
    assert "s3cret" not in problem.message + problem.hint
    assert "reader:***@127.0.0.1" in problem.message


def test_cli_end_to_end(prometheus: str, tmp_path: Path) -> None:
    path = tmp_path / "dashboard.json"
    document = dashboard(
        ("Temperature", "max(DCGM_FI_DEV_GPU_TEMP)"),
        ("KV cache", "avg(vllm:gpu_cache_usage_perc)"),
    )
    path.write_text(json.dumps({"dashboard": document}), encoding="utf-8")
    args = ["validate", "--config", str(CONFIG), "--format", "json", "--prometheus", prometheus]
    result = CliRunner().invoke(cli, [*args, str(path)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    reported = json.loads(result.stdout)
    live = {(p["check"], p["location"]["panel"]) for p in reported if p["check"][:5] == "live/"}
    assert live == {("live/metadata", "Temperature"), ("live/series", "KV cache")}
    errors = [p for p in reported if p["severity"] == "error"]
    assert result.exit_code == (1 if errors else 0)
    strict = CliRunner().invoke(cli, [*args, "--fail-on", "warning", str(path)])
    assert strict.exit_code == 1
    offline = CliRunner().invoke(
        cli, ["validate", "--config", str(CONFIG), "--format", "json", str(path)]
    )
    assert not [p for p in json.loads(offline.stdout) if p["check"].startswith("live/")]


def test_cli_rejects_a_url_that_is_not_http(tmp_path: Path) -> None:
    path = tmp_path / "dashboard.json"
    path.write_text(json.dumps(dashboard(("P", "up"))), encoding="utf-8")
    result = CliRunner().invoke(
        cli, ["validate", "--config", str(CONFIG), "--prometheus", "not-a-url", str(path)]
    )
    assert result.exit_code == 2  # a usage error, before anything is checked
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert "--prometheus" in result.output
    assert "'not-a-url' is not an http:// or https:// URL" in result.output
