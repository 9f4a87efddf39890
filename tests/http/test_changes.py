"""POST /api/v1/changes/{source} and GET /api/v1/changes, in-process on SQLite and
PostgreSQL: each feed's real payload signed its documented way is accepted into the
inbox and applied behind the answer; a replay changes nothing; wrong signatures, feeds
left off, bodies that are no change and bad bodies get their JSON answers."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from receiver.app import create_app
from receiver.config import Settings
from receiver.web.api.changes import SELF_VERIFIED
from receiver.web.identity import SELF_VERIFIED_FEEDS
from tests.conftest import FIXTURES, Clock
from tests.http.test_openapi import assert_valid
from tests.inbox import wait_applied

ClientFactory = Callable[[web.Application], Awaitable[TestClient[Any, Any]]]
Client = TestClient[Any, Any]
API = {"Authorization": "Bearer t0ken"}
SECRETS = {
    "changes_flux_secret": "flux-hmac-key",
    "changes_argocd_token": "argo-bearer",
    "changes_github_secret": "gh-webhook-secret",
    "changes_gitlab_token": "gl-token",
    "changes_kubernetes_token": "k8s-bearer",
}
# each feed's fixture (tests/fixtures/changes), and what the stored change says
FEEDS = {
    "flux": ("flux/helmrelease-upgrade-succeeded.json", "checkout", "6.5.4"),
    "argocd": (
        "argocd/on-sync-succeeded.json",
        "payments",
        "8f3a2c1d9b7e6f5a4c3b2a1908f7e6d5c4b3a291",
    ),
    "github": ("github/deployment_status-success.json", "payments", "v2.32.0@8f3a2c1d9b7e"),
    "gitlab": ("gitlab/deployment-success.json", "checkout", "v1.8.0@279484c0"),
    "kubernetes": ("kubernetes/deployment-rollout.json", "payments", "payments-api-7d9c8b6f5"),
    "manual": ("manual/deploy.json", "payments", "v2.32.0"),
}


def fixture(name: str) -> bytes:
    return (FIXTURES / "changes" / name).read_bytes()


def signed(source: str, body: bytes, *, secret: str | None = None) -> dict[str, str]:
    """The headers the feed sends with this body."""
    headers = {"Content-Type": "application/json"}
    if source == "flux":
        key = (secret or SECRETS["changes_flux_secret"]).encode()
        headers["X-Signature"] = "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
    elif source == "github":
        key = (secret or SECRETS["changes_github_secret"]).encode()
        headers["X-Hub-Signature-256"] = "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
        headers["X-GitHub-Event"] = "deployment_status"
        headers["X-GitHub-Delivery"] = "72d3162e-cc78-11e3-81ab-4c9367dc0958"
    elif source == "gitlab":
        headers["X-Gitlab-Token"] = secret or SECRETS["changes_gitlab_token"]
        headers["X-Gitlab-Event"] = "Deployment Hook"
    elif source == "argocd":
        headers["Authorization"] = f"Bearer {secret or SECRETS['changes_argocd_token']}"
    elif source == "kubernetes":
        headers["Authorization"] = f"Bearer {secret or SECRETS['changes_kubernetes_token']}"
    else:
        headers.update(API)
    return headers


@pytest.fixture
async def client(
    aiohttp_client: ClientFactory, make_settings: Callable[..., Settings], clock: Clock
) -> Client:
    settings = make_settings(auth_token="t0ken", **SECRETS)
    return await aiohttp_client(create_app(settings, clock=clock))


async def post(client: Client, source: str, body: bytes, headers: dict[str, str]) -> Any:
    response = await client.post(f"/api/v1/changes/{source}", data=body, headers=headers)
    assert response.content_type == "application/json", await response.text()
    return response.status, await response.json()


async def changes(client: Client, query: str = "") -> list[dict[str, Any]]:
    response = await client.get(f"/api/v1/changes{query}", headers=API)
    assert response.status == 200, await response.text()
    found: list[dict[str, Any]] = (await response.json())["changes"]
    return found


def test_the_middleware_lets_exactly_the_self_verified_feeds_through() -> None:
    assert SELF_VERIFIED == SELF_VERIFIED_FEEDS
    assert "manual" not in SELF_VERIFIED


@pytest.mark.parametrize("source", list(FEEDS))
async def test_a_signed_change_is_stored_once_and_listed(client: Client, source: str) -> None:
    name, service, version = FEEDS[source]
    body = fixture(name)
    status, answer = await post(client, source, body, signed(source, body))
    assert status == 202, answer
    entry = await wait_applied(client, answer, headers=API, state="applied")
    assert entry["kind"].startswith("change:")
    assert (entry["outcome"], entry["incident_id"]) == ("created", None)

    [change] = await changes(client)
    assert (change["source"], change["service"], change["to_version"]) == (source, service, version)

    # the same delivery again (a retry, a redelivery): accepted, and it changes nothing
    status, again = await post(client, source, body, signed(source, body))
    assert status == 202
    assert again["inbox_id"] > answer["inbox_id"]
    entry = await wait_applied(client, again, headers=API, state="applied")
    assert entry["outcome"] == "unchanged"
    assert await changes(client) == [change]


@pytest.mark.parametrize("source", sorted(SELF_VERIFIED))
async def test_a_wrong_or_missing_proof_is_401_and_stores_nothing(
    client: Client, source: str
) -> None:
    body = fixture(FEEDS[source][0])
    status, answer = await post(client, source, body, signed(source, body, secret="guess"))
    assert (status, answer["error"]) == (401, "invalid_signature")
    bare = {"Content-Type": "application/json"}
    status, answer = await post(client, source, body, bare)
    assert (status, answer["error"]) == (401, "invalid_signature")
    assert "missing" in answer["message"]
    # the API's own token is no proof for a feed
    status, _ = await post(client, source, body, {**bare, **API})
    assert status == 401
    assert await changes(client) == []


async def test_a_body_changed_after_signing_is_refused(client: Client) -> None:
    body = fixture("github/deployment_status-success.json")
    headers = signed("github", body)
    status, answer = await post(client, "github", body.replace(b"zhangsan", b"mallory"), headers)
    assert (status, answer["error"]) == (401, "invalid_signature")


async def test_manual_changes_need_the_apis_credentials(client: Client) -> None:
    body = fixture("manual/deploy.json")
    status, answer = await post(client, "manual", body, {"Content-Type": "application/json"})
    assert (status, answer["error"]) == (401, "unauthenticated")
    response = await client.get("/api/v1/changes")
    assert response.status == 401


async def test_a_feed_left_off_says_which_setting_turns_it_on(
    aiohttp_client: ClientFactory, make_settings: Callable[..., Settings], clock: Clock
) -> None:
    client = await aiohttp_client(create_app(make_settings(auth_token="t0ken"), clock=clock))
    body = fixture("flux/kustomization-reconciled.json")
    status, answer = await post(client, "flux", body, signed("flux", body))
    assert (status, answer["error"]) == (401, "not_configured")
    assert "RECEIVER_CHANGES_FLUX_SECRET" in answer["message"]


async def test_an_unknown_feed_is_404(client: Client) -> None:
    status, answer = await post(client, "jenkins", b"{}", API)
    assert (status, answer["error"]) == (404, "not_found")
    assert "flux" in answer["message"]


@pytest.mark.parametrize(
    ("source", "name", "headers"),
    [
        ("github", "github/ping.json", {"X-GitHub-Event": "ping"}),
        ("github", "github/deployment_status-in_progress.json", {}),
        ("gitlab", "gitlab/deployment-running.json", {}),
        ("gitlab", "gitlab/deployment-success.json", {"X-Gitlab-Event": "Push Hook"}),
        ("flux", "flux/kustomization-validation-failed.json", {}),
        ("kubernetes", "kubernetes/pod-backoff.json", {}),
    ],
)
async def test_deliveries_that_are_no_change_are_200_ignored(
    client: Client, source: str, name: str, headers: dict[str, str]
) -> None:
    body = fixture(name)
    status, answer = await post(client, source, body, {**signed(source, body), **headers})
    assert status == 200, answer
    assert answer["status"] == "ignored"
    assert answer["reason"]
    assert await changes(client) == []


@pytest.mark.parametrize(
    ("source", "body", "status", "error"),
    [
        ("flux", b"{not json", 400, "malformed"),
        ("flux", b"[]", 422, "invalid_change"),
        ("flux", b'{"reason": "ReconciliationSucceeded"}', 422, "invalid_change"),
        ("github", b'{"deployment_status": {"state": "success"}}', 422, "invalid_change"),
        (
            "manual",
            b'{"service": "payments", "type": "reboot", "what": "x"}',
            422,
            "invalid_change",
        ),
        ("manual", b'{"service": "payments", "type": "deploy"}', 422, "invalid_change"),
        (
            "manual",
            b'{"service": "p", "type": "deploy", "what": "x", "at": "yesterday"}',
            422,
            "invalid_change",
        ),
        (
            "manual",
            b'{"service": "p", "type": "deploy", "what": "x", "at": "0001-01-01T00:00:00+14:00"}',
            422,
            "invalid_change",
        ),
        (
            "manual",
            b'{"service": "p", "type": "deploy", "what": "x", "colour": "red"}',
            422,
            "invalid_change",
        ),
    ],
)
async def test_bad_bodies_get_a_json_4xx_and_store_nothing(
    client: Client, source: str, body: bytes, status: int, error: str
) -> None:
    got, answer = await post(client, source, body, signed(source, body))
    assert (got, answer["error"]) == (status, error), answer
    assert await changes(client) == []


async def test_a_manual_change_without_a_time_is_stamped_at_receipt(
    client: Client, clock: Clock
) -> None:
    data = {"service": "payments", "type": "config", "what": "连接池 20 → 50", "by": "王五"}
    body = json.dumps(data, ensure_ascii=False).encode()
    status, answer = await post(client, "manual", body, signed("manual", body))
    assert status == 202
    await wait_applied(client, answer, headers=API, state="applied")
    [change] = await changes(client)
    assert change["started_at"] == "2026-11-26T19:12:00Z"  # the test clock's now
    assert (change["type"], change["actor"], change["summary"]) == (
        "config",
        "王五",
        "连接池 20 → 50",
    )


async def test_hostile_text_is_stored_and_listed_as_plain_text(client: Client) -> None:
    hostile = "# 标题\n<script>alert(1)</script> {{ 7*7 }} [x](javascript:alert(1)) " + "长" * 1900
    data = {"service": "payments", "type": "deploy", "what": hostile, "at": "2026-11-26T19:00:00Z"}
    body = json.dumps(data, ensure_ascii=False).encode()
    status, answer = await post(client, "manual", body, signed("manual", body))
    assert status == 202
    await wait_applied(client, answer, headers=API, state="applied")
    [change] = await changes(client)
    assert change["summary"] == hostile.strip()


async def test_the_list_filters_by_service_and_time_newest_first(client: Client) -> None:
    for source in ("argocd", "gitlab", "kubernetes", "flux"):
        body = fixture(FEEDS[source][0])
        status, answer = await post(client, source, body, signed(source, body))
        assert status == 202
        await wait_applied(client, answer, headers=API, state="applied")
    every = await changes(client)
    assert [c["source"] for c in every] == ["flux", "gitlab", "kubernetes", "argocd"]
    payments = await changes(client, "?service=payments")
    assert [c["source"] for c in payments] == ["kubernetes", "argocd"]
    recent = await changes(client, "?since=2026-11-26T18:58:00Z")
    assert [c["source"] for c in recent] == ["flux", "gitlab"]
    assert len(await changes(client, "?limit=1")) == 1
    for query in ("?limit=0", "?limit=x", "?since=yesterday", "?since=2026-11-26T19:00:00"):
        response = await client.get(f"/api/v1/changes{query}", headers=API)
        assert response.status == 422, query
        assert (await response.json())["error"] == "invalid_query"


async def test_answers_match_the_openapi_document(client: Client) -> None:
    response = await client.get("/api/v1/openapi.json", headers=API)
    document = await response.json()
    assert_valid(document, "ManualChange", json.loads(fixture("manual/deploy.json")))
    body = fixture("manual/deploy.json")
    status, answer = await post(client, "manual", body, signed("manual", body))
    assert status == 202
    assert_valid(document, "ChangeAccepted", answer)
    await wait_applied(client, answer, headers=API, state="applied")
    response = await client.get("/api/v1/changes", headers=API)
    assert_valid(document, "ChangeList", await response.json())
    ping = fixture("github/ping.json")
    status, answer = await post(
        client, "github", ping, {**signed("github", ping), "X-GitHub-Event": "ping"}
    )
    assert_valid(document, "ChangeIgnored", answer)
    status, answer = await post(client, "flux", b"[]", signed("flux", b"[]"))
    assert_valid(document, "Error", answer)


async def test_an_address_that_keeps_guessing_signatures_is_slowed_down(client: Client) -> None:
    body = fixture("flux/kustomization-reconciled.json")
    wrong = signed("flux", body, secret="guess")
    answers = [(await post(client, "flux", body, wrong))[0] for _ in range(6)]
    assert answers == [401] * 5 + [429]
    # blocked now: even the right signature waits, as for the API's credentials
    status, answer = await post(client, "flux", body, signed("flux", body))
    assert (status, answer["error"]) == (429, "rate_limited")


async def test_deliveries_are_counted_by_feed_and_result(client: Client) -> None:
    body = fixture("gitlab/deployment-success.json")
    assert (await post(client, "gitlab", body, signed("gitlab", body)))[0] == 202
    running = fixture("gitlab/deployment-running.json")
    assert (await post(client, "gitlab", running, signed("gitlab", running)))[0] == 200
    assert (await post(client, "gitlab", body, signed("gitlab", body, secret="x")))[0] == 401
    response = await client.get("/metrics", headers=API)
    text = await response.text()
    metric = "postmortem_receiver_changes_received_total"
    assert f'{metric}{{reason="",result="accepted",source="gitlab"}} 1.0' in text
    assert f'{metric}{{reason="",result="ignored",source="gitlab"}} 1.0' in text
    assert f'{metric}{{reason="invalid_signature",result="rejected",source="gitlab"}} 1.0' in text


async def test_nul_and_lone_surrogates_in_a_feeds_names_are_stored_on_both_stores(
    client: Client,
) -> None:
    data = json.loads(fixture("kubernetes/deployment-rollout.json"))
    data["involvedObject"]["name"] = "payments\u0000api"
    data["involvedObject"]["labels"] = {"app.kubernetes.io/name": "pay\ud800ments"}
    body = json.dumps(data).encode()  # ASCII: the escapes stay escapes
    status, answer = await post(client, "kubernetes", body, signed("kubernetes", body))
    assert status == 202
    await wait_applied(client, answer, headers=API, state="applied")
    [change] = await changes(client)
    assert change["service"] == "pay\ufffdments"
    assert change["object_name"] == "payments\ufffdapi"
