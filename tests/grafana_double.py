"""A double of Grafana's HTTP API, for the tests and the benchmark. It is not Grafana.

No Grafana server can be installed on our machines (DESIGN decision 6), so `obsgen push` and
`obsgen diff` are tested against this double: a threaded HTTP server on 127.0.0.1 (port 0) that
follows the documented API contract (../shared/reference/grafana-api-and-kubernetes.md, section
1) and is driven by the real grafana-client over a loopback socket. It implements:

- authentication: service-account tokens (Bearer) and basic auth, each with a role (Viewer,
  Editor, Admin); 401 with Grafana's bodies, 403 "Permission denied" for writes below Editor;
- GET /api/health (no auth) and GET /api/frontend/settings (what grafana-client connects to);
- dashboards: POST /api/dashboards/db (uid, folderUid, version and overwrite semantics, 412
  version-mismatch, 412 name-exists behind a switch, 400 for provisioned dashboards),
  GET /api/dashboards/uid/:uid with meta, DELETE /api/dashboards/uid/:uid,
  GET /api/search (type, tag, folderUIDs, dashboardUIDs, query, limit, page);
- folders, nested through parentUid: GET/POST /api/folders, GET /api/folders/:uid;
- version semantics: `bump_version_on_identical=True` is the classic SQL store (every save
  bumps the version), False is unified storage (only changed content does);
- fault injection (`inject`): 5xx, 429 with Retry-After, answers slower than the client's
  timeout (the request is processed, the answer comes late) and connection resets;
- a log of every request (`requests`, `writes()`), so tests can count write requests;
- optional latency added to every answer (the benchmark's stand-in for a network).

Stored dashboards are re-encoded the way Go does (integral numbers lose their `.0`), as real
Grafana returns them.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import copy
import itertools
import json
import re
import socket
import ssl
import struct
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

EDITOR_TOKEN = "glsa_double_editor_0123456789abcdef"
VIEWER_TOKEN = "glsa_double_viewer_0123456789abcdef"
ADMIN_USER = ("admin", "double-admin-password")
ROLE_RANK = {"Viewer": 0, "Editor": 1, "Admin": 2}
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MAX_FOLDER_DEPTH = 4
_UID = re.compile(r"^[A-Za-z0-9_-]*$")
_JSON = "application/json"

Json = dict[str, Any]


@dataclass
class Fault:
    """One injected failure, applied to the next `times` requests that match method and path.

    kind: "status" answers `status` (with Retry-After when `retry_after` is set) without
    processing; "slow" processes the request and answers after `seconds`; "reset" closes the
    connection with a TCP reset before processing; "before" runs `action` (e.g. a person's
    edit) and then processes the request normally."""

    kind: Literal["status", "slow", "reset", "before"]
    status: int = 503
    retry_after: int | None = None
    seconds: float = 0.0
    method: str | None = None
    path: str | None = None  # prefix of the URL path, e.g. "/api/dashboards/db"
    times: int = 1
    action: Callable[[], None] | None = None

    def matches(self, method: str, path: str) -> bool:
        return (
            self.times > 0
            and (self.method is None or self.method == method)
            and (self.path is None or path.startswith(self.path))
        )


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the double received it, and the status it answered (0: reset)."""

    method: str
    path: str
    query: dict[str, list[str]]
    credential: str  # "token", "basic" or "none"; never the secret
    org_id: str | None
    body: Any
    status: int

    @property
    def is_write(self) -> bool:
        return self.method in WRITE_METHODS


@dataclass
class _Folder:
    id: int
    uid: str
    title: str
    parent_uid: str
    created: str


@dataclass
class _Dashboard:
    id: int
    uid: str
    data: Json  # without id, uid and version
    folder_uid: str
    version: int
    created: str
    updated: str
    created_by: str
    updated_by: str
    provisioned: bool = False
    external_id: str = ""
    history: list[tuple[int, str]] = field(default_factory=list)


class _Answer:
    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        self.status = status
        self.body = body
        self.headers = headers or {}


class _Reset(Exception):
    """Close the connection without an answer."""


def go_json(value: Any) -> Any:
    """`value` as Go's encoding/json gives it back: integral floats become integers."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return int(value)
    if isinstance(value, dict):
        return {k: go_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [go_json(v) for v in value]
    return value


def slugify(title: str) -> str:
    """Grafana's slug: lower case, runs of other characters become '-'."""
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _error(code: int, message: str, **extra: Any) -> _Answer:
    return _Answer(code, {"message": message, **extra})


