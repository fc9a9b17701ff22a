"""What a failed Grafana request means for a person: which credential, what to do, never a secret.

Each message names the operation and its subject (a dashboard by uid and title, or a folder),
the HTTP status with Grafana's own message, and the next step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from generator.deliver.grafana.target import TOKEN_ENV, GrafanaTarget

Action = Literal["connect", "read", "create-folder", "save", "delete"]

_VERBS: dict[Action, str] = {
    "connect": "connect",
    "read": "read",
    "create-folder": "create",
    "save": "save",
    "delete": "delete",
}
# What the account needs for each action: the basic role, or the fine-grained permissions.
_PERMISSIONS: dict[Action, str] = {
    "connect": "any role (Viewer) in the organisation",
    "read": "the Viewer role, or dashboards:read and folders:read",
    "create-folder": "the Editor role, or folders:create",
    "save": "the Editor role, or dashboards:create and dashboards:write on the folder",
    "delete": "the Editor role, or dashboards:delete on the folder",
}


@dataclass(frozen=True)
class Operation:
    """One request's purpose: an action and what it acts on (e.g. "dashboard 'x' (X)")."""

    action: Action
    subject: str = ""

    def describe(self) -> str:
        verb = _VERBS[self.action]
        return f"{verb} {self.subject}" if self.subject else verb


def api_message(body: Any) -> str:
    """Grafana's own message from an error body, or the body itself."""
    if isinstance(body, dict) and "message" in body:
        return str(body["message"])
    # A body that is not Grafana's JSON (an HTML page from a proxy, say): one short line.
    return " ".join(str(body or "").split())[:120]


def api_status(body: Any) -> str:
    """The machine-readable status of a 412 body ("version-mismatch", "name-exists"), or ""."""
    return str(body.get("status", "")) if isinstance(body, dict) else ""


def explain(
    target: GrafanaTarget,
    operation: Operation,
    status: int,
    body: Any,
    *,
    attempts: int = 1,
    detail: str = "",
) -> str:
    """The message for a request that failed with `status` (0: no answer at all)."""
    where = f"Grafana at {target.describe()}"
    said = api_message(body)
    code = f"{status} {said}".strip()
    if status == 0:
        return (
            f"no answer from {where} to {operation.describe()} after {attempts} attempt(s)"
            f" ({detail or 'connection failed'}): check --grafana-url / GRAFANA_URL and that "
            "Grafana is up and reachable; raise --timeout if it is only slow"
        )
    if status == 401:
        return _unauthorized(target, where, code)
    if status == 404 and operation.action == "connect":
        return (
            f"no Grafana API at {target.describe()} (404 on /api/frontend/settings): check "
            "--grafana-url / GRAFANA_URL, including a sub-path such as https://host/grafana"
        )
    if status == 403:
        org = f"organisation {target.org_id}" if target.org_id is not None else "its organisation"
        return (
            f"{where} refused to {operation.describe()} for {target.credential.describe()} "
            f"({code}): the account needs {_PERMISSIONS[operation.action]} in {org}"
        )
    if status == 412 and api_status(body) == "version-mismatch":
        return (
            f"{operation.subject} was changed in Grafana while obsgen was writing it ({code}); "
            "nothing was overwritten: run `obsgen diff` to see the change, then `obsgen push` "
            "again (--force replaces it; the remote copy is backed up first)"
        )
    if status == 412 and api_status(body) == "name-exists":
        return (
            f"{operation.subject}: the folder already holds another dashboard with this title "
            f"({code}; Grafana before 11.3 wants titles unique per folder). obsgen never takes "
            "over a dashboard with another uid: rename or move that dashboard in Grafana, or "
            "give this one another title in its module"
        )
    if status == 400 and "provisioned" in said.lower():
        return (
            f"{operation.subject} is provisioned from a file in Grafana, typically by the "
            f"kube-prometheus-stack sidecar from a ConfigMap, so the API cannot change it "
            f"({code}). Deliver each dashboard one way: delete that ConfigMap to let "
            "`obsgen push` own the dashboard, or deliver it only through Kubernetes and do "
            "not push it"
        )
    if status == 400 and said.lower() == "folder not found":
        return (
            f"{where} no longer has the folder for {operation.subject} ({code}); it was "
            "probably deleted while obsgen ran: run `obsgen push` again to recreate it"
        )
    if status == 429 or status >= 500:
        retried = f" after {attempts} attempt(s)" if attempts > 1 else ""
        advice = (
            "it is overloaded or restarting: try again later, or lower --concurrency"
            if status != 500
            else "Grafana's server log says why"
        )
        return f"{where} answered {code} to {operation.describe()}{retried}; {advice}"
    return f"{where} refused to {operation.describe()} ({code})"


def not_json(target: GrafanaTarget, operation: Operation) -> str:
    """For an answer that is not JSON: usually a URL that is not Grafana's API."""
    return (
        f"{target.describe()} answered {operation.describe()} with something that is not "
        "Grafana's JSON: is it Grafana's URL (with its sub-path, if Grafana is served under "
        "one)?"
    )


def tls_failed(target: GrafanaTarget, detail: str) -> str:
    return (
        f"TLS verification of {target.describe()} failed ({detail}): install the CA that "
        "signed Grafana's certificate, or pass --insecure to skip verification"
    )


def _unauthorized(target: GrafanaTarget, where: str, code: str) -> str:
    credential = target.credential
    if credential.kind == "token":
        fix = (
            "the token is unknown, expired or revoked, or belongs to another Grafana. "
            "Create a token for a service account with the Editor role (Administration > "
            f"Users and access > Service accounts) and set {TOKEN_ENV} or pass --token"
        )
    else:
        fix = (
            "check the user name and password, and that basic auth is enabled in Grafana "
            f"([auth.basic] enabled = true); in CI a service-account token in {TOKEN_ENV} "
            "is the better choice"
        )
    return f"{where} rejected {credential.describe()} ({code}): {fix}"
