"""A tiny read-only client for the Prometheus HTTP API: GET only, bounded reads, timeouts.

Used by the live/ checks and by generator/runtime. Every request carries the per-request
timeout; answers are read in chunks up to a byte limit and abandoned when the request's own
deadline passes, so a slow or hostile server cannot hold a run. Credentials written into the
URL (user:password@) are sent as basic auth and never appear in messages.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import re
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from generator import __version__
from generator.checks.base import CheckContext

MAX_BODY_BYTES = 8 * 1024 * 1024  # an API answer larger than this is refused
_CONNECTION = "live/connection"  # key in CheckContext.extra
WORKERS = 4  # concurrent requests: enough to hide latency, too few to load a server
_CHUNK = 64 * 1024
_NON_EMPTY_SERIES = re.compile(rb'\s*\{\s*"status"\s*:\s*"success"\s*,\s*"data"\s*:\s*\[\s*\{')
_LOOPBACK_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost")

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")


class Unreachable(Exception):
    """Prometheus cannot be used at all: bad URL, refused, timed out, not an API, ..."""


class ApiError(Exception):
    """Prometheus answered one request with an error (e.g. bad_data for a selector)."""


def parse_url(url: str) -> urllib.parse.SplitResult:
    """The URL split into parts; Unreachable when it is not an http(s) URL with a host."""
    try:
        parts = urllib.parse.urlsplit(url.strip())
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError as exc:
        raise Unreachable(f"{redact(url)!r} is not a valid URL: {exc}") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise Unreachable(
            f"{redact(url)!r} is not an http(s) URL of a Prometheus server "
            "(e.g. http://prometheus:9090)"
        )
    return parts


def redact(url: str) -> str:
    """The URL with any password replaced by ***, for messages."""
    try:
        parts = urllib.parse.urlsplit(url)
        if parts.password is None:
            return url
        netloc = f"{parts.username}:***@{parts.netloc.rpartition('@')[2]}"
        return urllib.parse.urlunsplit(parts._replace(netloc=netloc))
    except ValueError:
        return url


class _RedirectHandler(urllib.request.HTTPRedirectHandler):
    """Follows redirects to http(s) only (urllib alone would also follow ftp://)."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: Any,
        code: int,
        msg: str,
        headers: Any,
        newurl: str,
    ) -> urllib.request.Request | None:
        if urllib.parse.urlsplit(newurl).scheme.lower() not in ("http", "https"):
            raise urllib.error.HTTPError(newurl, code, f"redirect to {newurl!r}", headers, fp)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


class PrometheusClient:
    """GET requests to one Prometheus; `get` returns the `data` of a success answer."""

    def __init__(self, url: str, timeout: float) -> None:
        parts = parse_url(url)
        self.display_url = redact(url.strip())
        self.timeout = timeout
        netloc = parts.netloc.rpartition("@")[2]
        self._base = urllib.parse.urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))
        self._headers = {"Accept": "application/json", "User-Agent": f"obsgen/{__version__}"}
        if parts.username is not None:
            user = urllib.parse.unquote(parts.username)
            password = urllib.parse.unquote(parts.password or "")
            token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
            self._headers["Authorization"] = f"Basic {token}"
        # Like Go's net/http (promtool), proxies from the environment never apply to loopback.
        proxies = urllib.request.ProxyHandler({} if _is_loopback(parts.hostname) else None)
        self._opener = urllib.request.build_opener(proxies, _RedirectHandler())

    def get(self, path: str, params: Sequence[tuple[str, str]] = ()) -> Any:
        """The `data` field of a successful answer to GET `path`.

        Unreachable when the server cannot be talked to or does not speak the API;
        ApiError when it answers this request with an error."""
        status, body, complete = self._fetch(path, params, MAX_BODY_BYTES)
        if not complete:
            raise Unreachable(f"an answer was larger than {MAX_BODY_BYTES:,} bytes")
        return _decode(status, body)

    def any_series(self, selector: str, start: float, end: float) -> bool:
        """Whether /api/v1/series finds at least one series for `selector` in [start, end].

        Reads only the start of the answer: a selector matching 100,000 series costs the
        same download as one matching a single series."""
        params = [("match[]", selector), ("start", f"{start:.3f}"), ("end", f"{end:.3f}")]
        status, body, complete = self._fetch("/api/v1/series", params, _CHUNK)
        if complete:
            data = _decode(status, body)
            return isinstance(data, list) and bool(data)
        if status == 200 and _NON_EMPTY_SERIES.match(body):
            return True
        raise Unreachable("an answer to /api/v1/series was not Prometheus API JSON")

    def _fetch(
        self, path: str, params: Sequence[tuple[str, str]], limit: int
    ) -> tuple[int, bytes, bool]:
        """(HTTP status, up to `limit` bytes of the body, whether that is the whole body)."""
        query = urllib.parse.urlencode(list(params))
        url = f"{self._base}{path}" + (f"?{query}" if query else "")
        request = urllib.request.Request(url, headers=self._headers, method="GET")
        deadline = time.monotonic() + self.timeout
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                body, complete = _read(response, deadline, limit)
                return response.status, body, complete
        except urllib.error.HTTPError as exc:
            body, complete = _read_error_body(exc, deadline)
            return exc.code, body, complete
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise Unreachable(_reason(exc)) from None
        except Exception as exc:  # http.client raises a few odd kinds (e.g. IncompleteRead)
            raise Unreachable(f"{type(exc).__name__}: {exc}") from None

    def probe(self) -> None:
        """Checks once that the URL answers like a Prometheus API (Unreachable if not)."""
        try:
            self.get("/api/v1/query", [("query", "1")])
        except ApiError as exc:
            raise Unreachable(f"it does not answer like a Prometheus API: {exc}") from None


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _read(response: Any, deadline: float, limit: int) -> tuple[bytes, bool]:
    """Up to `limit` bytes of the body and whether that is all of it; TimeoutError past
    `deadline` (each read also has the socket timeout)."""
    chunks: list[bytes] = []
    size = 0
    read = getattr(response, "read1", response.read)  # read1: whatever has arrived, no waiting
    while size <= limit and (chunk := read(min(_CHUNK, limit + 1 - size))):
        chunks.append(chunk)
        size += len(chunk)
        if time.monotonic() > deadline:
            raise TimeoutError("the answer took longer than the timeout")
    body = b"".join(chunks)
    return body[:limit], size <= limit


