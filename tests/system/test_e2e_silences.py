"""End to end: silences as acknowledgements, reconciliation and stale marking.

The real Alertmanager binary and the real receiver on loopback, nothing mocked. The
receiver's reconciler runs every second (RECEIVER_RECONCILE_INTERVAL=1s) and trusts
Alertmanager's alert list at once (RECEIVER_ALERTMANAGER_RESTART_GRACE=0s):

- a silence created through Alertmanager's API after the alerts fired is the
  acknowledgement (事故确认), recorded once with the silence's author and comment;
- silenced alerts that resolve get no resolved webhook from Alertmanager; the receiver
  finds them gone from GET /api/v2/alerts, resolves them (`alert_gone`) and writes the
  draft;
- with Alertmanager unreachable, an incident without deliveries turns `stale`, never
  closed, and a later delivery brings it back.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.conftest import capture
from tests.inbox import applied
from tests.processes import (
    AUTH,
    LOOPBACK,
    PAYMENTS_DRAFT_NAME,
    PAYMENTS_INSTANCES,
    Service,
    alertmanager_binary,
    free_port,
    get_json,
    get_text,
    kinds,
    log_tail,
    payments_alerts,
    poll,
    post_alerts,
    rfc3339,
    start_alertmanager,
    start_receiver,
    webhook_posts,
)

pytestmark = pytest.mark.e2e

SILENCE_AUTHOR = "zhangsan"
SILENCE_COMMENT = "正在排查 payments 延迟"
RECONCILE_ENV = {
    "RECEIVER_RECONCILE_INTERVAL": "1s",
    # otherwise the alert list of an Alertmanager started < 5 minutes ago is not trusted
    "RECEIVER_ALERTMANAGER_RESTART_GRACE": "0s",
}
# every bounded wait of these tests
WAIT = 30.0
# what Alertmanager holds unresolved, as the receiver asks for it
PRESENT_QUERY = "active=true&silenced=true&inhibited=true&unprocessed=true"


@dataclass(frozen=True)
class Rig:
    receiver: Service
    alertmanager: Service
    # the base URL the receiver asks: RECEIVER_ALERTMANAGER_URL, or the webhooks' externalURL
    asked_url: str


def start_rig(request: pytest.FixtureRequest, tmp_path: Path, *, configured: bool) -> Rig:
    """A receiver that reconciles every second and an Alertmanager sending to it.

    The receiver starts first (Alertmanager's config names its URL), so with `configured`
    the receiver is told a port chosen now, and Alertmanager listens on it as well as on
    its own (--web.listen-address is repeatable). Without it the receiver learns
    Alertmanager's URL from the webhooks' externalURL (--web.external-url).
    """
    alertmanager_binary()  # skip before starting anything when Alertmanager is missing
    env = dict(RECONCILE_ENV)
    extra_args: tuple[str, ...] = ()
    configured_url = ""
    if configured:
        port = free_port()
        configured_url = f"http://{LOOPBACK}:{port}"
        env["RECEIVER_ALERTMANAGER_URL"] = configured_url
        extra_args = (f"--web.listen-address={LOOPBACK}:{port}",)
    receiver, _ = start_receiver(
        request, tmp_path, database_url=f"sqlite:///{tmp_path / 'receiver.db'}", extra_env=env
    )
    alertmanager = start_alertmanager(request, tmp_path, receiver.base_url, extra_args=extra_args)
    return Rig(receiver, alertmanager, configured_url or alertmanager.base_url)


@pytest.fixture
def configured_rig(request: pytest.FixtureRequest, tmp_path: Path) -> Rig:
    return start_rig(request, tmp_path, configured=True)


@pytest.fixture
def learning_rig(request: pytest.FixtureRequest, tmp_path: Path) -> Rig:
    return start_rig(request, tmp_path, configured=False)


# -- helpers -----------------------------------------------------------------------------


def notify_successes(alertmanager: Service) -> int:
    """Notifications Alertmanager says it delivered (its debug log)."""
    text = alertmanager.log_path.read_text(encoding="utf-8", errors="replace")
    return sum('msg="Notify success"' in line for line in text.splitlines())


def metric(text: str, name: str, labels: str) -> float | None:
    """The value of one sample of Prometheus text output, e.g. name{result="ok"}."""
    prefix = f"{name}{{{labels}}} "
    for line in text.splitlines():
        if line.startswith(prefix):
            return float(line[len(prefix) :])
    return None


async def metrics_text(http: aiohttp.ClientSession, receiver: Service) -> str:
    return await get_text(http, f"{receiver.base_url}/metrics")


async def webhook_attempts(http: aiohttp.ClientSession, alertmanager: Service) -> float:
    """Webhook notifications Alertmanager attempted (its own counter, before each send)."""
    text = await metrics_text(http, alertmanager)
    return metric(text, "alertmanager_notifications_total", 'integration="webhook"') or 0.0


async def ok_passes(http: aiohttp.ClientSession, receiver: Service) -> float:
    """Reconcile passes that reached Alertmanager so far (the receiver's own counter)."""
    text = await metrics_text(http, receiver)
    return metric(text, "postmortem_receiver_reconcile_runs_total", 'result="ok"') or 0.0


async def wait_for_ok_passes(http: aiohttp.ClientSession, receiver: Service, count: float) -> None:
    async def reached() -> float | None:
        passes = await ok_passes(http, receiver)
        return passes if passes >= count else None

    await poll(f"{count:g} reconcile passes", reached, WAIT)


def silencer_asked_after_resolved_flush(log: str) -> bool:
    """Alertmanager (debug log) flushed the group with every alert resolved, then asked the
    silencer about each of the three: the moment a resolved notification would be sent."""
    lines = log.splitlines()
    for index, line in enumerate(lines):
        if "msg=flushing" in line and "[active]" not in line and "[resolved]" in line:
            after = lines[index + 1 :]
            return sum("determined current silences state" in later for later in after) >= 3
    return False


async def wait_for_resolved_flush(alertmanager: Service) -> None:
    async def flushed() -> bool | None:
        log = alertmanager.log_path.read_text(encoding="utf-8", errors="replace")
        return True if silencer_asked_after_resolved_flush(log) else None

    await poll("Alertmanager's flush of the resolved alerts", flushed, WAIT)


async def fire_and_wait(http: aiohttp.ClientSession, rig: Rig, started: datetime) -> dict[str, Any]:
    """Post the three payments alerts to Alertmanager; the incident with 3 firing alerts."""
    api = f"{rig.receiver.base_url}/api/v1"
    await post_alerts(
        http, rig.alertmanager, payments_alerts(started, started + timedelta(hours=1))
    )

    async def one_incident_three_firing() -> dict[str, Any] | None:
        listing = await get_json(http, f"{api}/incidents")
        if listing["total"] != 1:
            return None
        first_id = listing["incidents"][0]["id"]
        detail: dict[str, Any] = await get_json(http, f"{api}/incidents/{first_id}")
        firing = [alert for alert in detail["alerts"] if alert["status"] == "firing"]
        return detail if len(firing) == 3 else None

    detail = await poll("one incident with 3 firing alerts", one_incident_three_firing, WAIT)
    assert detail["status"] == "firing"
    assert sorted(alert["labels"]["instance"] for alert in detail["alerts"]) == list(
        PAYMENTS_INSTANCES
    )
    return detail


async def create_silence(http: aiohttp.ClientSession, alertmanager: Service) -> str:
    """Silence the payments HighLatencyP99 alerts for an hour, as on-call would."""
    now = datetime.now(UTC)
    body = {
        "matchers": [
            {"name": "alertname", "value": "HighLatencyP99", "isRegex": False, "isEqual": True},
            {"name": "service", "value": "payments", "isRegex": False, "isEqual": True},
        ],
        "startsAt": rfc3339(now),
        "endsAt": rfc3339(now + timedelta(hours=1)),
        "createdBy": SILENCE_AUTHOR,
        "comment": SILENCE_COMMENT,
    }
    url = f"{alertmanager.base_url}/api/v2/silences"
    async with http.post(url, json=body) as response:
        text = await response.text()
        assert response.status == 200, f"POST {url}: {response.status} {text}"
    silence_id = json.loads(text)["silenceID"]
    assert isinstance(silence_id, str)
    assert silence_id
    return silence_id


async def wait_for_ack(
    http: aiohttp.ClientSession, receiver: Service, incident_id: int
) -> dict[str, Any]:
    url = f"{receiver.base_url}/api/v1/incidents/{incident_id}"

    async def acked() -> dict[str, Any] | None:
        detail: dict[str, Any] = await get_json(http, url)
        return detail if kinds(detail, "ack") else None

    return await poll("the silence's 事故确认 (ack) row", acked, WAIT)


def assert_one_ack(detail: dict[str, Any], silence_id: str) -> None:
    acks = kinds(detail, "ack")
    assert len(acks) == 1, acks
    ack = acks[0]
    assert ack["actor"] == SILENCE_AUTHOR
    assert ack["note"] == SILENCE_COMMENT
    assert ack["source"] == "silence"
    assert ack["phase"] == "detect"
    assert ack["subject"] == silence_id


async def am_alerts(http: aiohttp.ClientSession, alertmanager: Service, query: str) -> Any:
    async with http.get(f"{alertmanager.base_url}/api/v2/alerts?{query}") as response:
        assert response.status == 200, await response.text()
        return await response.json()


# -- the tests ---------------------------------------------------------------------------


async def test_silence_after_firing_is_the_acknowledgement(
    http: aiohttp.ClientSession, configured_rig: Rig
) -> None:
    rig = configured_rig
    # the URL the receiver was told is Alertmanager too (its second listen address)
    async with http.get(f"{rig.asked_url}/-/ready") as response:
        assert response.status == 200

    started = datetime.now(UTC).replace(microsecond=0)
    detail = await fire_and_wait(http, rig, started)
    incident_id = detail["id"]
    assert kinds(detail, "ack") == []

    silence_id = await create_silence(http, rig.alertmanager)
    detail = await wait_for_ack(http, rig.receiver, incident_id)
    assert_one_ack(detail, silence_id)

    # three more passes see the same silence: still one row. The passes are counted, so
    # the check waits for them however slow the machine is.
    seen = await ok_passes(http, rig.receiver)
    await wait_for_ok_passes(http, rig.receiver, seen + 3)
    detail = await get_json(http, f"{rig.receiver.base_url}/api/v1/incidents/{incident_id}")
    assert_one_ack(detail, silence_id)
    # silenced alerts are still present in Alertmanager: nothing was reconciled away
    assert detail["status"] == "firing"
    assert [alert["status"] for alert in detail["alerts"]] == ["firing"] * 3
    assert kinds(detail, "alert_gone") == []
    metrics = await metrics_text(http, rig.receiver)
    unreachable = metric(
        metrics, "postmortem_receiver_reconcile_runs_total", 'result="unreachable"'
    )
    assert not unreachable, metrics


async def test_silenced_alerts_resolve_without_webhook_and_reconcile_into_a_draft(
    http: aiohttp.ClientSession, learning_rig: Rig, tmp_path: Path
) -> None:
    rig = learning_rig
    api = f"{rig.receiver.base_url}/api/v1"
    started = datetime.now(UTC).replace(microsecond=0)
    detail = await fire_and_wait(http, rig, started)
    incident_id = detail["id"]

    silence_id = await create_silence(http, rig.alertmanager)
    # learned from the webhook's externalURL: no RECEIVER_ALERTMANAGER_URL is set
    assert_one_ack(await wait_for_ack(http, rig.receiver, incident_id), silence_id)

    posts_before = webhook_posts(rig.receiver)
    notified_before = notify_successes(rig.alertmanager)
    attempts_before = await webhook_attempts(http, rig.alertmanager)
    assert attempts_before >= 1, "the firing webhook was counted"
    assert len(posts_before) >= 1, "the firing webhook reached the receiver"

    # resolve in Alertmanager: an endsAt of now, startsAt unchanged
    await post_alerts(http, rig.alertmanager, payments_alerts(started, datetime.now(UTC)))
    present_after_resolve = await am_alerts(http, rig.alertmanager, PRESENT_QUERY)
    every_after_resolve = await am_alerts(http, rig.alertmanager, "")
    print(f"\nGET /api/v2/alerts?{PRESENT_QUERY} right after the resolve:")
    print(json.dumps(present_after_resolve, indent=2, ensure_ascii=False))
    print("GET /api/v2/alerts (default filters) right after the resolve:")
    print(json.dumps(every_after_resolve, indent=2, ensure_ascii=False))

    async def drafted() -> dict[str, Any] | None:
        found: dict[str, Any] = await get_json(http, f"{api}/incidents/{incident_id}")
        return found if found["status"] == "drafted" else None

    try:
        detail = await poll("the incident to recover through reconciliation", drafted, WAIT)
    except pytest.fail.Exception:
        still = await am_alerts(http, rig.alertmanager, PRESENT_QUERY)
        pytest.fail(
            "no recovery by reconciliation; Alertmanager's "
            f"GET /api/v2/alerts?{PRESENT_QUERY} now returns:\n"
            f"{json.dumps(still, indent=2, ensure_ascii=False)}"
        )

    # Alertmanager flushes the resolved alerts and asks its silencer about each; a resolved
    # notification would be attempted right then, and counted before it is sent
    await wait_for_resolved_flush(rig.alertmanager)
    assert await webhook_attempts(http, rig.alertmanager) == attempts_before
    posts_after = webhook_posts(rig.receiver)
    assert len(posts_after) == len(posts_before), (
        f"Alertmanager sent a webhook for the silenced resolve: {posts_after[len(posts_before) :]}"
    )
    assert notify_successes(rig.alertmanager) == notified_before, log_tail(
        rig.alertmanager.log_path
    )

    detail = await get_json(http, f"{api}/incidents/{incident_id}")
    assert detail["status"] == "drafted"
    assert [alert["status"] for alert in detail["alerts"]] == ["resolved"] * 3
    assert all(alert["ends_at"] for alert in detail["alerts"])
    gone = kinds(detail, "alert_gone")
    assert len(gone) == 3, detail["timeline"]
    assert {row["source"] for row in gone} == {"reconcile"}
    assert {row["phase"] for row in gone} == {"recover"}
    assert sorted(row["subject"] for row in gone) == list(PAYMENTS_INSTANCES)
    assert kinds(detail, "alert_resolved") == [], "no resolve came by webhook"
    all_resolved = kinds(detail, "all_resolved")
    assert len(all_resolved) == 1
    assert all_resolved[0]["phase"] == "recover"
    assert_one_ack(detail, silence_id)
    listing = await get_json(http, f"{api}/incidents")
    assert listing["total"] == 1

    assert [draft["revision"] for draft in detail["drafts"]] == [1]
    file_name = detail["drafts"][0]["file_name"]
    assert PAYMENTS_DRAFT_NAME.match(file_name), file_name
    draft_path = tmp_path / "drafts" / file_name

    async def draft_file() -> str | None:
        return draft_path.read_text(encoding="utf-8") if draft_path.exists() else None

    content = await poll(f"draft file {draft_path}", draft_file, 5)
    assert content == await get_text(http, f"{api}/incidents/{incident_id}/postmortem.md")
    ack_rows = [line for line in content.splitlines() if "| 事故确认 |" in line]
    assert len(ack_rows) == 1, content
    assert f"| {SILENCE_AUTHOR} |" in ack_rows[0]
    assert SILENCE_COMMENT in ack_rows[0]
    # one row per reconciliation pass that found alerts gone, naming each instance once
    gone_rows = [line for line in content.splitlines() if "| 告警恢复（对账） |" in line]
    assert 1 <= len(gone_rows) <= 3, content
    for instance in PAYMENTS_INSTANCES:
        assert sum(instance in row for row in gone_rows) == 1, (instance, gone_rows)
    assert all("未收到恢复通知（对账发现）" in row for row in gone_rows), gone_rows
    assert "（最后告警 endsAt" not in content


async def test_unreachable_alertmanager_marks_a_silent_incident_stale(
    request: pytest.FixtureRequest, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    nothing_listens = f"http://{LOOPBACK}:{free_port()}"
    receiver, _ = start_receiver(
        request,
        tmp_path,
        database_url=f"sqlite:///{tmp_path / 'receiver.db'}",
        extra_env={
            "RECEIVER_ALERTMANAGER_URL": nothing_listens,
            "RECEIVER_STALE_AFTER": "2s",
            "RECEIVER_RECONCILE_INTERVAL": "1s",
        },
    )
    api = f"{receiver.base_url}/api/v1"

    async def post_webhook(body: dict[str, Any]) -> dict[str, Any]:
        async with http.post(f"{api}/alerts", json=body, headers=AUTH) as response:
            answer: dict[str, Any] = await response.json()
            assert response.status == 202, (response.status, answer)
        return await applied(http, answer, base=receiver.base_url, headers=AUTH)

    firing = capture("firing_group_3")
    answer = await post_webhook(firing)
    assert answer["created"] is True
    assert answer["incident_status"] == "firing"
    incident_id = answer["incident_id"]
    url = f"{api}/incidents/{incident_id}"

    async def stale() -> dict[str, Any] | None:
        detail: dict[str, Any] = await get_json(http, url)
        return detail if detail["status"] == "stale" else None

    detail = await poll("the incident to turn stale", stale, WAIT)
    stale_rows = kinds(detail, "stale")
    assert len(stale_rows) == 1, detail["timeline"]
    assert stale_rows[0]["source"] == "reconcile"
    assert detail["ended_at"] is None, "stale is never closed"
    assert [alert["status"] for alert in detail["alerts"]] == ["firing"] * 3
    assert detail["drafts"] == []

    # the gauge is read from the store at each scrape
    async def stale_gauge() -> str | None:
        text = await metrics_text(http, receiver)
        gauge = metric(text, "postmortem_receiver_open_incidents", 'severity="P2",status="stale"')
        return text if gauge == 1 else None

    text = await poll("open_incidents{status=stale} 1", stale_gauge, WAIT)
    unreachable = metric(text, "postmortem_receiver_reconcile_runs_total", 'result="unreachable"')
    assert unreachable is not None
    assert unreachable > 0
    assert metric(text, "postmortem_receiver_open_incidents", 'severity="P2",status="firing"') == 0
    assert not metric(text, "postmortem_receiver_reconcile_runs_total", 'result="ok"')

    # heard from again: the same group with one more alert
    grown = copy.deepcopy(firing)
    extra = copy.deepcopy(grown["alerts"][0])
    extra["fingerprint"] = "0f1e2d3c4b5a6978"
    extra["labels"]["instance"] = "10.0.2.14:9100"
    extra["annotations"]["summary"] = "payments P99 延迟过高 (10.0.2.14)"
    grown["alerts"].append(extra)
    answer = await post_webhook(grown)
    assert answer["incident_id"] == incident_id
    assert answer["incident_status"] == "firing", answer
    detail = await get_json(http, url)
    # stale again only after another 2s without a delivery
    assert detail["status"] == "firing", detail["timeline"]
    assert len(detail["alerts"]) == 4
    assert [alert["status"] for alert in detail["alerts"]] == ["firing"] * 4

    # every alert resolves, by webhook: a normal recovery and a draft
    resolved = capture("resolved_group_3")
    extra_resolved = copy.deepcopy(extra)
    extra_resolved["status"] = "resolved"
    extra_resolved["endsAt"] = resolved["alerts"][0]["endsAt"]
    resolved["alerts"].append(extra_resolved)
    answer = await post_webhook(resolved)
    assert answer["incident_id"] == incident_id
    assert answer["incident_status"] == "drafted", answer
    assert answer["draft_revision"] == 1
    detail = await get_json(http, url)
    assert detail["status"] == "drafted"
    assert [alert["status"] for alert in detail["alerts"]] == ["resolved"] * 4
    assert len(kinds(detail, "alert_resolved")) == 4
    assert len(kinds(detail, "all_resolved")) == 1
    assert kinds(detail, "alert_gone") == []
    assert [draft["revision"] for draft in detail["drafts"]] == [1]
    assert (tmp_path / "drafts" / detail["drafts"][0]["file_name"]).exists()