def _unauthorized(message: str, message_id: str) -> _Answer:
    """Grafana's 401 body (errutil's public error)."""
    body = {"extra": None, "message": message, "messageId": message_id}
    return _Answer(401, {**body, "statusCode": 401, "traceID": ""})


class GrafanaApiDouble:
    """A double of Grafana's HTTP API on 127.0.0.1; use as a context manager (stops cleanly)."""

    def __init__(
        self,
        *,
        bump_version_on_identical: bool = True,
        unique_titles_per_folder: bool = False,
        tokens: dict[str, str] | None = None,
        users: dict[str, tuple[str, str]] | None = None,
        grafana_version: str = "11.6.0",
        tls: tuple[str, str] | None = None,
        latency: float = 0.0,
    ) -> None:
        self.bump_version_on_identical = bump_version_on_identical
        self.unique_titles_per_folder = unique_titles_per_folder
        self.tokens = (
            tokens if tokens is not None else {EDITOR_TOKEN: "Editor", VIEWER_TOKEN: "Viewer"}
        )
        self.users = users if users is not None else {ADMIN_USER[0]: (ADMIN_USER[1], "Admin")}
        self.grafana_version = grafana_version
        self.tls = tls  # (certificate file, key file): serve HTTPS
        self.latency = latency  # seconds added to every answer, like a server across a network
        self.in_flight = 0
        self.most_in_flight = 0  # the most requests handled at once
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._folders: dict[str, _Folder] = {}
        self._dashboards: dict[str, _Dashboard] = {}
        self._faults: list[Fault] = []
        self._log: list[RecordedRequest] = []
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ---- life cycle ------------------------------------------------------------------------

    def start(self) -> GrafanaApiDouble:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        if self.tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*self.tls)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes answers held back by a "slow" fault
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)
        self._server = self._thread = None

    def __enter__(self) -> GrafanaApiDouble:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "the double is not running"
        scheme = "https" if self.tls is not None else "http"
        return f"{scheme}://127.0.0.1:{self._server.server_address[1]}"

    # ---- what tests arrange and inspect -----------------------------------------------------

    def inject(self, fault: Fault) -> None:
        """Applies `fault` to the next matching requests."""
        with self._lock:
            self._faults.append(fault)

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._log)

    def writes(self) -> list[RecordedRequest]:
        """Every request that asked to change something (POST, PUT, PATCH, DELETE)."""
        return [r for r in self.requests if r.is_write]

    def clear_log(self) -> None:
        with self._lock:
            self._log.clear()
            self.most_in_flight = self.in_flight

    def dashboard(self, uid: str) -> Json | None:
        """The stored dashboard as GET returns it (with id, uid, version), or None."""
        with self._lock:
            stored = self._dashboards.get(uid)
            return None if stored is None else go_json(self._model(stored))

    def dashboard_uids(self) -> set[str]:
        with self._lock:
            return set(self._dashboards)

    def folder_of(self, uid: str) -> str | None:
        with self._lock:
            stored = self._dashboards.get(uid)
            return None if stored is None else stored.folder_uid

    def history(self, uid: str) -> list[tuple[int, str]]:
        """(version, commit message) of every save of dashboard `uid`."""
        with self._lock:
            return list(self._dashboards[uid].history)

    def folders(self) -> dict[str, tuple[str, str]]:
        """uid -> (title, parentUid) of every folder."""
        with self._lock:
            return {f.uid: (f.title, f.parent_uid) for f in self._folders.values()}

    def edit_dashboard(self, uid: str, change: Callable[[Json], None], login: str = "jane") -> None:
        """Saves `change` applied to dashboard `uid` as a person in Grafana's UI would: a new
        version by `login`."""
        with self._lock:
            stored = self._dashboards[uid]
            change(stored.data)
            stored.version += 1
            stored.history.append((stored.version, "edited in the UI"))
            stored.updated, stored.updated_by = _now(), login

    def provision(self, dashboard: Json, folder_uid: str = "", external_id: str = "") -> None:
        """Stores `dashboard` as if a file provider (the sidecar) had provisioned it."""
        with self._lock:
            uid = dashboard["uid"]
            stored = self._store_new(dashboard, uid, folder_uid, "", "provisioning")
            stored.provisioned = True
            stored.external_id = external_id or f"{uid}.json"

    # ---- HTTP ------------------------------------------------------------------------------

    def handle(self, method: str, target: str, headers: dict[str, str], raw_body: bytes) -> _Answer:
        """Answers one request; raises _Reset to close the connection instead."""
        parts = urllib.parse.urlsplit(target)
        path = parts.path.rstrip("/") or "/"
        query = urllib.parse.parse_qs(parts.query)
        body: Any = None
        if raw_body:
            try:
                body = json.loads(raw_body)
            except ValueError:
                body = raw_body.decode("utf-8", "replace")
        authorization = headers.get("authorization", "")
        kind = authorization.split(" ", 1)[0].lower() if authorization else "none"
        credential = {"bearer": "token", "basic": "basic"}.get(kind, "none")
        org_id = headers.get("x-grafana-org-id")
        with self._lock:
            fault = next((f for f in self._faults if f.matches(method, path)), None)
            if fault is not None:
                fault.times -= 1
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        if fault is not None and fault.kind == "before" and fault.action is not None:
            fault.action()
        if self.latency:
            self._stopping.wait(self.latency)
        try:
            answer = self._answer(fault, method, path, query, authorization, body)
            status = answer.status
        except _Reset:
            status = 0
            raise
        finally:
            with self._lock:  # logged when processed, before a "slow" answer is sent
                self._log.append(
                    RecordedRequest(method, path, query, credential, org_id, body, status)
                )
            if fault is not None and fault.kind == "slow":
                self._stopping.wait(fault.seconds)
            with self._lock:
                self.in_flight -= 1
        return answer

    def _answer(
        self,
        fault: Fault | None,
        method: str,
        path: str,
        query: dict[str, list[str]],
        authorization: str,
        body: Any,
    ) -> _Answer:
        if fault is not None and fault.kind == "reset":
            raise _Reset
        if fault is not None and fault.kind == "status":
            extra = {} if fault.retry_after is None else {"Retry-After": str(fault.retry_after)}
            return _Answer(fault.status, {"message": "injected fault"}, extra)
        try:
            return self._route(method, path, query, authorization, body)
        except Exception as exc:  # a bug in the double: answer as a server would
            return _error(500, f"the double failed: {type(exc).__name__}: {exc}")

    def _route(
        self, method: str, path: str, query: dict[str, list[str]], authorization: str, body: Any
    ) -> _Answer:
        if path == "/api/health" and method == "GET":
            return _Answer(
                200, {"commit": "double", "database": "ok", "version": self.grafana_version}
            )
        login, role, denied = self._authenticate(authorization)
        if denied is not None:
            return denied
        if method in WRITE_METHODS and ROLE_RANK[role] < ROLE_RANK["Editor"]:
            return _error(403, "Permission denied")
        with self._lock:
            if path == "/api/frontend/settings" and method == "GET":
                return _Answer(
                    200,
                    {
                        "buildInfo": {
                            "version": self.grafana_version,
                            "commit": "double",
                            "edition": "Open Source",
                        }
                    },
                )
            if path == "/api/search" and method == "GET":
                return self._search(query)
            if path == "/api/dashboards/db" and method == "POST":
                return self._save_dashboard(body, login)
            if path.startswith("/api/dashboards/uid/"):
                uid = path.removeprefix("/api/dashboards/uid/")
                if method == "GET":
                    return self._get_dashboard(uid)
                if method == "DELETE":
                    return self._delete_dashboard(uid)
            if path == "/api/folders":
                if method == "GET":
                    return self._list_folders(query)
                if method == "POST":
                    return self._create_folder(body, login)
            if path.startswith("/api/folders/") and method == "GET":
                return self._get_folder(path.removeprefix("/api/folders/"))
        return _error(404, "Not found")

    def _authenticate(self, authorization: str) -> tuple[str, str, _Answer | None]:
        """(login, role, None), or ("", "", the 401/400 answer)."""
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer":
            role = self.tokens.get(value.strip())
            if role is None:
                return "", "", _unauthorized("Invalid API key", "api-key.invalid")
            return "sa-obsgen", role, None
        if scheme.lower() == "basic":
            try:
                login, _, password = base64.b64decode(value, validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                invalid = {
                    "message": "Invalid Basic Auth Header",
                    "messageId": "basic-auth.invalid-header",
                }
                return "", "", _Answer(400, invalid)
            known = self.users.get(login)
            if known is None or known[0] != password:
                wrong = _unauthorized(
                    "Invalid username or password", "basic-auth.invalid-credentials"
                )
                return "", "", wrong
            return login, known[1], None
        return "", "", _unauthorized("Unauthorized", "auth.unauthorized")

    # ---- dashboards ------------------------------------------------------------------------

    def _model(self, stored: _Dashboard) -> Json:
        return {**copy.deepcopy(stored.data), "id": stored.id, "uid": stored.uid,
                "version": stored.version}  # fmt: skip

    def _folder_title(self, uid: str) -> str:
        return self._folders[uid].title if uid in self._folders else "General"

    def _get_dashboard(self, uid: str) -> _Answer:
        stored = self._dashboards.get(uid)
        if stored is None:
            return _error(404, "Dashboard not found")
        slug = slugify(stored.data.get("title", ""))
        folder = self._folders.get(stored.folder_uid)
        meta = {
            "type": "db",
            "canSave": True,
            "canEdit": True,
            "canAdmin": True,
            "canStar": True,
            "canDelete": True,
            "slug": slug,
            "url": f"/d/{uid}/{slug}",
            "expires": "0001-01-01T00:00:00Z",
            "created": stored.created,
            "updated": stored.updated,
            "updatedBy": stored.updated_by,
            "createdBy": stored.created_by,
            "version": stored.version,
            "hasAcl": False,
            "isFolder": False,
            "folderId": folder.id if folder else 0,
            "folderUid": stored.folder_uid,
            "folderTitle": self._folder_title(stored.folder_uid),
            "folderUrl": f"/dashboards/f/{folder.uid}/{slugify(folder.title)}" if folder else "",
            "provisioned": stored.provisioned,
            "provisionedExternalId": stored.external_id,
            "annotationsPermissions": {},
        }
        return _Answer(200, {"dashboard": go_json(self._model(stored)), "meta": meta})

    def _save_dashboard(self, body: Any, login: str) -> _Answer:
        if not isinstance(body, dict) or not isinstance(body.get("dashboard"), dict):
            return _error(400, "bad request data")
        if body.get("isFolder"):
            return _error(400, "Use folders endpoint for saving folders.")
        dashboard: Json = body["dashboard"]
        title = str(dashboard.get("title") or "").strip()
        if not title:
            return _error(400, "Dashboard title cannot be empty", status="empty-name")
        if len(title) > 5000:
            return _error(
                400,
                "Dashboard title cannot contain more than 5 000 characters",
                status="title-too-long",
            )
        uid = str(dashboard.get("uid") or "")
        if not _UID.match(uid):
            return _error(400, "uid contains illegal characters")
        if len(uid) > 40:
            return _error(400, "uid too long, max 40 characters")
        message = str(body.get("message") or "")
        if len(message) > 500:
            return _error(400, "message too long, max 500 characters")
        folder_uid = str(body.get("folderUid") or "")
        if folder_uid and folder_uid not in self._folders:
            return _error(400, "folder not found")
        dashboard_id = int(dashboard.get("id") or 0)
        by_id = None
        if dashboard_id:
            by_id = next((d for d in self._dashboards.values() if d.id == dashboard_id), None)
            if by_id is None:
                return _error(404, "Dashboard not found", status="not-found")
        by_uid = self._dashboards.get(uid) if uid else None
        if by_id is not None and by_uid is not None and by_id is not by_uid:
            return _error(400, "A dashboard with the same uid already exists")
        existing = by_id or by_uid
        overwrite = bool(body.get("overwrite"))
        if existing is not None:
            if int(dashboard.get("version") or 0) != existing.version and not overwrite:
                return _error(
                    412, "The dashboard has been changed by someone else", status="version-mismatch"
                )
            if existing.provisioned:
                return _error(400, "Cannot save provisioned dashboard")
        if self.unique_titles_per_folder:
            same_name = next(
                (
                    d
                    for d in self._dashboards.values()
                    if d is not existing
                    and d.folder_uid == folder_uid
                    and slugify(d.data.get("title", "")) == slugify(title)
                ),
                None,
            )
            if same_name is not None:
                if not overwrite:
                    return _error(
                        412,
                        "A dashboard with the same name in the folder already exists",
                        status="name-exists",
                    )
                existing = same_name  # Grafana <= 11.2 takes the other dashboard over
        if existing is None:
            stored = self._store_new(dashboard, uid or f"d{next(self._ids):08d}", folder_uid,
                                     message, login)  # fmt: skip
        else:
            stored = existing
            data = _content(dashboard)
            changed = go_json(data) != go_json(stored.data)
            if changed or self.bump_version_on_identical:
                stored.version += 1
                stored.history.append((stored.version, message))
            stored.data = data
            stored.folder_uid = folder_uid
            stored.updated, stored.updated_by = _now(), login
        slug = slugify(title)
        return _Answer(
            200,
            {
                "id": stored.id,
                "uid": stored.uid,
                "url": f"/d/{stored.uid}/{slug}",
                "status": "success",
                "version": stored.version,
                "slug": slug,
                "folderUid": stored.folder_uid,
            },
        )

    def _store_new(
        self, dashboard: Json, uid: str, folder_uid: str, message: str, login: str
    ) -> _Dashboard:
        now = _now()
        stored = _Dashboard(
            id=next(self._ids),
            uid=uid,
            data=_content(dashboard),
            folder_uid=folder_uid,
            version=1,
            created=now,
            updated=now,
            created_by=login,
            updated_by=login,
            history=[(1, message)],
        )
        self._dashboards[uid] = stored
        return stored

    def _delete_dashboard(self, uid: str) -> _Answer:
        stored = self._dashboards.get(uid)
        if stored is None:
            return _error(404, "Dashboard not found")
        if stored.provisioned:
            return _error(400, "provisioned dashboard cannot be deleted")
        del self._dashboards[uid]
        title = stored.data.get("title", "")
        return _Answer(200, {"title": title, "message": f"Dashboard {title} deleted", "uid": uid})

    def _search(self, query: dict[str, list[str]]) -> _Answer:
        limit = int(query.get("limit", ["1000"])[0])
        if limit > 5000:
            return _error(
                422,
                "Limit is above maximum allowed (5000), use page parameter to access hits "
                "beyond limit",
            )
        page = max(1, int(query.get("page", ["1"])[0]))
        kind = query.get("type", [""])[0]
        tags = set(query.get("tag", []))
        folder_uids = {"" if f == "general" else f for f in query.get("folderUIDs", [])}
        uids = set(query.get("dashboardUIDs", []))
        text = query.get("query", [""])[0].lower()
        hits: list[Json] = []
        if kind in ("", "dash-folder"):
            for folder in self._folders.values():
                if (
                    text in folder.title.lower()
                    and not tags
                    and not uids
                    and (not folder_uids or folder.parent_uid in folder_uids)
                ):
                    hits.append(self._folder_hit(folder))
        if kind in ("", "dash-db"):
            for stored in self._dashboards.values():
                stored_tags = set(stored.data.get("tags") or [])
                if (
                    text in str(stored.data.get("title", "")).lower()
                    and tags <= stored_tags
                    and (not folder_uids or stored.folder_uid in folder_uids)
                    and (not uids or stored.uid in uids)
                ):
                    hits.append(self._dashboard_hit(stored))
        hits.sort(key=lambda h: (h["type"] != "dash-folder", h["title"].lower()))
        return _Answer(200, hits[(page - 1) * limit : page * limit])

    def _dashboard_hit(self, stored: _Dashboard) -> Json:
        slug = slugify(stored.data.get("title", ""))
        hit: Json = {
            "id": stored.id,
            "uid": stored.uid,
            "title": stored.data.get("title", ""),
            "uri": f"db/{slug}",
            "url": f"/d/{stored.uid}/{slug}",
            "slug": "",
            "type": "dash-db",
            "tags": list(stored.data.get("tags") or []),
            "isStarred": False,
            "sortMeta": 0,
        }
        folder = self._folders.get(stored.folder_uid)
        if folder is not None:  # omitted at the root
            hit.update(
                folderId=folder.id,
                folderUid=folder.uid,
                folderTitle=folder.title,
                folderUrl=f"/dashboards/f/{folder.uid}/{slugify(folder.title)}",
            )
        return hit

    def _folder_hit(self, folder: _Folder) -> Json:
        return {
            "id": folder.id,
            "uid": folder.uid,
            "title": folder.title,
            "uri": f"db/{slugify(folder.title)}",
            "url": f"/dashboards/f/{folder.uid}/{slugify(folder.title)}",
            "slug": "",
            "type": "dash-folder",
            "tags": [],
            "isStarred": False,
            "sortMeta": 0,
        }

    # ---- folders ---------------------------------------------------------------------------

    def _folder_dto(self, folder: _Folder) -> Json:
        dto: Json = {
            "id": folder.id,
            "uid": folder.uid,
            "title": folder.title,
            "url": f"/dashboards/f/{folder.uid}/{slugify(folder.title)}",
            "hasAcl": False,
            "canSave": True,
            "canEdit": True,
            "canAdmin": True,
            "canDelete": True,
            "createdBy": "admin",
            "created": folder.created,
            "updatedBy": "admin",
            "updated": folder.created,
            "version": 1,
        }
        if folder.parent_uid:
            dto["parentUid"] = folder.parent_uid
            dto["parents"] = [
                {"uid": p.uid, "title": p.title} for p in self._parents(folder.parent_uid)
            ]
        return dto

    def _parents(self, uid: str) -> list[_Folder]:
        chain: list[_Folder] = []
        while uid:
            folder = self._folders[uid]
            chain.insert(0, folder)
            uid = folder.parent_uid
        return chain

    def _get_folder(self, uid: str) -> _Answer:
        folder = self._folders.get(uid)
        if folder is None:
            return _error(404, "folder not found", status="not-found")
        return _Answer(200, self._folder_dto(folder))

    def _list_folders(self, query: dict[str, list[str]]) -> _Answer:
        parent = query.get("parentUid", [""])[0]
        limit = int(query.get("limit", ["1000"])[0])
        page = max(1, int(query.get("page", ["1"])[0]))
        children = [f for f in self._folders.values() if f.parent_uid == parent]
        children.sort(key=lambda f: f.title.lower())
        listed = []
        for folder in children[(page - 1) * limit : page * limit]:
            entry: Json = {"id": folder.id, "uid": folder.uid, "title": folder.title}
            if folder.parent_uid:
                entry["parentUid"] = folder.parent_uid
            listed.append(entry)
        return _Answer(200, listed)

    def _create_folder(self, body: Any, login: str) -> _Answer:
        if not isinstance(body, dict):
            return _error(400, "bad request data")
        title = str(body.get("title") or "").strip()
        if not title:
            return _error(400, "folder title cannot be empty")
        uid = str(body.get("uid") or "") or f"f{next(self._ids):08d}"
        if not _UID.match(uid):
            return _error(400, "uid contains illegal characters")
        if len(uid) > 40:
            return _error(400, "uid too long, max 40 characters")
        if uid in self._folders or uid in self._dashboards:
            return _error(409, "a folder/dashboard with the same uid already exists")
        parent = str(body.get("parentUid") or "")
        if parent and parent not in self._folders:
            return _error(404, "folder not found", status="not-found")
        if parent and len(self._parents(parent)) >= MAX_FOLDER_DEPTH:
            return _error(400, "folder max depth exceeded")
        if self.unique_titles_per_folder and any(
            f.parent_uid == parent and f.title == title for f in self._folders.values()
        ):
            return _error(
                409,
                "a folder or a dashboard in the general folder with the same name already exists",
            )
        folder = _Folder(next(self._ids), uid, title, parent, _now())
        self._folders[uid] = folder
        del login
        return _Answer(200, self._folder_dto(folder))


def _content(dashboard: Json) -> Json:
    """What Grafana stores of a dashboard besides its id, uid and version."""
    return {k: copy.deepcopy(v) for k, v in dashboard.items() if k not in ("id", "uid", "version")}


def _handler_for(double: GrafanaApiDouble) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as Grafana; every answer has a length

        def setup(self) -> None:
            super().setup()
            # Headers and body go out in two writes; without this, Nagle's algorithm and the
            # client's delayed ACK hold every answer back by 40 ms.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw_body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            try:
                answer = double.handle(self.command, self.path, headers, raw_body)
            except _Reset:
                # SO_LINGER 0: close() sends a TCP reset instead of a clean FIN.
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
                self.close_connection = True
                return
            payload = (json.dumps(answer.body, sort_keys=True) + "\n").encode()
            with contextlib.suppress(OSError):  # a client that timed out has gone away
                self.send_response(answer.status)
                content_type = (
                    f"{_JSON}; charset=UTF-8" if self.path.startswith("/api/health") else _JSON
                )
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextlib.contextmanager
def running_double(**options: Any) -> Iterator[GrafanaApiDouble]:
    """A started double of Grafana's HTTP API, stopped on exit whatever happens."""
    double = GrafanaApiDouble(**options)
    with double:
        yield double