def _read_error_body(exc: urllib.error.HTTPError, deadline: float) -> tuple[bytes, bool]:
    """The body of an HTTP error answer (empty when it cannot be read); closes it."""
    try:
        return _read(exc, deadline, MAX_BODY_BYTES) if exc.fp is not None else (b"", True)
    except (OSError, ValueError):
        return b"", True
    finally:
        if exc.fp is not None:
            exc.fp.close()


def _decode(status: int, body: bytes) -> Any:
    try:
        answer = json.loads(body)
    except (ValueError, RecursionError):
        answer = None
    if status in (401, 403, 407):
        raise Unreachable(f"HTTP {status}: access denied (credentials go into the URL)")
    if not isinstance(answer, dict) or answer.get("status") not in ("success", "error"):
        if status == 503:
            raise Unreachable("HTTP 503: the server is not ready (still starting?)")
        raise Unreachable(f"HTTP {status} with an answer that is not Prometheus API JSON")
    if answer["status"] == "error":
        raise ApiError(f"{answer.get('errorType', 'error')}: {answer.get('error', '')}")
    return answer.get("data")


def _reason(exc: BaseException) -> str:
    reason: Any = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(reason, TimeoutError | socket.timeout):
        return "no answer within the timeout"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused (is Prometheus running and listening there?)"
    if isinstance(reason, socket.gaierror):
        return f"unknown host ({reason.strerror or reason})"
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror
    return str(reason) or type(reason).__name__


@dataclass(frozen=True)
class Outcome:
    """What a batch of requests left undone when its time ran out."""

    unanswered: int = 0


def run_bounded(
    calls: dict[K, Callable[[], T]], budget_seconds: float, workers: int = WORKERS
) -> tuple[dict[K, T | Exception], Outcome]:
    """Runs the calls on a few threads until done or `budget_seconds` pass.

    Returns each finished call's result (or the exception it raised) by key, and what was
    left undone. Calls still running at the deadline end on their own request timeout."""
    results: dict[K, T | Exception] = {}
    if not calls or budget_seconds <= 0:
        return results, Outcome(len(calls))
    deadline = time.monotonic() + budget_seconds
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="obsgen-live")
    try:
        futures: dict[Future[T], K] = {pool.submit(call): key for key, call in calls.items()}
        pending = set(futures)
        while pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            done, pending = wait(pending, timeout=remaining, return_when=FIRST_COMPLETED)
            for future in done:
                error = future.exception()
                if error is not None and not isinstance(error, Exception):
                    raise error
                results[futures[future]] = error if error is not None else future.result()
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return results, Outcome(len(calls) - len(results))


def connection(context: CheckContext) -> PrometheusClient | str:
    """The client for --prometheus, probed once per run and shared by the live checks, or
    a message saying why Prometheus cannot be used (live/series reports it, once)."""
    cached = context.extra.get(_CONNECTION)
    if cached is None:
        url = context.prometheus_url
        try:
            cached = PrometheusClient(url, context.prometheus_timeout)
        except Unreachable as exc:
            cached = f"--prometheus {exc}"
        else:
            try:
                cached.probe()
            except Unreachable as exc:
                cached = f"cannot reach Prometheus at {cached.display_url}: {exc}"
        context.extra[_CONNECTION] = cached
    return cast(PrometheusClient | str, cached)
