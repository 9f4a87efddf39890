"""POST /api/v1/changes/{source}: changes to services from Flux, Argo CD, GitHub, GitLab,
Kubernetes events or a person; GET /api/v1/changes: the recent ones.

A feed proves itself by its own documented method (receiver.changes.verify) with its own
secret, checked here on the raw body before anything is parsed; `manual` uses the API's
credentials, checked by the authentication middleware. A well-formed body that is no
change (a ping, a failed sync) is answered 200 "ignored"; a change is stored in the inbox
(202, inbox_id) and applied behind the answer, like a webhook."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from receiver.changes.common import Ignored
from receiver.changes.read import read_change
from receiver.changes.verify import bearer_ok, flux_signature_ok, github_signature_ok, token_ok
from receiver.config import Settings
from receiver.domain.changes import ChangeSource, ServiceChange
from receiver.domain.moments import accepted
from receiver.usecases.record_change import inbox_kind
from receiver.web.auth_failures import client_address
from receiver.web.body import FORM_TYPES, read_json
from receiver.web.errors import ApiError, RateLimited, invalid_input, retry_after
from receiver.web.identity import credential_of
from receiver.web.keys import AUTH_FAILURES, METRICS, SERVICE, SETTINGS
from receiver.web.params import LIMIT
from receiver.web.serialize import json_response

# each feed: the setting holding its secret, and how a request proves it knows it
Check = Callable[[Mapping[str, str], bytes, str], bool]
_FEEDS: dict[ChangeSource, tuple[str, str, Check]] = {
    ChangeSource.FLUX: (
        "changes_flux_secret",
        "X-Signature",
        lambda headers, body, secret: flux_signature_ok(
            headers.get("X-Signature", ""), body, secret
        ),
    ),
    ChangeSource.GITHUB: (
        "changes_github_secret",
        "X-Hub-Signature-256",
        lambda headers, body, secret: github_signature_ok(
            headers.get("X-Hub-Signature-256", ""), body, secret
        ),
    ),
    ChangeSource.GITLAB: (
        "changes_gitlab_token",
        "X-Gitlab-Token",
        lambda headers, _body, secret: token_ok(headers.get("X-Gitlab-Token", ""), secret),
    ),
    ChangeSource.ARGOCD: (
        "changes_argocd_token",
        "Authorization",
        lambda headers, _body, secret: bearer_ok(headers.get("Authorization", ""), secret),
    ),
    ChangeSource.KUBERNETES: (
        "changes_kubernetes_token",
        "Authorization",
        lambda headers, _body, secret: bearer_ok(headers.get("Authorization", ""), secret),
    ),
}
# the feeds whose requests carry their own proof instead of the API's credentials
SELF_VERIFIED = frozenset(source.value for source in _FEEDS)
GITLAB_EVENT = "Deployment Hook"


async def post_change(request: web.Request) -> web.Response:
    source = _source(request)
    counted = request.app[METRICS].changes
    try:
        response = await _receive(request, source)
    except ApiError as exc:
        counted.labels(source=source.value, result="rejected", reason=exc.code).inc()
        raise
    result = "accepted" if response.status == 202 else "ignored"
    counted.labels(source=source.value, result=result, reason="").inc()
    return response


async def _receive(request: web.Request, source: ChangeSource) -> web.Response:
    settings = request.app[SETTINGS]
    raw = await request.read()  # read_body has read it, within RECEIVER_MAX_BODY
    if source in _FEEDS:
        await _verify(request, source, settings, raw)
        skipped = _not_a_change_event(source, request.headers)
        if skipped is not None:
            return _ignored(skipped)
    if source is ChangeSource.MANUAL:
        text = _manual_body(request, await _manual_fields(request, settings.max_body))
    else:
        data, text = await read_json(request, settings.max_body)
        if not isinstance(data, dict):
            raise ApiError(422, "invalid_change", "the body must be a JSON object")
    change = _read(source, text)
    if isinstance(change, Ignored):
        return _ignored(change.reason)
    credential = credential_of(request) or f"feed:{source.value}"
    inbox_id = await request.app[SERVICE].accept(inbox_kind(source), text, credential)
    return json_response(
        {"status": "accepted", "inbox_id": inbox_id, "source": source.value}, status=202
    )


async def list_changes(request: web.Request) -> web.Response:
    """?service=, ?since= (ISO 8601 with a zone) and ?limit=, newest first."""
    limit = LIMIT.query(request, default=50)
    service = request.query.get("service") or None
    if service is not None and ("\x00" in service or len(service) > 200):
        raise ApiError(422, "invalid_query", "service must be a name of at most 200 characters")
    since = _since(request.query.get("since"))
    found = await request.app[SERVICE].queries.recent_changes(
        service=service, since=since, limit=limit
    )
    return json_response({"changes": [change_json(change) for change in found], "limit": limit})


def change_json(change: ServiceChange) -> dict[str, Any]:
    def moment(value: datetime | None) -> str | None:
        return value.isoformat().replace("+00:00", "Z") if value else None

    return {
        "id": change.id,
        "source": change.source.value,
        "source_id": change.source_id,
        "type": change.type.value,
        "service": change.service,
        "summary": change.summary,
        "namespace": change.namespace,
        "cluster": change.cluster,
        "object_kind": change.object_kind,
        "object_name": change.object_name,
        "from_version": change.from_version,
        "to_version": change.to_version,
        "actor": change.actor,
        "started_at": moment(change.started_at),
        "finished_at": moment(change.finished_at),
        "link": change.link,
        "labels": dict(change.labels),
    }


def _source(request: web.Request) -> ChangeSource:
    raw = request.match_info["source"]
    try:
        return ChangeSource(raw)
    except ValueError as exc:
        valid = ", ".join(source.value for source in ChangeSource)
        raise ApiError(404, "not_found", f"no change feed {raw[:40]!r}; feeds: {valid}") from exc


async def _verify(
    request: web.Request, source: ChangeSource, settings: Settings, raw: bytes
) -> None:
    """The feed's proof, else a 401; a wrong one counts against the address as wrong API
    credentials do (an address that keeps guessing gets a 429, whatever it sends)."""
    setting, header, check = _FEEDS[source]
    secret = getattr(settings, setting)
    if secret is None:
        # no request can prove a secret that is not set: unauthenticated, as every /api/
        # request without valid credentials is, and the message says what turns it on
        raise ApiError(
            401,
            "not_configured",
            f"the {source.value} change feed is off: set RECEIVER_{setting.upper()} "
            "to the secret its requests are signed with",
        )
    given = request.headers.get(header, "").strip()
    if not given:  # nothing guessed: not counted, as a request without credentials
        raise ApiError(401, "invalid_signature", f"the {header} header is missing")
    proven = check(request.headers, raw, secret.get_secret_value())
    failures, address = request.app[AUTH_FAILURES], client_address(request)
    blocked = await (failures.api_wait(address) if proven else failures.api_failed(address))
    if blocked:
        raise RateLimited(
            "too many wrong credentials from this address; "
            f"retry in {retry_after(blocked.total_seconds())}s",
            blocked.total_seconds(),
        )
    if not proven:
        raise ApiError(
            401,
            "invalid_signature",
            f"the {header} header does not prove RECEIVER_{setting.upper()}",
        )


def _not_a_change_event(source: ChangeSource, headers: Mapping[str, str]) -> str | None:
    """Why a verified delivery is no change, by the event its headers name."""
    if source is ChangeSource.GITHUB:
        event = headers.get("X-GitHub-Event", "")
        if event != "deployment_status":
            return f"GitHub event {event[:60] or '(none)'!r} is not deployment_status"
    if source is ChangeSource.GITLAB:
        event = headers.get("X-Gitlab-Event", "")
        if event != GITLAB_EVENT:
            return f"GitLab event {event[:60] or '(none)'!r} is not {GITLAB_EVENT!r}"
    return None


async def _manual_fields(request: web.Request, max_body: int) -> dict[str, Any]:
    """JSON, or a form as alert-webhook.sh posts it (empty fields are not given)."""
    if request.content_type in FORM_TYPES:
        form = await request.post()  # read_body has read and parsed it, or answered 4xx
        return {k: v for k, v in form.items() if isinstance(v, str) and v != ""}
    data, _ = await read_json(
        request, max_body, "application/json or application/x-www-form-urlencoded"
    )
    if not isinstance(data, dict):
        raise ApiError(422, "invalid_change", "the body must be a JSON object")
    return data


def _manual_body(request: web.Request, data: dict[str, Any]) -> str:
    """The fields as stored: the time of receipt when the client gave none, so that a
    replay reads (and hashes) the same change."""
    if data.get("at") in (None, ""):
        data["at"] = request.app[SERVICE].clock().isoformat()
    return json.dumps(data, ensure_ascii=False)


def _read(source: ChangeSource, text: str) -> ServiceChange | Ignored:
    try:
        return read_change(source, text)
    except ValidationError as exc:
        raise invalid_input(
            "invalid_change", f"the body is not a {source.value} change", exc
        ) from exc
    except ValueError as exc:
        what = f"the body is not a {source.value} change: {exc}"
        raise ApiError(422, "invalid_change", what) from exc


def _ignored(reason: str) -> web.Response:
    return json_response({"status": "ignored", "reason": reason}, status=200)


def _since(raw: str | None) -> datetime | None:
    if raw is None or raw == "":
        return None
    try:
        moment = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
        since = accepted(moment) if moment.tzinfo is not None else None
    except ValueError:
        since = None
    if since is None:
        raise ApiError(
            422,
            "invalid_query",
            "since must be a time with a zone, e.g. 2026-11-26T19:00:00Z",
            [{"field": "since", "message": f"got {raw[:40]!r}"}],
        )
    return since
