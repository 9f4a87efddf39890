"""End to end: two real Alertmanager peers clustered on loopback, two receiver replicas.

An HA Alertmanager pair gossips its notification log (not its alerts): Prometheus sends
every alert to every peer, each peer groups on its own, and the peer in position 0 sends
first while the other waits --cluster.peer-timeout and then sends only what the gossiped
log says nobody sent yet. Each peer sends to a different receiver replica, both replicas
share one PostgreSQL database, and the incident must come out the same as with one
sender: fire -> partial resolve -> resolve -> one draft. It runs twice: with a 0s peer
timeout both peers send every notification (duplicates racing on the database), with 1s
the gossip wins and only one does. The webhooks each replica received per phase are
printed either way.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.conftest import fresh_postgres_database
from tests.processes import (
    PAYMENTS_INSTANCES,
    Service,
    alertmanager_binary,
    free_port,
    get_json,
    get_text,
    kinds,
    log_events,
    payments_alerts,
    poll,
    post_alerts,
    start_alertmanager,
    start_receiver,
    webhook_posts,
)

pytestmark = pytest.mark.e2e

FIRST_RESOLVED = "10.0.2.13:9100"
REPLICAS = ("replica-0", "replica-1")
# --cluster.peer-timeout: how long the peer in position 1 waits before it sends what the
# gossiped notification log does not yet show as sent. 0s: both peers send every
# notification at the same moment, duplicates racing on the shared database. 1s: the
# gossip (every 50ms) normally arrives first, and the second peer stays quiet.
PEER_TIMEOUTS = {"both-peers-send": 0.0, "gossip-deduplicates": 1.0}
CLUSTER_ARGS = (
    "--cluster.gossip-interval=50ms",
    "--cluster.pushpull-interval=1s",
    # settling polls every 10 gossip intervals and needs 3 equal member counts: ~2s
    "--cluster.settle-timeout=3s",
    "--cluster.probe-interval=200ms",
)
GROUP_INTERVAL = 1.0  # tests.processes.alertmanager_config


# -- fixtures ----------------------------------------------------------------------------


@pytest.fixture
def shared_database() -> Iterator[str]:
    alertmanager_binary()  # skip before starting anything when Alertmanager is missing
    yield from fresh_postgres_database()


@pytest.fixture
def replicas(request: pytest.FixtureRequest, tmp_path: Path, shared_database: str) -> list[Service]:
    return [
        start_receiver(
            request,
            tmp_path,
            database_url=shared_database,
            name=name,
            drafts_dir=tmp_path / "drafts",
        )[0]
        for name in REPLICAS
    ]


@pytest.fixture(params=list(PEER_TIMEOUTS.values()), ids=list(PEER_TIMEOUTS))
def peer_timeout(request: pytest.FixtureRequest) -> float:
    seconds: float = request.param
    return seconds


@pytest.fixture
def peers(
    request: pytest.FixtureRequest, tmp_path: Path, replicas: list[Service], peer_timeout: float
) -> list[Service]:
    """Peer i sends to replica i; each names the other as its initial peer."""
    addresses = [f"127.0.0.1:{free_port()}" for _ in replicas]
    return [
        start_alertmanager(
            request,
            tmp_path,
            replica.base_url,
            name=f"alertmanager-{index}",
            cluster_listen=addresses[index],
            peers=[address for other, address in enumerate(addresses) if other != index],
            extra_args=(*CLUSTER_ARGS, f"--cluster.peer-timeout={peer_timeout}s"),
        )
        for index, replica in enumerate(replicas)
    ]


# -- helpers -----------------------------------------------------------------------------


def webhook_counts(replicas: list[Service]) -> dict[str, int]:
    return {replica.name: len(webhook_posts(replica)) for replica in replicas}


def effects(replicas: list[Service]) -> dict[str, dict[str, int]]:
    """Per replica: webhooks answered, those that changed nothing, conflict retries.

    For the report only; nothing is asserted on these.
    """
    found = {}
    for replica in replicas:
        events = log_events(replica)
        answered = len(webhook_posts(replica))
        # "webhook.applied" is logged for a webhook that changed the incident
        applied = sum(
            1
            for event in events
            if event.get("event") == "webhook.applied" and event.get("changed") is not False
        )
        retries = sum(
            1
            for event in events
            if str(event.get("event", "")).endswith("conflict_retry")
            and event.get("what", "webhook") == "webhook"
        )
        found[replica.name] = {
            "webhooks": answered,
            "no_op": answered - applied,
            "conflict_retries": retries,
        }
    return found


async def quiet(replicas: list[Service], seconds: float) -> dict[str, dict[str, int]]:
    """Wait until no replica received a webhook for `seconds`; what they did by then."""
    last = webhook_counts(replicas)
    since = time.monotonic()

    async def settled() -> dict[str, dict[str, int]] | None:
        nonlocal last, since
        now = webhook_counts(replicas)
        if now != last:
            last, since = now, time.monotonic()
            return None
        return effects(replicas) if time.monotonic() - since >= seconds else None

    return await poll(f"{seconds}s without a webhook", settled, seconds + 10)


async def wait_for_cluster(http: aiohttp.ClientSession, peers: list[Service]) -> None:
    """Both peers list both members and finished settling."""

    async def formed() -> bool | None:
        for peer in peers:
            status = await get_json(http, f"{peer.base_url}/api/v2/status")
            cluster = status["cluster"]
            if cluster["status"] != "ready" or len(cluster.get("peers") or []) != len(peers):
                return None
        return True

    await poll("both Alertmanager peers to see each other", formed, 20)


# -- the test ----------------------------------------------------------------------------


async def test_two_clustered_alertmanagers_two_replicas_one_incident(
    http: aiohttp.ClientSession,
    replicas: list[Service],
    peers: list[Service],
    tmp_path: Path,
    peer_timeout: float,
    capsys: pytest.CaptureFixture[str],
) -> None:
    began = time.monotonic()
    await wait_for_cluster(http, peers)
    clustered = time.monotonic()
    api = f"{replicas[0].base_url}/api/v1"
    # a late duplicate comes at most a group interval plus the peer timeout after the first
    quiet_seconds = peer_timeout + GROUP_INTERVAL + 1.0
    phases: dict[str, dict[str, dict[str, int]]] = {}

    async def phase_done(phase: str) -> None:
        totals = await quiet(replicas, quiet_seconds)
        before = list(phases.values())[-1] if phases else None
        phases[phase] = totals
        delta = {
            name: {
                what: count - (before[name][what] if before else 0)
                for what, count in counts.items()
            }
            for name, counts in totals.items()
        }
        with capsys.disabled():
            print(f"\n[ha-cluster peer-timeout={peer_timeout}s] {phase}: {delta}")

    # Prometheus sends every alert to every Alertmanager of an HA pair
    started = datetime.now(UTC).replace(microsecond=0)
    for peer in peers:
        await post_alerts(http, peer, payments_alerts(started, started + timedelta(hours=1)))

    async def one_incident_three_firing() -> dict[str, Any] | None:
        listing = await get_json(http, f"{api}/incidents")
        if listing["total"] != 1:
            return None
        detail: dict[str, Any] = await get_json(
            http, f"{api}/incidents/{listing['incidents'][0]['id']}"
        )
        firing = [alert for alert in detail["alerts"] if alert["status"] == "firing"]
        return detail if len(firing) == 3 else None

    detail = await poll("one incident with 3 firing alerts", one_incident_three_firing, 20)
    incident_id = detail["id"]
    await phase_done("fire")
    detail = await get_json(http, f"{api}/incidents/{incident_id}")
    assert detail["status"] == "firing"
    assert len(detail["alerts"]) == 3
    assert len(kinds(detail, "alert_fired")) == 3
    assert len(kinds(detail, "incident_opened")) == 1
    assert (await get_json(http, f"{api}/incidents"))["total"] == 1

    # partial resolve: one instance recovers (endsAt now), on both peers
    one = [
        alert
        for alert in payments_alerts(started, datetime.now(UTC))
        if alert["labels"]["instance"] == FIRST_RESOLVED
    ]
    for peer in peers:
        await post_alerts(http, peer, one)

    async def partially_resolved() -> dict[str, Any] | None:
        found: dict[str, Any] = await get_json(http, f"{api}/incidents/{incident_id}")
        statuses = {alert["labels"]["instance"]: alert["status"] for alert in found["alerts"]}
        recovered = [row for row in kinds(found, "alert_resolved") if row["phase"] == "recover"]
        if statuses.get(FIRST_RESOLVED) == "resolved" and recovered:
            return found
        return None

    await poll(f"{FIRST_RESOLVED} to resolve", partially_resolved, 20)
    await phase_done("partial resolve")
    detail = await get_json(http, f"{api}/incidents/{incident_id}")
    assert detail["status"] == "firing"
    statuses = {alert["labels"]["instance"]: alert["status"] for alert in detail["alerts"]}
    assert statuses == {
        "10.0.2.11:9100": "firing",
        "10.0.2.12:9100": "firing",
        FIRST_RESOLVED: "resolved",
    }
    resolved_rows = kinds(detail, "alert_resolved")
    assert [(row["phase"], row["subject"]) for row in resolved_rows] == [
        ("recover", FIRST_RESOLVED)
    ]
    assert kinds(detail, "all_resolved") == []
    assert detail["drafts"] == []

    # the other two recover: every alert resolved, the incident gets its draft
    rest = [
        alert
        for alert in payments_alerts(started, datetime.now(UTC))
        if alert["labels"]["instance"] != FIRST_RESOLVED
    ]
    for peer in peers:
        await post_alerts(http, peer, rest)

    async def drafted() -> dict[str, Any] | None:
        found: dict[str, Any] = await get_json(http, f"{api}/incidents/{incident_id}")
        return found if found["status"] == "drafted" else None

    await poll("the incident to be drafted", drafted, 20)
    await phase_done("resolve")

    # exact final state, read through both replicas after every late duplicate arrived
    for replica in replicas:
        base = f"{replica.base_url}/api/v1"
        listing = await get_json(http, f"{base}/incidents")
        assert listing["total"] == 1, replica.name
        assert [incident["id"] for incident in listing["incidents"]] == [incident_id]
        detail = await get_json(http, f"{base}/incidents/{incident_id}")
        assert detail["status"] == "drafted", replica.name
        assert sorted(alert["labels"]["instance"] for alert in detail["alerts"]) == list(
            PAYMENTS_INSTANCES
        )
        assert [alert["status"] for alert in detail["alerts"]] == ["resolved"] * 3
        assert all(alert["ends_at"] for alert in detail["alerts"])
        counted: dict[str, int] = {}
        for row in detail["timeline"]:
            counted[row["kind"]] = counted.get(row["kind"], 0) + 1
        assert counted == {
            "alert_fired": 3,
            "incident_opened": 1,
            "alert_resolved": 3,
            "all_resolved": 1,
        }, detail["timeline"]
        assert {row["phase"] for row in kinds(detail, "alert_resolved")} == {"recover"}
        assert [row["phase"] for row in kinds(detail, "all_resolved")] == ["recover"]
        assert [draft["revision"] for draft in detail["drafts"]] == [1]

    file_name = detail["drafts"][0]["file_name"]
    files = sorted(path.name for path in (tmp_path / "drafts").iterdir())
    assert files == [file_name]
    content = (tmp_path / "drafts" / file_name).read_text(encoding="utf-8")
    for replica in replicas:
        served = await get_text(
            http, f"{replica.base_url}/api/v1/incidents/{incident_id}/postmortem.md"
        )
        assert served == content, replica.name
    assert any(f"({peer.base_url}/#/alerts?receiver=incident-webhook&" in content for peer in peers)

    # every webhook was accepted into the inbox, duplicates included
    for replica in replicas:
        statuses_seen = [event.get("status") for event in webhook_posts(replica)]
        assert all(status == 202 for status in statuses_seen), (replica.name, statuses_seen)
    totals = phases["resolve"]
    with capsys.disabled():
        print(
            f"[ha-cluster peer-timeout={peer_timeout}s] cluster formed in "
            f"{clustered - began:.1f}s, test body {time.monotonic() - began:.1f}s; "
            f"both peers delivered: {all(t['webhooks'] for t in totals.values())}"
        )
