"""Which Grafana to talk to and with which credential: flags first, then the environment."""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from generator.errors import ObsgenError

URL_ENV = "GRAFANA_URL"
TOKEN_ENV = "GRAFANA_TOKEN"
USER_ENV = "GRAFANA_USER"
PASSWORD_ENV = "GRAFANA_PASSWORD"
DEFAULT_TIMEOUT = 10.0


class TargetError(ObsgenError):
    """The Grafana URL or credentials are missing or malformed."""


@dataclass(frozen=True)
class Credential:
    """A service-account token or a user and password, and where it came from."""

    kind: Literal["token", "basic"]
    source: str  # "--token", "GRAFANA_TOKEN", "GRAFANA_USER/GRAFANA_PASSWORD", "the URL"
    secret: str = field(repr=False)
    username: str = ""

    def describe(self) -> str:
        """Which kind of credential, from where; never the secret."""
        if self.kind == "token":
            return f"the service-account token from {self.source}"
        return f"user '{self.username}' with the password from {self.source}"

    def for_client(self) -> str | tuple[str, str]:
        """What grafana-client takes: a token (Bearer) or (user, password) (Basic)."""
        return self.secret if self.kind == "token" else (self.username, self.secret)


@dataclass(frozen=True)
class GrafanaTarget:
    url: str  # without user information
    credential: Credential
    org_id: int | None = None
    timeout: float = DEFAULT_TIMEOUT
    verify_tls: bool = True

    def describe(self) -> str:
        org = f" (org {self.org_id})" if self.org_id is not None else ""
        return f"{self.url}{org}"


def resolve_target(
    environment: Mapping[str, str],
    *,
    url: str | None = None,
    token: str | None = None,
    org_id: int | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    insecure: bool = False,
) -> GrafanaTarget:
    """The target from flags (`url`, `token`) over GRAFANA_URL, GRAFANA_TOKEN and
    GRAFANA_USER/GRAFANA_PASSWORD; user and password in the URL come last."""
    raw_url = url or environment.get(URL_ENV, "")
    if not raw_url:
        raise TargetError(
            f"no Grafana URL: set {URL_ENV} (for example https://grafana.example.com) "
            "or pass --grafana-url"
        )
    try:
        parts = urllib.parse.urlsplit(raw_url)
    except ValueError as exc:
        raise TargetError(
            f"Grafana URL is malformed ({exc}); check --grafana-url or {URL_ENV}"
        ) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetError(
            f"Grafana URL {_without_user(parts)!r} is not an http:// or https:// URL "
            "with a host name"
        )
    try:
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        raise TargetError(f"Grafana URL {_without_user(parts)!r} has an invalid port") from None
    credential = _credential(environment, token, parts)
    return GrafanaTarget(
        url=_without_user(parts),
        credential=credential,
        org_id=org_id,
        timeout=timeout,
        verify_tls=not insecure,
    )


def _credential(
    environment: Mapping[str, str], token: str | None, parts: urllib.parse.SplitResult
) -> Credential:
    if token:
        return Credential("token", "--token", token)
    if environment.get(TOKEN_ENV):
        return Credential("token", TOKEN_ENV, environment[TOKEN_ENV])
    user, password = environment.get(USER_ENV, ""), environment.get(PASSWORD_ENV, "")
    if user and password:
        return Credential("basic", f"{USER_ENV}/{PASSWORD_ENV}", password, user)
    if user or password:
        missing = PASSWORD_ENV if user else USER_ENV
        raise TargetError(
            f"{missing} is not set; basic auth needs both {USER_ENV} and {PASSWORD_ENV}"
        )
    if parts.username and parts.password:
        return Credential(
            "basic",
            "the URL",
            urllib.parse.unquote(parts.password),
            urllib.parse.unquote(parts.username),
        )
    raise TargetError(
        f"no Grafana credentials: set {TOKEN_ENV} to a service-account token (role Editor; "
        f"or pass --token), or set {USER_ENV} and {PASSWORD_ENV}"
    )


def _without_user(parts: urllib.parse.SplitResult) -> str:
    """The URL without user and password, so no message can show a secret."""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = f"{host}:{port}" if port else host
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))
