"""`obsgen push`: safe, idempotent delivery through Grafana's HTTP API.

Grafana is represented by a double of its HTTP API (tests/grafana_double.py) on 127.0.0.1,
driven by the real grafana-client: no Grafana server can be installed here. Nothing in these
tests contacts anything but loopback.
"""

from __future__ import annotations

import json
import os
import pty
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import Result
from delivery_helpers import (
    BUNDLED_UIDS,
    INFERENCE_UID,
    TRAINING_UID,
    create_as_a_person,
    dashboard_module,
    dashboard_writes,
    edit_as_a_person,
    grafana_environment,
    write_module,
)
from grafana_client.api import GrafanaApi
from grafana_double import ADMIN_USER, EDITOR_TOKEN, VIEWER_TOKEN, Fault, GrafanaApiDouble
from prometheus_harness import answer, http_server

from generator import __version__
from generator.deliver.grafana.folders import folder_uid
from generator.deliver.grafana.state import MANAGED_TAG, content_hash, written_hash

FOLDER_UID = folder_uid("GPU Workloads")


@pytest.fixture
def grafana(monkeypatch: pytest.MonkeyPatch) -> Iterator[GrafanaApiDouble]:
    yield from grafana_environment(monkeypatch)


@pytest.fixture
def obsgen(
    run_cli: Callable[..., Result],
    project_root: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[..., Result]:
    """Runs `obsgen COMMAND --config <the project's obsgen.yaml> ARGS...` in a scratch
    directory, so default backups (out/backups) never land in the checkout."""
    monkeypatch.chdir(tmp_path)

    def run(command: str, *args: str | Path) -> Result:
        return run_cli(command, "--config", project_root / "obsgen.yaml", *args)

    return run


def clean_failure(result: Result) -> str:
    """The output of a run that failed cleanly: exit 1, a message, no traceback."""
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    assert "Error: " in result.output
    return result.output


def settings_file(directory: Path, grafana: str) -> Path:
    path = directory / "obsgen.yaml"
    path.write_text(f"grafana:\n{textwrap_indent(grafana)}", encoding="utf-8")
    return path


def textwrap_indent(text: str) -> str:
    return "".join(f"  {line}\n" for line in text.strip().splitlines())


# ---- the walkthrough of a new user -----------------------------------------------------------


def test_walkthrough_build_push_edit_force_delete_diff_prune(
    grafana: GrafanaApiDouble,
    obsgen: Callable[..., Result],
    tmp_path: Path,
) -> None:
    team, backups = tmp_path / "team", tmp_path / "backups"
    write_module(team, "team_a.py", dashboard_module("team-a", "Team A"))
    write_module(team, "team_b.py", dashboard_module("team-b", "Team B"))
    every_uid = BUNDLED_UIDS | {"team-a", "team-b"}

    def push(*args: str) -> Result:
        return obsgen("push", "--dashboards", team, "--backup-dir", backups, *args)

    # build, then the first push: the folder and every dashboard are created
    assert obsgen("build", "--out", tmp_path / "out", "--dashboards", team).exit_code == 0
    first = push()
    assert first.exit_code == 0, first.output
    assert f"folder 'GPU Workloads' (uid {FOLDER_UID}), created now" in first.output
    assert f"{len(every_uid)} created" in first.output
    assert grafana.dashboard_uids() == every_uid
    assert {grafana.folder_of(uid) for uid in every_uid} == {FOLDER_UID}

    # pushing again writes nothing and bumps no version
    grafana.clear_log()
    again = push()
    assert again.exit_code == 0, again.output
    assert f"{len(every_uid)} unchanged" in again.output
    assert grafana.writes() == []
    assert {grafana.history(uid)[-1][0] for uid in every_uid} == {1}

    # someone fixes a panel title in Grafana during an incident
    def retitle(dashboard: dict[str, Any]) -> None:
        dashboard["panels"][1]["title"] = "GPU busy (fixed by hand)"

    assert edit_as_a_person(grafana, "team-a", retitle) == 2
    refused = push()
    output = clean_failure(refused)
    assert re.search(
        r"refused\s+team-a \"Team A\": edited in Grafana since obsgen wrote it", output
    )
    assert "by admin" in output and "--force" in output
    assert grafana.dashboard("team-a")["panels"][1]["title"] == "GPU busy (fixed by hand)"
    assert not backups.exists()  # nothing was overwritten, so nothing needed saving

    # --force overwrites it, after saving the remote copy
    forced = push("--force")
    assert forced.exit_code == 0, forced.output
    assert re.search(r"updated\s+team-a \"Team A\": backup ", forced.output)
    [backup] = backups.glob("*/team-a.json")
    saved = json.loads(backup.read_text(encoding="utf-8"))
    assert saved["dashboard"]["panels"][1]["title"] == "GPU busy (fixed by hand)"
    assert saved["meta"]["version"] == 2
    assert grafana.dashboard("team-a")["panels"][1]["title"] == "GPU utilisation"

    # a module is deleted; a person made a dashboard of their own in the same folder
    create_as_a_person(grafana, {"uid": "hand-made", "title": "Mine"}, FOLDER_UID)
    (team / "team_b.py").unlink()
    diff = obsgen("diff", "--dashboards", team, "--exit-code")
    assert diff.exit_code == 2, diff.output
    assert re.search(r"orphaned\s+team-b \"Team B\": no module generates it any more", diff.output)
    assert "hand-made" not in diff.output

    pruned = push("--prune")
    assert pruned.exit_code == 0, pruned.output
    assert re.search(r"deleted\s+team-b \"Team B\": backup ", pruned.output)
    assert "team-b" not in grafana.dashboard_uids()
    assert "hand-made" in grafana.dashboard_uids()
    assert len(list(backups.glob("*/team-b.json"))) == 1

    grafana.clear_log()
    assert push("--prune").exit_code == 0
    assert grafana.writes() == []


# ---- upsert --------------------------------------------------------------------------------


@pytest.mark.parametrize("classic", [True, False], ids=["classic-storage", "unified-storage"])
def test_every_save_sends_uid_folder_and_message_and_a_second_push_writes_nothing(
    monkeypatch: pytest.MonkeyPatch,
    obsgen: Callable[..., Result],
    project_root: Path,
    classic: bool,
) -> None:
    monkeypatch.chdir(project_root)  # the commit message names the checkout's commit
    for double in grafana_environment(monkeypatch, bump_version_on_identical=classic):
        assert obsgen("push").exit_code == 0
        saves = [r.body for r in double.writes() if r.path == "/api/dashboards/db"]
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=project_root,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        assert {s["dashboard"]["uid"] for s in saves} == BUNDLED_UIDS
        for body in saves:
            assert body["folderUid"] == FOLDER_UID
            assert body["overwrite"] is False
            assert "id" not in body["dashboard"] and "version" not in body["dashboard"]
            assert body["message"].startswith(f"obsgen {__version__}")
            if commit:
                assert body["message"] == f"obsgen {__version__} (git {commit})"
            assert MANAGED_TAG in body["dashboard"]["tags"]
            assert written_hash(body["dashboard"]) == content_hash(body["dashboard"])
        double.clear_log()
        assert obsgen("push").exit_code == 0
        assert double.writes() == []
        assert [double.history(uid)[-1][0] for uid in sorted(BUNDLED_UIDS)] == [1] * len(
            BUNDLED_UIDS
        )


def test_commit_message_outside_a_git_checkout(
    grafana: GrafanaApiDouble,
    obsgen: Callable[..., Result],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    assert obsgen("push").exit_code == 0
    assert {r.body["message"] for r in grafana.writes() if r.path == "/api/dashboards/db"} == {
        f"obsgen {__version__}"
    }


def test_a_changed_dashboard_is_updated_with_the_version_it_was_compared_against(
    grafana: GrafanaApiDouble,
    obsgen: Callable[..., Result],
    tmp_path: Path,
) -> None:
    assert obsgen("push").exit_code == 0
    grafana.clear_log()
    config = settings_file(tmp_path, "refresh: 1m")
    result = obsgen("push", "--config", config, "--backup-dir", tmp_path / "b")
    assert result.exit_code == 0, result.output
    assert f"{len(BUNDLED_UIDS)} updated" in result.output
    saves = [r.body for r in grafana.writes() if r.path == "/api/dashboards/db"]
    assert {(s["dashboard"]["uid"], s["dashboard"]["version"]) for s in saves} == {
        (uid, 1) for uid in BUNDLED_UIDS
    }
    assert grafana.dashboard(TRAINING_UID)["refresh"] == "1m"
    assert len(list(tmp_path.glob("b/*/*.json"))) == len(BUNDLED_UIDS)  # every one backed up


def test_nested_folders_are_created_once_with_stable_uids(
    grafana: GrafanaApiDouble, obsgen: Callable[..., Result], tmp_path: Path
) -> None:
    config = settings_file(tmp_path, "folder: Platform/GPU Workloads")
    assert obsgen("push", "--config", config).exit_code == 0
    parent, child = folder_uid("Platform"), folder_uid("Platform/GPU Workloads")
    assert grafana.folders() == {parent: ("Platform", ""), child: ("GPU Workloads", parent)}
    assert grafana.folder_of(TRAINING_UID) == child
    grafana.clear_log()
    assert obsgen("push", "--config", config).exit_code == 0
    assert grafana.writes() == []


def test_an_existing_folder_with_the_configured_title_is_used(
    grafana: GrafanaApiDouble, obsgen: Callable[..., Result]
) -> None:
    person = GrafanaApi.from_url(grafana.url, credential=ADMIN_USER)
    person.folder.create_folder("GPU Workloads", uid="made-by-hand")
    assert obsgen("push").exit_code == 0
    assert list(grafana.folders()) == ["made-by-hand"]
    assert grafana.folder_of(TRAINING_UID) == "made-by-hand"


def test_dashboards_in_the_root_folder(
    grafana: GrafanaApiDouble, obsgen: Callable[..., Result], tmp_path: Path
) -> None:
    config = settings_file(tmp_path, "folder: General")
    result = obsgen("push", "--config", config)
    assert result.exit_code == 0, result.output
    assert "the root folder (General)" in result.output
    assert grafana.folders() == {}
    assert grafana.folder_of(TRAINING_UID) == ""


def test_a_build_with_errors_sends_nothing(
    grafana: GrafanaApiDouble, obsgen: Callable[..., Result], tmp_path: Path
) -> None:
    broken = dashboard_module("broken", "Broken").replace(
        'q.selector("DCGM_FI_DEV_GPU_UTIL")', '"sum(DCGM_FI_DEV_GPU_UTIL"'
    )
    write_module(tmp_path / "team", "broken.py", broken)
    for command in ("push", "diff"):
        output = clean_failure(obsgen(command, "--dashboards", tmp_path / "team"))
        assert "promql/syntax" in output
        assert "error(s) in the generated dashboards (see above); nothing was sent" in output
    assert grafana.requests == []


# ---- drift ---------------------------------------------------------------------------------


def _retitle_panel(dashboard: dict[str, Any]) -> None:
    dashboard["panels"][1]["title"] = "Edited"


def _save_in_the_ui(dashboard: dict[str, Any]) -> None:
    dashboard.pop("obsgen")  # Grafana's editor keeps only the fields it knows
    dashboard["panels"][1]["description"] = "Edited in the UI"


def _remove_managed_tag(dashboard: dict[str, Any]) -> None:
    dashboard["tags"].remove(MANAGED_TAG)


@pytest.mark.parametrize(
    "edit",
    [_retitle_panel, _save_in_the_ui, _remove_managed_tag],
    ids=["panel-title", "ui-save-drops-the-marker", "tag-removed"],
)
def test_a_dashboard_edited_in_grafana_is_not_overwritten_without_force(
    grafana: GrafanaApiDouble,
    obsgen: Callable[..., Result],
    edit: Callable[[dict[str, Any]], None],
) -> None:
    assert obsgen("push").exit_code == 0
    edit_as_a_person(grafana, TRAINING_UID, edit)
    edited = grafana.dashboard(TRAINING_UID)
    grafana.clear_log()
    output = clean_failure(obsgen("push"))
    assert f'{TRAINING_UID} "GPU Training": edited in Grafana since obsgen wrote it' in output
    assert grafana.writes() == []
    assert grafana.dashboard(TRAINING_UID) == edited


def test_a_dashboard_obsgen_did_not_write_is_drifted_and_force_takes_it_over(
    grafana: GrafanaApiDouble, obsgen: Callable[..., Result], tmp_path: Path
) -> None:
    create_as_a_person(grafana, {"uid": TRAINING_UID, "title": "Imported reference dashboard"})
    output = clean_failure(obsgen("push"))
    assert f'{TRAINING_UID} "GPU Training": exists in Grafana but obsgen did not write it' in (
        output
    )
    assert "moves from folder 'General'" in output
    forced = obsgen("push", "--force", "--backup-dir", tmp_path)
    assert forced.exit_code == 0, forced.output
    assert grafana.folder_of(TRAINING_UID) == FOLDER_UID
    [backup] = tmp_path.glob(f"*/{TRAINING_UID}.json")
    assert json.loads(backup.read_text())["dashboard"]["title"] == "Imported reference dashboard"


def test_dry_run_writes_nothing_not_even_the_folder(
    grafana: GrafanaApiDouble, obsgen: Callable[..., Result]
) -> None:
    result = obsgen("push", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "folder 'GPU Workloads' (not created yet)" in result.output
    assert re.search(rf"would create {TRAINING_UID} \"GPU Training\"", result.output)
    assert f"dry run, nothing was written: {len(BUNDLED_UIDS)} to create" in result.output
    assert grafana.writes() == []


# ---- prune ---------------------------------------------------------------------------------


def test_prune_deletes_only_managed_dashboards_in_the_managed_folder(
    grafana: GrafanaApiDouble, obsgen: Callable[..., Result], tmp_path: Path
) -> None:
    team = tmp_path / "team"
    write_module(team, "gone.py", dashboard_module("gone", "Gone"))
    write_module(team, "other.py", dashboard_module("other-folder", "Elsewhere"))
    assert obsgen("push", "--dashboards", team).exit_code == 0
    # a managed dashboard that someone moved to the root folder, and hand-made ones
    edit_as_a_person(grafana, "other-folder", lambda d: None, folder_uid="")
    create_as_a_person(grafana, {"uid": "mine", "title": "Mine", "tags": ["gpu"]}, FOLDER_UID)
    create_as_a_person(grafana, {"uid": "tagged", "title": "T", "tags": [MANAGED_TAG]})
    shutil.rmtree(team)
    write_module(team, "unrelated.py", dashboard_module("unrelated", "Unrelated"))

    kept = obsgen("push", "--dashboards", team, "--backup-dir", tmp_path / "b")
    assert kept.exit_code == 0, kept.output
    assert re.search(r"kept\s+gone \"Gone\": no module generates it any more; `obsgen push "
                     r"--prune` deletes it", kept.output)  # fmt: skip
    assert "gone" in grafana.dashboard_uids()

    grafana.clear_log()
    pruned = obsgen("push", "--dashboards", team, "--prune", "--backup-dir", tmp_path / "b")
    assert pruned.exit_code == 0, pruned.output
    assert dashboard_writes(grafana) == ["DELETE gone"]
    assert {"mine", "tagged", "other-folder"} <= grafana.dashboard_uids()


def test_prune_refuses_an_orphan_edited_in_grafana_unless_forced(
    grafana: GrafanaApiDouble, obsgen: Callable[..., Result], tmp_path: Path
) -> None:
    team = tmp_path / "team"
    write_module(team, "gone.py", dashboard_module("gone", "Gone"))
    assert obsgen("push", "--dashboards", team).exit_code == 0
    edit_as_a_person(grafana, "gone", _retitle_panel)
    (team / "gone.py").unlink()
    output = clean_failure(obsgen("push", "--dashboards", team, "--prune"))
    assert re.search(r"refused\s+gone \"Gone\": no module generates it any more; edited in "
                     r"Grafana since obsgen wrote it", output)  # fmt: skip
    assert "--prune --force" in output
    assert "gone" in grafana.dashboard_uids()
    forced = obsgen(
        "push", "--dashboards", team, "--prune", "--force", "--backup-dir", tmp_path / "b"
    )
    assert forced.exit_code == 0, forced.output
    assert "gone" not in grafana.dashboard_uids()
    assert len(list(tmp_path.glob("b/*/gone.json"))) == 1


# ---- connection and credentials ------------------------------------------------------------


def test_flags_override_the_environment_and_org_id_is_sent(
    grafana: GrafanaApiDouble, obsgen: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRAFANA_URL", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("GRAFANA_TOKEN", "glsa_stale")
    result = obsgen("push", "--grafana-url", grafana.url, "--token", EDITOR_TOKEN, "--org-id", "2")
    assert result.exit_code == 0, result.output
    assert {r.org_id for r in grafana.requests} == {"2"}
    assert {r.credential for r in grafana.requests} == {"token"}


def test_basic_auth_from_the_environment(
    grafana: GrafanaApiDouble, obsgen: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GRAFANA_TOKEN")
    monkeypatch.setenv("GRAFANA_USER", ADMIN_USER[0])
    monkeypatch.setenv("GRAFANA_PASSWORD", ADMIN_USER[1])
    assert obsgen("push").exit_code == 0
    assert {r.credential for r in grafana.requests} == {"basic"}


@pytest.mark.parametrize(
    ("environment", "flags", "expected"),
    [
        (
            {"GRAFANA_TOKEN": "glsa_wrong_secret"},
            [],
            [
                "rejected the service-account token from GRAFANA_TOKEN (401 Invalid API key)",
                "Editor role",
            ],
        ),
        (
            {"GRAFANA_TOKEN": EDITOR_TOKEN},
            ["--token", "glsa_wrong_secret"],
            ["rejected the service-account token from --token (401 Invalid API key)"],
        ),
        (
            {"GRAFANA_USER": "admin", "GRAFANA_PASSWORD": "glsa_wrong_secret"},
            [],
            [
                "rejected user 'admin' with the password from GRAFANA_USER/GRAFANA_PASSWORD "
                "(401 Invalid username or password)",
                "[auth.basic] enabled",
            ],
        ),
    ],
    ids=["token-env", "token-flag", "basic-auth"],
)
def test_401_names_the_kind_of_credential_never_the_secret(
    grafana: GrafanaApiDouble,
    obsgen: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
    environment: dict[str, str],
    flags: list[str],
    expected: list[str],
) -> None:
    monkeypatch.delenv("GRAFANA_TOKEN")
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    output = clean_failure(obsgen("push", *flags))
    for text in expected:
        assert text in output
    assert "glsa_wrong_secret" not in output
    assert grafana.writes() == []


def test_403_says_which_permission_is_needed(
    grafana: GrafanaApiDouble, obsgen: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRAFANA_TOKEN", VIEWER_TOKEN)
    output = clean_failure(obsgen("push"))
    assert (
        "refused to create folder 'GPU Workloads' for the service-account token from "
        "GRAFANA_TOKEN (403 Permission denied): the account needs the Editor role, or "
        "folders:create" in output
    )


def test_403_on_a_save_stops_the_push_and_lists_what_was_not_attempted(
    grafana: GrafanaApiDouble,
    obsgen: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    assert obsgen("push").exit_code == 0
    grafana.clear_log()
    monkeypatch.setenv("GRAFANA_TOKEN", VIEWER_TOKEN)
    config = settings_file(tmp_path, "refresh: 1m")
    output = clean_failure(obsgen("push", "--config", config, "--concurrency", "1"))
    assert "(403 Permission denied): the account needs the Editor role, or dashboards:create" in (
        output
    )
    assert f"1 failed, {len(BUNDLED_UIDS) - 1} not attempted" in output
    assert "written (0): none" in output
    assert re.search(
        rf"not written \({len(BUNDLED_UIDS)}\): .*\[failed\].*\[not attempted\]", output
    )
    assert len([r for r in grafana.requests if r.path == "/api/dashboards/db"]) == 1


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ({}, "no Grafana URL: set GRAFANA_URL"),
        ({"GRAFANA_URL": "grafana.example.com"}, "is not an http:// or https:// URL"),
        ({"GRAFANA_URL": "http://127.0.0.1:3000"}, "no Grafana credentials: set GRAFANA_TOKEN"),
        (
            {"GRAFANA_URL": "http://127.0.0.1:3000", "GRAFANA_USER": "admin"},
            "GRAFANA_PASSWORD is not set",
        ),
    ],
    ids=["no-url", "not-a-url", "no-credentials", "half-basic-auth"],
)
def test_missing_settings_are_explained(
    run_cli: Callable[..., Result],
    project_root: Path,
    monkeypatch: pytest.MonkeyPatch,
    environment: dict[str, str],
    expected: str,
) -> None:
    for name in ("GRAFANA_URL", "GRAFANA_TOKEN", "GRAFANA_USER", "GRAFANA_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    for command in ("push", "diff"):
        output = clean_failure(run_cli(command, "--config", project_root / "obsgen.yaml"))
        assert expected in output


def test_nothing_listening_is_an_error_after_retries(
    monkeypatch: pytest.MonkeyPatch, obsgen: Callable[..., Result]
) -> None:
    for double in grafana_environment(monkeypatch):
        url = double.url
    monkeypatch.setenv("GRAFANA_URL", url)  # the double has stopped: the port is closed
    output = clean_failure(obsgen("push"))
    assert f"no answer from Grafana at {url} to connect after 4 attempt(s)" in output
    assert "Connection refused" in output


@pytest.mark.parametrize("content_type", ["text/html", "application/json"])
def test_a_url_that_is_not_grafana_is_explained(
    grafana: GrafanaApiDouble,
    obsgen: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
    content_type: str,
) -> None:
    def login_page(handler: BaseHTTPRequestHandler) -> None:
        answer(handler, 200, content_type, b"<html><body>Sign in</body></html>")

    with http_server(login_page) as address:
        monkeypatch.setenv("GRAFANA_URL", f"http://{address}/")
        output = clean_failure(obsgen("push"))
    assert f"http://{address} answered connect with something that is not Grafana's JSON" in (
        output
    )


def test_a_url_without_grafanas_api_names_the_sub_path(
    grafana: GrafanaApiDouble, obsgen: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    def not_found(handler: BaseHTTPRequestHandler) -> None:
        answer(handler, 404, "text/html", b"<!DOCTYPE HTML>\n<html><body>Not found</body></html>")

    with http_server(not_found) as address:
        monkeypatch.setenv("GRAFANA_URL", f"http://{address}/")
        output = clean_failure(obsgen("push"))
    assert f"no Grafana API at http://{address} (404 on /api/frontend/settings)" in output
    assert "sub-path" in output and "<html>" not in output


def test_tls_is_verified_unless_insecure(
    monkeypatch: pytest.MonkeyPatch, obsgen: Callable[..., Result], tmp_path: Path
) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is needed to make a self-signed certificate")
    certificate, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(certificate)],
        check=True, capture_output=True,
    )  # fmt: skip
    for double in grafana_environment(monkeypatch, tls=(str(certificate), str(key))):
        output = clean_failure(obsgen("push"))
        assert "TLS verification of https://127.0.0.1" in output
        assert "self-signed certificate" in output and "--insecure" in output
        assert double.requests == []
        result = obsgen("push", "--insecure")
        assert result.exit_code == 0, result.output
        assert double.dashboard_uids() == BUNDLED_UIDS


# ---- robustness ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fault",
    [
        Fault("status", status=503, method="POST", path="/api/dashboards/db"),
        Fault("status", status=502, method="POST", path="/api/dashboards/db", times=2),
        Fault("status", status=504, method="GET", path="/api/dashboards/uid/"),
        Fault("status", status=429, retry_after=0, method="POST", path="/api/dashboards/db"),
        Fault("reset", method="GET", path="/api/dashboards/uid/"),
        Fault("reset", method="POST", path="/api/folders"),
        Fault("slow", seconds=2.0, method="GET", path="/api/search"),
    ],
    ids=["503", "502-twice", "504-on-read", "429", "reset-on-read", "reset-on-folder", "timeout"],
)
def test_transient_failures_are_retried(
    grafana: GrafanaApiDouble, obsgen: Callable[..., Result], fault: Fault
) -> None:
    grafana.inject(fault)
    times = fault.times
    result = obsgen("push", "--timeout", "0.3")
    assert result.exit_code == 0, result.output
    assert f"({times} requests retried)" in result.output
    assert grafana.dashboard_uids() == BUNDLED_UIDS
    assert [h[0] for uid in BUNDLED_UIDS for h in grafana.history(uid)] == [1] * len(BUNDLED_UIDS)


def test_a_save_that_timed_out_but_landed_is_not_written_twice(
    grafana: GrafanaApiDouble, obsgen: Callable[..., Result]
) -> None:
    grafana.inject(Fault("slow", seconds=2.0, method="POST", path="/api/dashboards/db"))
    result = obsgen("push", "--timeout", "0.3")
    assert result.exit_code == 0, result.output
    assert f"{len(BUNDLED_UIDS)} created" in result.output
    # the retry met its own first attempt (412) and found the content in place
    statuses = [r.status for r in grafana.requests if r.path == "/api/dashboards/db"]
    assert sorted(statuses) == [200] * len(BUNDLED_UIDS) + [412]
    assert [len(grafana.history(uid)) for uid in BUNDLED_UIDS] == [1] * len(BUNDLED_UIDS)


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        (Fault("status", status=500), "answered 500 injected fault to save dashboard"),
        (Fault("status", status=409), "refused to save dashboard"),
        (Fault("status", status=422), "refused to save dashboard"),
    ],
    ids=["500", "409", "422"],
)
def test_other_errors_are_not_retried(
    grafana: GrafanaApiDouble, obsgen: Callable[..., Result], fault: Fault, expected: str
) -> None:
    assert obsgen("push").exit_code == 0
    grafana.edit_dashboard(TRAINING_UID, _retitle_panel)  # a write for --force to send
    grafana.clear_log()
    fault.method, fault.path = "POST", "/api/dashboards/db"
    grafana.inject(fault)
    output = clean_failure(obsgen("push", "--force"))
    assert expected in output and TRAINING_UID in output
    assert len(grafana.writes()) == 1


def test_persistent_failure_lists_what_was_written_and_a_rerun_finishes(
    grafana: GrafanaApiDouble, obsgen: Callable[..., Result]
) -> None:
    grafana.inject(Fault("status", status=503, method="POST", path="/api/dashboards/db", times=4))
    output = clean_failure(obsgen("push", "--concurrency", "1"))
    [missing] = BUNDLED_UIDS - grafana.dashboard_uids()
    written = sorted(grafana.dashboard_uids())
    assert written == sorted(BUNDLED_UIDS - {missing})
    assert re.search(rf"failed\s+{missing} .*503 injected fault.* after 4 attempt\(s\)", output)
    assert all(re.search(rf"written \({len(written)}\): .*{uid} ", output) for uid in written)
    assert re.search(rf"not written \(1\): {missing} .*\[failed\]", output)
    assert "`obsgen push` finishes the job" in output
    grafana.clear_log()
    rerun = obsgen("push")
    assert rerun.exit_code == 0, rerun.output
    assert dashboard_writes(grafana) == [f"POST {missing}"]


def test_412_version_mismatch_when_someone_saves_during_the_push(
    grafana: GrafanaApiDouble, obsgen: Callable[..., Result], tmp_path: Path
) -> None:
    assert obsgen("push").exit_code == 0

    def someone_saves() -> None:
        grafana.edit_dashboard(TRAINING_UID, _retitle_panel)

    grafana.inject(Fault("before", method="POST", path="/api/dashboards/db", action=someone_saves))
    config = settings_file(tmp_path, "refresh: 1m")
    output = clean_failure(obsgen("push", "--config", config, "--backup-dir", tmp_path / "b"))
    assert (
        f"dashboard '{TRAINING_UID}' (GPU Training) was changed in Grafana while obsgen was "
        "writing it (412 The dashboard has been changed by someone else); nothing was "
        "overwritten: run `obsgen diff`" in output
    )
    assert grafana.dashboard(TRAINING_UID)["panels"][1]["title"] == "Edited"
    assert grafana.dashboard(INFERENCE_UID)["refresh"] == "1m"


def test_412_name_exists_is_explained_and_nothing_is_taken_over(
    monkeypatch: pytest.MonkeyPatch, obsgen: Callable[..., Result]
) -> None:
    for double in grafana_environment(monkeypatch, unique_titles_per_folder=True):
        person = GrafanaApi.from_url(double.url, credential=ADMIN_USER)
        person.folder.create_folder("GPU Workloads", uid="theirs")
        create_as_a_person(double, {"uid": "their-copy", "title": "GPU Training"}, "theirs")
        output = clean_failure(obsgen("push"))
        assert (
            f"dashboard '{TRAINING_UID}' (GPU Training): the folder already holds another "
            "dashboard with this title (412 A dashboard with the same name in the folder "
            "already exists; Grafana before 11.3" in output
        )
        assert "rename or move that dashboard in Grafana" in output
        assert double.dashboard("their-copy")["title"] == "GPU Training"
        assert TRAINING_UID not in double.dashboard_uids()


def test_400_for_a_provisioned_dashboard_says_to_deliver_it_one_way(
    grafana: GrafanaApiDouble, obsgen: Callable[..., Result]
) -> None:
    grafana.provision({"uid": TRAINING_UID, "title": "GPU Training"}, external_id="t.json")
    diff = obsgen("diff")
    assert "provisioned from a file (e.g. by the sidecar): the API cannot save it" in diff.output
    output = clean_failure(obsgen("push", "--force"))
    assert (
        f"dashboard '{TRAINING_UID}' (GPU Training) is provisioned from a file in Grafana, "
        "typically by the kube-prometheus-stack sidecar from a ConfigMap, so the API cannot "
        "change it (400 Cannot save provisioned dashboard)" in output
    )
    assert "delete that ConfigMap" in output
    assert sorted(dashboard_writes(grafana)) == sorted(f"POST {uid}" for uid in BUNDLED_UIDS)


@pytest.mark.parametrize("concurrency", [1, 3])
def test_concurrency_is_bounded(
    grafana: GrafanaApiDouble, obsgen: Callable[..., Result], tmp_path: Path, concurrency: int
) -> None:
    write_module(tmp_path / "team", "many.py", dashboard_module("many", "Many", copies=10))
    grafana.inject(Fault("slow", seconds=0.1, method="POST", path="/api/dashboards/db", times=99))
    result = obsgen("push", "--dashboards", tmp_path / "team", "--concurrency", str(concurrency))
    assert result.exit_code == 0, result.output
    assert f"{10 + len(BUNDLED_UIDS)} created" in result.output
    assert grafana.most_in_flight == concurrency


# ---- the terminal ----------------------------------------------------------------------------


def test_progress_bar_only_on_a_terminal(
    grafana: GrafanaApiDouble, obsgen: Callable[..., Result], project_root: Path, tmp_path: Path
) -> None:
    piped = obsgen("push")
    assert piped.exit_code == 0 and "reading Grafana" not in piped.output
    grafana.edit_dashboard(TRAINING_UID, _retitle_panel)
    main, replica = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "generator", "push", "--force", "--config",
         str(project_root / "obsgen.yaml"), "--backup-dir", str(tmp_path)],
        stdin=subprocess.DEVNULL, stdout=replica, stderr=replica, cwd=project_root,
    )  # fmt: skip
    os.close(replica)
    output = b""
    while True:
        try:
            chunk = os.read(main, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        output += chunk
    os.close(main)
    assert process.wait(30) == 0, output
    text = output.decode(errors="replace")
    assert "reading Grafana" in text and "writing to Grafana" in text
    assert re.search(rf"updated\s+{TRAINING_UID}", text)


def test_help_and_build_do_not_import_grafana_client(project_root: Path, tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from generator.cli import cli\n"
        "for args in (['--help'], ['push', '--help'], ['diff', '--help'],\n"
        f"             ['build', '--out', {str(tmp_path)!r}]):\n"
        "    assert CliRunner().invoke(cli, args).exit_code == 0, args\n"
        "print(sorted(m for m in sys.modules if m.startswith(('grafana_client', 'niquests'))))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script], cwd=project_root, capture_output=True, text=True, check=True
    )
    assert completed.stdout.strip() == "[]"


# ---- CI usage --------------------------------------------------------------------------------


def test_the_ci_workflow_validates_pull_requests_and_pushes_main(
    project_root: Path, run_cli: Callable[..., Result]
) -> None:
    workflow = yaml.safe_load(
        (project_root / ".github" / "workflows" / "dashboards.yml").read_text(encoding="utf-8")
    )
    jobs = workflow["jobs"]

    def commands(job: str) -> list[str]:
        return [s["run"] for s in jobs[job]["steps"] if s.get("run", "").startswith("obsgen")]

    assert "pull_request" in workflow[True]  # YAML 1.1 reads the key `on` as True
    assert jobs["validate"]["if"] == "github.event_name == 'pull_request'"
    assert "obsgen validate --format github" in commands("validate")
    assert "refs/heads/main" in jobs["push"]["if"]
    assert any(c.startswith("obsgen push") for c in commands("push"))
    for job in jobs.values():
        assert job["env"] == {
            "GRAFANA_URL": "${{ secrets.GRAFANA_URL }}",
            "GRAFANA_TOKEN": "${{ secrets.GRAFANA_TOKEN }}",
        }
    guide = (project_root / "docs" / "ci.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```sh\n(.*?)^```", guide, flags=re.MULTILINE | re.DOTALL)
    documented = [
        line.split("#")[0].strip()
        for block in blocks
        for line in block.splitlines()
        if line.startswith("obsgen ")
    ]
    lines = commands("validate") + commands("push") + documented
    assert len(lines) >= 6
    for line in lines:
        args = re.sub(r"\$\{\{.*?\}\}", "--force", line).split()[1:]
        result = run_cli(*args, "--help")  # click rejects unknown commands and options first
        assert result.exit_code == 0, (line, result.output)
