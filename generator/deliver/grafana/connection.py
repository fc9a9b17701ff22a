"""Requests to Grafana through grafana-client, with retries; the only module that imports it.

Each worker thread gets its own client (its own HTTP session). Every failure surfaces as a
GrafanaApiError whose message is meant for a person (see messages.py).
"""

from __future__ import annotations

import re
import threading
import time
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

import niquests
from grafana_client.api import GrafanaApi
from grafana_client.client import GrafanaException
from urllib3.exceptions import InsecureRequestWarning

from generator.deliver.grafana import messages, retry
from generator.deliver.grafana.messages import Operation
from generator.deliver.grafana.retry import RetryPolicy, is_retryable, parse_retry_after
from generator.deliver.grafana.target import GrafanaTarget
from generator.errors import ObsgenError

T = TypeVar("T")
SEARCH_PAGE = 1000


class GrafanaApiError(ObsgenError):
    """A request that failed for good; str() is the message for a person."""

    def __init__(self, message: str, status: int, body: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = body

    @property
    def api_status(self) -> str:
        return messages.api_status(self.body)

    @property
    def stops_everything(self) -> bool:
        """401/403: every further request would fail the same way."""
        return self.status in (401, 403)


class GrafanaConnection:
    """Grafana's dashboard, folder and search API, with retries; close() (or `with`) ends it."""

    def __init__(
        self,
        target: GrafanaTarget,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.target = target
        self.policy = policy or retry.DEFAULT_POLICY
        self._sleep = sleep
        self._local = threading.local()
        self._lock = threading.Lock()
        self._clients: list[Any] = []
        self.retries = 0  # requests sent again after a transient failure
        if not target.verify_tls:
            warnings.filterwarnings("ignore", category=InsecureRequestWarning)

    def __enter__(self) -> GrafanaConnection:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            clients, self._clients = self._clients, []
        for client in clients:
            client.client.s.close()

    # ---- the API obsgen uses ---------------------------------------------------------------

    def check(self) -> dict[str, Any]:
        """Grafana's build information; proves the URL and the credential work."""
        # What grafana-client's health.check() and connect() read, with the answer checked.
        settings = self._call(
            Operation("connect"), lambda api: api.client.GET("/frontend/settings")
        )
        if not isinstance(settings, dict):
            raise GrafanaApiError(messages.not_json(self.target, Operation("connect")), 0)
        info = settings.get("buildInfo")
        return info if isinstance(info, dict) else {}

    def get_dashboard(self, uid: str, subject: str) -> dict[str, Any] | None:
        """{"dashboard": ..., "meta": ...}, or None when Grafana has no dashboard `uid`."""
        found = self._maybe(
            Operation("read", subject), lambda api: api.dashboard.get_dashboard(uid)
        )
        return dict(found) if isinstance(found, dict) else None

    def save_dashboard(self, body: dict[str, Any], subject: str) -> dict[str, Any]:
        result = self._call(
            Operation("save", subject), lambda api: api.dashboard.update_dashboard(body)
        )
        return dict(result)

    def delete_dashboard(self, uid: str, subject: str) -> bool:
        """True when deleted now, False when it was already gone (e.g. a retried delete)."""
        deleted = self._maybe(
            Operation("delete", subject), lambda api: api.dashboard.delete_dashboard(uid)
        )
        return deleted is not None

    def search_dashboards(self, tag: str, folder_uid: str) -> list[dict[str, Any]]:
        """Every dashboard carrying `tag` in folder `folder_uid` ("" is the root), all pages."""
        operation = Operation("read", f"the dashboards tagged '{tag}'")
        hits: list[dict[str, Any]] = []
        page = 1
        while True:
            found = self._call(
                operation,
                lambda api, page=page: api.search.search_dashboards(  # type: ignore[misc]
                    tag=[tag],
                    type_="dash-db",
                    folder_uids=[folder_uid or "general"],
                    limit=SEARCH_PAGE,
                    page=page,
                ),
            )
            hits += [h for h in found if isinstance(h, dict)]
            if len(found) < SEARCH_PAGE:
                return hits
            page += 1

    def get_folder(self, uid: str, subject: str) -> dict[str, Any] | None:
        found = self._maybe(Operation("read", subject), lambda api: api.folder.get_folder(uid))
        return dict(found) if isinstance(found, dict) else None

    def list_folders(self, parent_uid: str, subject: str) -> list[dict[str, Any]]:
        """The folders directly under `parent_uid` ("" is the root)."""
        found = self._call(
            Operation("read", subject),
            lambda api: api.folder.get_all_folders(parent_uid=parent_uid or None),
        )
        return [f for f in found if isinstance(f, dict)]

    def create_folder(
        self, title: str, uid: str, parent_uid: str, subject: str
    ) -> dict[str, Any] | None:
        """The new folder, or None when its uid exists already (409, e.g. a retried create)."""
        operation = Operation("create-folder", subject)
        try:
            return dict(
                self._call(
                    operation,
                    lambda api: api.folder.create_folder(
                        title, uid=uid, parent_uid=parent_uid or None
                    ),
                )
            )
        except GrafanaApiError as error:
            if error.status == 409:
                return None
            raise

    # ---- plumbing --------------------------------------------------------------------------

    def _maybe(self, operation: Operation, request: Callable[[Any], Any]) -> Any:
        """The answer, or None for a 404."""
        try:
            return self._call(operation, request)
        except GrafanaApiError as error:
            if error.status == 404:
                return None
            raise

    def _call(self, operation: Operation, request: Callable[[Any], T]) -> T:
        """Runs `request(api)`, retrying transient failures with backoff."""
        api = self._api()
        attempt = 1
        while True:
            self._local.retry_after = None
            try:
                result = request(api)
                if isinstance(result, str):  # grafana-client's answer to a text/* page
                    raise GrafanaApiError(messages.not_json(self.target, operation), 0)
                return result
            except GrafanaException as exc:
                status, body, detail = int(exc.status_code or 0), exc.response, str(exc)
            except niquests.exceptions.InvalidJSONError:  # a 2xx answer that is not JSON
                raise GrafanaApiError(messages.not_json(self.target, operation), 0) from None
            except niquests.exceptions.SSLError as exc:
                detail = _short(str(exc), self.target.timeout)
                raise GrafanaApiError(messages.tls_failed(self.target, detail), 0) from None
            except niquests.exceptions.RequestException as exc:
                status, body, detail = 0, None, str(exc) or type(exc).__name__
            if not is_retryable(status) or attempt >= self.policy.attempts:
                message = messages.explain(
                    self.target,
                    operation,
                    status,
                    body,
                    attempts=attempt,
                    detail=_short(detail, self.target.timeout),
                )
                raise GrafanaApiError(message, status, body)
            retry_after = self._local.retry_after if status in (429, 503) else None
            self._sleep(self.policy.delay(attempt, retry_after))
            attempt += 1
            with self._lock:
                self.retries += 1

    def _api(self) -> Any:
        api = getattr(self._local, "api", None)
        if api is None:
            api = self._new_api()
            self._local.api = api
            with self._lock:
                self._clients.append(api)
        return api

    def _new_api(self) -> Any:
        from urllib.parse import urlsplit

        parts = urlsplit(self.target.url)
        prefix = parts.path.strip("/")
        api = GrafanaApi(
            auth=self.target.credential.for_client(),
            host=parts.hostname,
            port=parts.port,
            url_path_prefix=f"{prefix}/" if prefix else "",
            protocol=parts.scheme,
            verify=self.target.verify_tls,
            timeout=self.target.timeout,
            organization_id=self.target.org_id,
        )

        def remember_retry_after(response: Any, **_: Any) -> Any:
            self._local.retry_after = parse_retry_after(response.headers.get("Retry-After"))
            return response

        api.client.s.hooks["response"].append(remember_retry_after)
        return api


def _short(detail: str, timeout: float) -> str:
    """A transport error's gist ("Connection refused", "timed out after 10 s"), without
    urllib3's nested wrappers."""
    reasons = re.findall(r"\[(?:Errno -?\d+|SSL: \w+)\] ([^'\"()]+)", detail)
    if reasons:
        return str(reasons[-1]).strip()
    if "timed out" in detail.lower():
        return f"timed out after {timeout:g} s"
    return detail.split("(Caused by", 1)[0].strip()[:200]
