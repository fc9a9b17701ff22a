"""The double of Grafana's HTTP API follows the documented contract, through the real
grafana-client over loopback. It is a double, not Grafana: these tests pin the behaviour the
push and diff tests rely on (status codes, bodies, version semantics, faults)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import niquests
import pytest
from grafana_client.api import GrafanaApi
from grafana_client.client import (
    GrafanaBadInputError,
    GrafanaClientError,
    GrafanaServerError,
    GrafanaTimeoutError,
    GrafanaUnauthorizedError,
)
from grafana_double import (
    ADMIN_USER,
    EDITOR_TOKEN,
    VIEWER_TOKEN,
    Fault,
    GrafanaApiDouble,
    running_double,
)


def client(double: GrafanaApiDouble, credential: Any = EDITOR_TOKEN, **options: Any) -> Any:
    parts = urlsplit(double.url)
    return GrafanaApi(
        auth=credential, host=parts.hostname, port=parts.port, protocol=parts.scheme, **options
    )


@pytest.fixture
def double() -> Iterator[GrafanaApiDouble]:
    with running_double() as running:
        yield running


def save(api: Any, uid: str, title: str = "A", folder: str = "", **extra: Any) -> Any:
    dashboard = {"uid": uid, "title": title, "panels": [], **extra.pop("fields", {})}
    if "version" in extra:
        dashboard["version"] = extra.pop("version")
    return api.dashboard.update_dashboard(
        {"dashboard": dashboard, "folderUid": folder, "message": "m", **extra}
    )


# ---- authentication ------------------------------------------------------------------------


def test_health_needs_no_credentials_and_frontend_settings_do(double: GrafanaApiDouble) -> None:
    anonymous = niquests.get(f"{double.url}/api/health", timeout=5)
    assert anonymous.status_code == 200 and anonymous.json()["database"] == "ok"
    assert client(double).health.check()["version"] == "11.6.0"  # grafana-client's connect
    with pytest.raises(GrafanaUnauthorizedError) as error:
        client(double, credential=None).health.check()
    assert error.value.response["messageId"] == "auth.unauthorized"


@pytest.mark.parametrize(
    ("credential", "message_id"),
    [
        ("glsa_unknown", "api-key.invalid"),
        (("admin", "wrong"), "basic-auth.invalid-credentials"),
        (("nobody", "x"), "basic-auth.invalid-credentials"),
    ],
    ids=["unknown-token", "wrong-password", "unknown-user"],
)
def test_bad_credentials_get_grafanas_401_bodies(
    double: GrafanaApiDouble, credential: Any, message_id: str
) -> None:
    with pytest.raises(GrafanaUnauthorizedError) as error:
        client(double, credential=credential).search.search_dashboards()
    assert error.value.status_code == 401
    assert error.value.response["messageId"] == message_id
    assert double.requests[-1].credential == ("token" if isinstance(credential, str) else "basic")


def test_malformed_basic_header_is_400(double: GrafanaApiDouble) -> None:
    answer = niquests.get(
        f"{double.url}/api/search", headers={"Authorization": "Basic %%%"}, timeout=5
    )
    assert answer.status_code == 400
    assert answer.json()["messageId"] == "basic-auth.invalid-header"


def test_basic_auth_works_and_a_viewer_token_cannot_write(double: GrafanaApiDouble) -> None:
    assert client(double, credential=ADMIN_USER).search.search_dashboards() == []
    viewer = client(double, credential=VIEWER_TOKEN)
    assert viewer.search.search_dashboards() == []  # reading is allowed
    with pytest.raises(GrafanaClientError) as error:
        save(viewer, "a")
    assert error.value.status_code == 403
    assert error.value.response == {"message": "Permission denied"}
    assert double.dashboard_uids() == set()


def test_org_id_header_is_recorded(double: GrafanaApiDouble) -> None:
    client(double, organization_id=3).search.search_dashboards()
    assert double.requests[-1].org_id == "3"


# ---- dashboards ----------------------------------------------------------------------------


def test_save_get_and_delete_a_dashboard(double: GrafanaApiDouble) -> None:
    api = client(double)
    api.folder.create_folder("Team", uid="team")
    created = save(api, "a", "My Board", "team", fields={"threshold": 2.0})
    assert created["status"] == "success" and created["version"] == 1
    assert created["url"] == "/d/a/my-board" and created["folderUid"] == "team"
    got = api.dashboard.get_dashboard("a")
    assert got["dashboard"]["uid"] == "a" and got["dashboard"]["version"] == 1
    assert isinstance(got["dashboard"]["id"], int)
    assert got["dashboard"]["threshold"] == 2 and isinstance(got["dashboard"]["threshold"], int)
    meta = got["meta"]
    assert (meta["folderUid"], meta["folderTitle"], meta["provisioned"]) == ("team", "Team", False)
    assert meta["updatedBy"] == "sa-obsgen"
    deleted = api.dashboard.delete_dashboard("a")
    assert deleted == {"title": "My Board", "message": "Dashboard My Board deleted", "uid": "a"}
    with pytest.raises(GrafanaClientError) as error:
        api.dashboard.get_dashboard("a")
    assert error.value.status_code == 404
    with pytest.raises(GrafanaClientError) as error:
        api.dashboard.delete_dashboard("a")
    assert error.value.status_code == 404


def test_root_dashboards_are_in_general(double: GrafanaApiDouble) -> None:
    api = client(double)
    save(api, "root")
    meta = api.dashboard.get_dashboard("root")["meta"]
    assert (meta["folderUid"], meta["folderTitle"]) == ("", "General")


def test_update_needs_the_current_version_unless_overwrite(double: GrafanaApiDouble) -> None:
    api = client(double)
    save(api, "a")
    with pytest.raises(GrafanaClientError) as error:
        save(api, "a", "B")  # no version: 0 != 1
    assert error.value.status_code == 412
    assert error.value.response == {
        "status": "version-mismatch",
        "message": "The dashboard has been changed by someone else",
    }
    assert save(api, "a", "B", version=1)["version"] == 2
    assert save(api, "a", "C", overwrite=True)["version"] == 3


@pytest.mark.parametrize(
    ("bump_version_on_identical", "versions"),
    [(True, [1, 2, 3]), (False, [1, 1, 2])],
    ids=["classic-storage", "unified-storage"],
)
def test_version_semantics_switch(bump_version_on_identical: bool, versions: list[int]) -> None:
    with running_double(bump_version_on_identical=bump_version_on_identical) as double:
        api = client(double)
        first = save(api, "a", "Same")["version"]
        identical = save(api, "a", "Same", version=first)["version"]
        changed = save(api, "a", "Other", version=identical)["version"]
        assert [first, identical, changed] == versions
        assert [v for v, _ in double.history("a")] == sorted(set(versions))


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"dashboard": {"uid": "a", "title": " "}}, 400, "Dashboard title cannot be empty"),
        ({"dashboard": {"uid": "a b", "title": "A"}}, 400, "uid contains illegal characters"),
        ({"dashboard": {"uid": "a" * 41, "title": "A"}}, 400, "uid too long, max 40 characters"),
        (
            {"dashboard": {"uid": "a", "title": "A"}, "message": "m" * 501},
            400,
            "message too long, max 500 characters",
        ),
        ({"dashboard": {"uid": "a", "title": "A"}, "folderUid": "nope"}, 400, "folder not found"),
        ({"dashboard": {"uid": "a", "title": "A", "id": 99}}, 404, "Dashboard not found"),
        ({"dashboard": {"title": "A"}, "isFolder": True}, 400, "Use folders endpoint"),
    ],
    ids=["empty-title", "bad-uid", "long-uid", "long-message", "no-folder", "no-id", "folder"],
)
def test_invalid_saves_are_refused(
    double: GrafanaApiDouble, body: dict[str, Any], status: int, message: str
) -> None:
    with pytest.raises(GrafanaClientError) as error:
        client(double).dashboard.update_dashboard(body)
    assert error.value.status_code == status
    assert message in str(error.value.response)


def test_titles_unique_per_folder_only_behind_the_switch() -> None:
    with running_double() as double:
        api = client(double)
        save(api, "a", "Same")
        save(api, "b", "Same")  # Grafana >= 11.3: duplicates allowed
        assert double.dashboard_uids() == {"a", "b"}
    with running_double(unique_titles_per_folder=True) as double:
        api = client(double)
        save(api, "a", "Same")
        with pytest.raises(GrafanaClientError) as error:
            save(api, "b", "Same")
        assert error.value.status_code == 412
        assert error.value.response["status"] == "name-exists"


def test_provisioned_dashboards_cannot_be_saved_or_deleted(double: GrafanaApiDouble) -> None:
    double.provision({"uid": "p", "title": "From a ConfigMap"}, external_id="p.json")
    api = client(double)
    got = api.dashboard.get_dashboard("p")
    assert got["meta"]["provisioned"] is True
    assert got["meta"]["provisionedExternalId"] == "p.json"
    with pytest.raises(GrafanaBadInputError) as error:
        save(api, "p", version=got["dashboard"]["version"])
    assert error.value.response == {"message": "Cannot save provisioned dashboard"}
    with pytest.raises(GrafanaBadInputError) as error:
        api.dashboard.delete_dashboard("p")
    assert error.value.response == {"message": "provisioned dashboard cannot be deleted"}


def test_search_filters_by_type_tags_folder_and_query(double: GrafanaApiDouble) -> None:
    api = client(double)
    api.folder.create_folder("Team", uid="team")
    save(api, "a", "Alpha", "team", fields={"tags": ["x", "y"]})
    save(api, "b", "Beta", "team", fields={"tags": ["x"]})
    save(api, "c", "Gamma", "", fields={"tags": ["x", "y"]})

    def uids(**query: Any) -> list[str]:
        return [h["uid"] for h in api.search.search_dashboards(**query)]

    assert uids() == ["team", "a", "b", "c"]  # folders first, then titles
    assert uids(type_="dash-db", tag=["x", "y"]) == ["a", "c"]  # every tag must match
    assert uids(type_="dash-db", folder_uids=["team"]) == ["a", "b"]
    assert uids(type_="dash-db", folder_uids=["general"]) == ["c"]
    assert uids(query="ET") == ["b"]
    assert uids(type_="dash-db", limit=2, page=2) == ["c"]
    hit = api.search.search_dashboards(dashboard_uids=["a"])[0]
    assert (hit["folderUid"], hit["folderTitle"], hit["tags"]) == ("team", "Team", ["x", "y"])
    assert "folderUid" not in api.search.search_dashboards(dashboard_uids=["c"])[0]
    with pytest.raises(GrafanaClientError) as error:
        api.search.search_dashboards(limit=5001)
    assert error.value.status_code == 422


# ---- folders -------------------------------------------------------------------------------


def test_nested_folders(double: GrafanaApiDouble) -> None:
    api = client(double)
    api.folder.create_folder("Platform", uid="p")
    child = api.folder.create_folder("GPU", uid="g", parent_uid="p")
    assert child["parentUid"] == "p" and child["parents"] == [{"uid": "p", "title": "Platform"}]
    assert [f["uid"] for f in api.folder.get_all_folders()] == ["p"]
    assert api.folder.get_all_folders(parent_uid="p") == [
        {"id": child["id"], "uid": "g", "title": "GPU", "parentUid": "p"}
    ]
    assert api.folder.get_folder("g")["title"] == "GPU"
    for call, status in (
        (lambda: api.folder.get_folder("missing"), 404),
        (lambda: api.folder.create_folder("Again", uid="g"), 409),
        (lambda: api.folder.create_folder("Orphan", uid="o", parent_uid="missing"), 404),
    ):
        with pytest.raises(GrafanaClientError) as error:
            call()
        assert error.value.status_code == status
    for depth in range(3, 5):
        api.folder.create_folder(
            f"L{depth}", uid=f"l{depth}", parent_uid="g" if depth == 3 else "l3"
        )
    with pytest.raises(GrafanaBadInputError):  # Grafana nests at most 4 levels
        api.folder.create_folder("L5", uid="l5", parent_uid="l4")


# ---- fault injection -----------------------------------------------------------------------


def test_injected_status_with_retry_after_then_normal_service(double: GrafanaApiDouble) -> None:
    api = client(double)
    double.inject(Fault("status", status=429, retry_after=7, path="/api/search"))
    answer = niquests.get(
        f"{double.url}/api/search", headers={"Authorization": f"Bearer {EDITOR_TOKEN}"}, timeout=5
    )
    assert answer.status_code == 429 and answer.headers["Retry-After"] == "7"
    double.inject(Fault("status", status=503, method="GET"))
    with pytest.raises(GrafanaServerError):
        api.search.search_dashboards()
    assert api.search.search_dashboards() == []  # the fault was used up
    assert [r.status for r in double.requests] == [429, 503, 200]


def test_slow_answer_times_out_but_the_request_took_effect(double: GrafanaApiDouble) -> None:
    api = client(double, timeout=0.2)
    double.inject(Fault("slow", seconds=1.0, path="/api/dashboards/db"))
    started = time.perf_counter()
    with pytest.raises(GrafanaTimeoutError):
        save(api, "a")
    assert time.perf_counter() - started < 0.9
    assert double.dashboard("a") is not None  # processed, only the answer was late


def test_reset_closes_the_connection_without_an_answer(double: GrafanaApiDouble) -> None:
    api = client(double)
    double.inject(Fault("reset", path="/api/dashboards/db"))
    with pytest.raises(niquests.exceptions.ConnectionError):
        save(api, "a")
    assert double.dashboard("a") is None
    assert double.writes()[-1].status == 0
    assert save(api, "a")["version"] == 1


def test_stopping_does_not_wait_for_a_slow_answer() -> None:
    double = GrafanaApiDouble().start()
    api = client(double, timeout=0.2)
    double.inject(Fault("slow", seconds=30))
    with pytest.raises(GrafanaTimeoutError):
        api.search.search_dashboards()
    started = time.perf_counter()
    double.stop()
    assert time.perf_counter() - started < 2
    with pytest.raises(niquests.exceptions.ConnectionError):
        niquests.get(f"http://127.0.0.1:{urlsplit(api.client.url).port}/api/health", timeout=1)


def test_the_log_counts_write_requests(double: GrafanaApiDouble) -> None:
    api = client(double)
    api.folder.create_folder("Team", uid="team")
    save(api, "a", folder="team")
    api.dashboard.get_dashboard("a")
    api.dashboard.delete_dashboard("a")
    assert [(r.method, r.path) for r in double.writes()] == [
        ("POST", "/api/folders"),
        ("POST", "/api/dashboards/db"),
        ("DELETE", "/api/dashboards/uid/a"),
    ]
    assert double.writes()[1].body["folderUid"] == "team"
