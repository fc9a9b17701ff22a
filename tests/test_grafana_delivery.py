"""The parts of delivery to Grafana that need no server: where to connect and with what, how
long to wait before a retry, what obsgen writes into a dashboard to recognise it, folder
paths, backups, the commit message. Plus the retry loop against a double of Grafana's HTTP
API (tests/grafana_double.py), with the waits recorded instead of slept."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from grafana_double import EDITOR_TOKEN, Fault, GrafanaApiDouble, running_double

from generator import __version__
from generator.deliver.grafana.backup import Backups
from generator.deliver.grafana.commit_message import commit_message
from generator.deliver.grafana.connection import GrafanaApiError, GrafanaConnection
from generator.deliver.grafana.folders import folder_levels, folder_uid
from generator.deliver.grafana.retry import RetryPolicy, is_retryable, parse_retry_after
from generator.deliver.grafana.state import (
    MANAGED_TAG,
    content_hash,
    is_as_written,
    managed_dashboard,
    written_hash,
)
from generator.deliver.grafana.target import TargetError, resolve_target
from generator.errors import ObsgenError

URL = "https://grafana.example.com"

# ---- target --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("environment", "flags", "kind", "source", "username"),
    [
        ({"GRAFANA_TOKEN": "tok-secret"}, {}, "token", "GRAFANA_TOKEN", ""),
        ({"GRAFANA_TOKEN": "tok-secret"}, {"token": "flag-secret"}, "token", "--token", ""),
        (
            {"GRAFANA_USER": "u", "GRAFANA_PASSWORD": "pw-secret"},
            {},
            "basic",
            "GRAFANA_USER/GRAFANA_PASSWORD",
            "u",
        ),
        (
            {"GRAFANA_TOKEN": "tok-secret", "GRAFANA_USER": "u", "GRAFANA_PASSWORD": "pw-secret"},
            {},
            "token",
            "GRAFANA_TOKEN",
            "",
        ),
        (
            {"GRAFANA_URL": "https://bob:s%40cret@grafana.example.com"},
            {"url": None},
            "basic",
            "the URL",
            "bob",
        ),
    ],
    ids=["token", "flag-over-env", "basic", "token-over-basic", "url-userinfo"],
)
def test_credential_precedence(
    environment: dict[str, str],
    flags: dict[str, str | None],
    kind: str,
    source: str,
    username: str,
) -> None:
    target = resolve_target({"GRAFANA_URL": URL, **environment}, **flags)  # type: ignore[arg-type]
    assert (target.credential.kind, target.credential.source) == (kind, source)
    assert target.credential.username == username
    assert target.url == URL  # never with the user information
    if source == "the URL":
        assert target.credential.for_client() == ("bob", "s@cret")
    assert target.credential.secret not in target.credential.describe()
    assert target.credential.secret not in repr(target)


def test_url_flag_timeout_org_and_tls() -> None:
    target = resolve_target(
        {"GRAFANA_URL": "http://ignored", "GRAFANA_TOKEN": "t"},
        url="https://g.example.com:3443/grafana/",
        org_id=3,
        timeout=2.5,
        insecure=True,
    )
    assert target.url == "https://g.example.com:3443/grafana"
    assert (target.org_id, target.timeout, target.verify_tls) == (3, 2.5, False)
    assert target.describe() == "https://g.example.com:3443/grafana (org 3)"
    assert resolve_target({"GRAFANA_URL": URL, "GRAFANA_TOKEN": "t"}).verify_tls is True


@pytest.mark.parametrize(
    ("environment", "message"),
    [
        ({}, "no Grafana URL"),
        ({"GRAFANA_URL": "ftp://x"}, "not an http:// or https:// URL"),
        ({"GRAFANA_URL": "http://[::1"}, "Grafana URL is malformed"),
        ({"GRAFANA_URL": "http://x:99999"}, "invalid port"),
        ({"GRAFANA_URL": URL}, "no Grafana credentials"),
        ({"GRAFANA_URL": URL, "GRAFANA_PASSWORD": "pw-secret"}, "GRAFANA_USER is not set"),
    ],
)
def test_unusable_targets(environment: dict[str, str], message: str) -> None:
    with pytest.raises(TargetError, match=message):
        resolve_target(environment)


# ---- retry policy --------------------------------------------------------------------------


def test_backoff_doubles_with_jitter_up_to_the_cap_and_obeys_retry_after() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=3.0, max_retry_after=10.0)
    for retry, nominal in ((1, 0.5), (2, 1.0), (3, 2.0), (4, 3.0), (9, 3.0)):
        delays = [policy.delay(retry) for _ in range(50)]
        assert all(0.75 * nominal <= d <= 1.25 * nominal for d in delays), (retry, delays)
    assert policy.delay(1, retry_after=4.0) == 4.0
    assert policy.delay(1, retry_after=600.0) == 10.0


@pytest.mark.parametrize(
    ("status", "retryable"),
    [(0, True), (429, True), (502, True), (503, True), (504, True)]
    + [(s, False) for s in (400, 401, 403, 404, 409, 412, 422, 500)],
)
def test_what_is_retried(status: int, retryable: bool) -> None:
    assert is_retryable(status) is retryable


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("3", 3.0),
        (" 1.5 ", 1.5),
        ("Wed, 21 Oct 2015 07:28:00 GMT", None),
        ("-1", None),
        (None, None),
    ],
)
def test_retry_after_header(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header) == seconds


@pytest.fixture
def double() -> Iterator[GrafanaApiDouble]:
    with running_double() as running:
        yield running


def connection_to(
    double: GrafanaApiDouble, waits: list[float], timeout: float = 5.0
) -> GrafanaConnection:
    target = resolve_target(
        {"GRAFANA_URL": double.url, "GRAFANA_TOKEN": EDITOR_TOKEN}, timeout=timeout
    )
    return GrafanaConnection(target, RetryPolicy(base_delay=1.0, max_delay=4.0), waits.append)


def test_retries_wait_per_retry_after_else_back_off(double: GrafanaApiDouble) -> None:
    waits: list[float] = []
    double.inject(Fault("status", status=429, retry_after=7, path="/api/search"))
    double.inject(Fault("status", status=503, path="/api/search", times=2))
    with connection_to(double, waits) as connection:
        assert connection.search_dashboards(MANAGED_TAG, "") == []
        assert connection.retries == 3
    assert waits[0] == 7.0  # Retry-After
    assert 0.75 * 2.0 <= waits[1] <= 1.25 * 2.0 and 0.75 * 4.0 <= waits[2] <= 1.25 * 4.0


def test_retries_give_up_after_the_last_attempt(double: GrafanaApiDouble) -> None:
    waits: list[float] = []
    double.inject(Fault("status", status=503, path="/api/search", times=10))
    with connection_to(double, waits) as connection, pytest.raises(GrafanaApiError) as error:
        connection.search_dashboards(MANAGED_TAG, "")
    assert error.value.status == 503 and len(waits) == 3
    assert (
        "answered 503 injected fault to read the dashboards tagged 'obsgen-managed' after 4 "
        in str(error.value)
    )
    assert len(double.requests) == 4


def test_search_pages_through_every_hit(
    double: GrafanaApiDouble, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("generator.deliver.grafana.connection.SEARCH_PAGE", 2)
    with connection_to(double, []) as connection:
        connection.create_folder("F", "f", "", "folder 'F'")
        for i in range(5):
            connection.save_dashboard(
                {
                    "dashboard": {"uid": f"d{i}", "title": f"D{i}", "tags": [MANAGED_TAG]},
                    "folderUid": "f",
                },
                "d",
            )
        hits = connection.search_dashboards(MANAGED_TAG, "f")
    assert sorted(h["uid"] for h in hits) == [f"d{i}" for i in range(5)]
    assert [r.query.get("page") for r in double.requests if r.path == "/api/search"] == [
        ["1"],
        ["2"],
        ["3"],
    ]


# ---- what obsgen writes into a dashboard ---------------------------------------------------


def test_managed_dashboard_carries_tag_and_the_hash_of_its_content() -> None:
    rendered = {"uid": "u", "title": "T", "tags": ["gpu", "obsgen"], "panels": [{"id": 1}]}
    managed = managed_dashboard(rendered)
    assert managed["tags"] == ["gpu", "obsgen", MANAGED_TAG]
    assert managed["obsgen"] == {
        "sha256": content_hash(managed),
        "generator": f"obsgen {__version__}",
    }
    assert is_as_written(managed) and rendered == {
        "uid": "u",
        "title": "T",
        "tags": ["gpu", "obsgen"],
        "panels": [{"id": 1}],
    }


def test_the_content_hash_ignores_what_the_server_and_the_ui_set() -> None:
    managed = managed_dashboard({"uid": "u", "title": "T", "max": 2.0, "panels": []})
    # as Grafana gives it back: id and version set, keys reordered, 2.0 encoded as 2
    remote = {"version": 7, "id": 12, "iteration": 1718000000000, **json.loads(json.dumps(managed))}
    remote["max"] = 2
    remote = dict(reversed(list(remote.items())))
    assert content_hash(remote) == content_hash(managed) and is_as_written(remote)
    remote["title"] = "Changed"
    assert not is_as_written(remote)
    del remote["obsgen"]
    assert written_hash(remote) is None and not is_as_written(remote)


# ---- folders, backups, commit message ------------------------------------------------------


def test_folder_paths_and_stable_uids() -> None:
    assert folder_levels("General") == [] and folder_levels("") == []
    levels = folder_levels(" Platform / GPU Workloads ")
    assert [(level.title, level.path) for level in levels] == [
        ("Platform", "Platform"),
        ("GPU Workloads", "Platform/GPU Workloads"),
    ]
    assert [level.uid for level in levels] == [
        folder_uid("Platform"),
        folder_uid("Platform/GPU Workloads"),
    ]
    assert folder_uid("GPU Workloads") == folder_uid("GPU Workloads") != folder_uid("GPU workloads")
    long = folder_uid("A very long folder title that goes on and on/and on")
    assert len(long) <= 40 and long.startswith("obsgen-a-very-long")
    with pytest.raises(ObsgenError, match="empty level"):
        folder_levels("A//B")
    with pytest.raises(ObsgenError, match="Grafana allows 4"):
        folder_levels("A/B/C/D/E")


def test_backups_go_into_a_new_directory_per_push(tmp_path: Path) -> None:
    now = datetime(2024, 6, 11, 10, 0, 0, tzinfo=UTC)
    first, second = Backups(tmp_path, now), Backups(tmp_path, now)
    assert first.directory is None and not any(tmp_path.iterdir())
    path = first.save("u", {"dashboard": {"uid": "u"}, "meta": {"version": 3}})
    assert path == tmp_path / "20240611T100000Z" / "u.json"
    assert json.loads(path.read_text()) == {"dashboard": {"uid": "u"}, "meta": {"version": 3}}
    assert second.save("u", {"x": 1}) == tmp_path / "20240611T100000Z-1" / "u.json"
    assert json.loads(path.read_text())["meta"]["version"] == 3  # the first copy is kept


def test_a_backup_that_cannot_be_written_is_an_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ObsgenError, match="cannot save the backup of dashboard 'u'"):
        Backups(blocker / "backups").save("u", {})


def test_commit_message(
    project_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    assert commit_message(tmp_path) == f"obsgen {__version__}"
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=project_root,
        capture_output=True,
        text=True,
        check=False,
    )
    if head.returncode != 0:
        pytest.skip("the project is not a git checkout here")
    assert commit_message(project_root) == f"obsgen {__version__} (git {head.stdout.strip()})"
    monkeypatch.setenv("PATH", str(tmp_path))  # no git at all
    assert commit_message(project_root) == f"obsgen {__version__}"
