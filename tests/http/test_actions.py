"""Action items (issue 21): tracked from the review form with stable ids, listed and
filtered by the API and the /actions page, exported as Excel-readable CSV, and marked
done from the page or the incident's form — the same change."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from tests.conftest import Clock, capture, shifted
from tests.http.test_review import (
    AUTH,
    JSON,
    csrf_of,
    drafted_incident,
    log_in,
    markdown,
    post_alerts,
)

ClientFactory = Callable[[web.Application], Awaitable[TestClient[Any, Any]]]
TOMORROW, YESTERDAY = "2026-11-27", "2026-11-25"  # the clock starts on 2026-11-26


async def patch(client: TestClient[Any, Any], incident_id: int, body: dict[str, Any]) -> None:
    response = await client.patch(
        f"/api/v1/incidents/{incident_id}", json=body, headers={**AUTH, **JSON}
    )
    assert response.status == 200, await response.text()


async def items(client: TestClient[Any, Any], query: str = "") -> list[dict[str, Any]]:
    response = await client.get(f"/api/v1/actions{query}", headers=AUTH)
    assert response.status == 200, await response.text()
    return list((await response.json())["items"])


TWO_ITEMS = {
    "actions": [
        {
            "text": "扩大连接池",
            "owner": "lisi",
            "due": TOMORROW,
            "horizon": "immediate",
            "ticket": "https://jira.example.com/browse/OPS-1",
            "priority": "high",
        },
        {"text": "补充压测", "owner": "wangwu", "due": YESTERDAY, "horizon": "short"},
        {"text": "没有负责人的想法"},
    ],
    "improvements": [{"text": "增加连接池告警", "owner": "lisi", "area": "tech_short"}],
}


async def test_items_are_tracked_with_stable_ids_and_filtered(
    client: TestClient[Any, Any], clock: Clock
) -> None:
    incident_id = await drafted_incident(client, clock)
    await patch(client, incident_id, TWO_ITEMS)
    listed = await items(client)
    # by due date, undated last; the item without an owner is not tracked
    assert [(i["text"], i["status"], i["overdue"]) for i in listed] == [
        ("补充压测", "open", True),
        ("扩大连接池", "open", False),
        ("增加连接池告警", "open", False),
    ]
    assert {i["incident_id"] for i in listed} == {incident_id}
    assert [i["text"] for i in await items(client, "?overdue=1")] == ["补充压测"]
    assert [i["text"] for i in await items(client, "?owner=lisi")] == [
        "扩大连接池",
        "增加连接池告警",
    ]
    service = listed[0]["service"]
    assert len(await items(client, f"?service={service}")) == 3
    assert await items(client, "?service=nothing-here") == []
    assert await items(client, "?status=done") == []

    # a ticket is a link: anything else is refused, and nothing changes
    bad = {"actions": [{"text": "x", "owner": "y", "ticket": "javascript:alert(1)"}]}
    refused = await client.patch(
        f"/api/v1/incidents/{incident_id}", json=bad, headers={**AUTH, **JSON}
    )
    assert refused.status == 422
    assert len(await items(client)) == 3

    # renamed and reordered in the form: the same items, no duplicates
    fields = await (
        await client.get(f"/api/v1/incidents/{incident_id}/fields", headers=AUTH)
    ).json()
    first, second = fields["actions"][0], fields["actions"][1]
    renamed = {"actions": [{**second, "text": "补充全链路压测"}, first]}
    await patch(client, incident_id, renamed)
    after = await items(client, "?owner=wangwu")
    assert [(i["id"], i["text"]) for i in after] == [(second["id"], "补充全链路压测")]
    assert len(await items(client)) == 3


@pytest.mark.parametrize(
    "query", ["?status=finished", "?overdue=maybe", "?owner=" + "x" * 501, "?service=%00"]
)
async def test_bad_filters_are_422_json_in_chinese(
    client: TestClient[Any, Any], query: str
) -> None:
    response = await client.get(f"/api/v1/actions{query}", headers=AUTH)
    assert response.status == 422
    body = await response.json()
    assert body["error"] == "invalid_query"
    assert any("\u4e00" <= c <= "\u9fff" for c in body["message"])


async def test_status_changes_from_the_api_page_and_form_are_one_change(
    client: TestClient[Any, Any], clock: Clock
) -> None:
    incident_id = await drafted_incident(client, clock)
    await patch(client, incident_id, TWO_ITEMS)
    pool, load_test = (
        (await items(client, "?owner=lisi"))[0],
        (await items(client, "?overdue=1"))[0],
    )

    # the API: done, shown in the draft and in the fields the form edits
    done = await client.post(
        f"/api/v1/actions/{pool['id']}/status", json={"status": "done"}, headers={**AUTH, **JSON}
    )
    assert done.status == 200, await done.text()
    assert (await done.json())["status"] == "done"
    assert (await done.json())["done_at"]
    assert (
        "- [x] **扩大连接池**（负责人：lisi，截止：2026-11-27）（优先级：高）"
        " · 工单：<https://jira.example.com/browse/OPS-1>"
    ) in await markdown(client, incident_id)
    fields = await (
        await client.get(f"/api/v1/incidents/{incident_id}/fields", headers=AUTH)
    ).json()
    assert fields["actions"][0]["done"] is True

    # dropping needs a reason; an unknown item is a 404
    no_reason = await client.post(
        f"/api/v1/actions/{load_test['id']}/status",
        json={"status": "dropped"},
        headers={**AUTH, **JSON},
    )
    assert no_reason.status == 422
    # dropped with a reason: the draft says so rather than showing it open
    dropped = await client.post(
        f"/api/v1/actions/{load_test['id']}/status",
        json={"status": "dropped", "reason": "改用线上压测"},
        headers={**AUTH, **JSON},
    )
    assert dropped.status == 200
    assert "- [ ] **补充压测**（负责人：wangwu，截止：2026-11-25）（已放弃：改用线上压测）" in (
        await markdown(client, incident_id)
    )
    reopened_by_api = await client.post(
        f"/api/v1/actions/{load_test['id']}/status",
        json={"status": "open"},
        headers={**AUTH, **JSON},
    )
    assert (await reopened_by_api.json())["status"] == "open"
    missing = await client.post(
        "/api/v1/actions/ffffffff/status", json={"status": "done"}, headers={**AUTH, **JSON}
    )
    assert missing.status == 404
    assert (await missing.json())["error"] == "not_found"

    # the /actions page marks the overdue item done
    await log_in(client)
    page = await (await client.get("/actions?overdue=1")).text()
    assert "补充压测" in page
    assert "已逾期" in page
    marked = await client.post(
        f"/actions/{load_test['id']}/status",
        data={"csrf_token": csrf_of(page), "status": "done", "list-overdue": "1"},
        allow_redirects=False,
    )
    assert marked.status == 303
    assert marked.headers["Location"] == "/actions?overdue=1"
    assert await items(client, "?overdue=1") == []
    assert "- [x] **补充压测**" in await markdown(client, incident_id)

    # the incident's form unticks it: the tracked item is open again, same id
    html = await (await client.get(f"/incidents/{incident_id}")).text()
    fields = await (
        await client.get(f"/api/v1/incidents/{incident_id}/fields", headers=AUTH)
    ).json()
    form: dict[str, str] = {"csrf_token": csrf_of(html), "section": "actions"}
    for index, item in enumerate(fields["actions"]):
        form |= {
            f"act-{index}-id": item["id"],
            f"act-{index}-text": item["text"],
            f"act-{index}-owner": item["owner"],
            f"act-{index}-due": item["due"] or "",
            f"act-{index}-horizon": item["horizon"],
            f"act-{index}-priority": item["priority"] or "",
            f"act-{index}-ticket": item["ticket"],
        }
        if item["done"] and item["id"] == pool["id"]:
            form[f"act-{index}-done"] = "on"
    saved = await client.post(f"/incidents/{incident_id}/fields", data=form, allow_redirects=False)
    assert saved.status == 303, await saved.text()
    reopened = await items(client, "?owner=wangwu")
    assert [(i["id"], i["status"]) for i in reopened] == [(load_test["id"], "open")]
    pool_after = next(i for i in await items(client, "?owner=lisi") if i["id"] == pool["id"])
    assert (pool_after["status"], pool_after["priority"]) == ("done", "high")


async def test_csv_export_opens_in_excel_with_chinese(
    client: TestClient[Any, Any], clock: Clock
) -> None:
    incident_id = await drafted_incident(client, clock)
    await patch(
        client,
        incident_id,
        {"actions": [{"text": "=HYPERLINK(1) 扩容", "owner": "李四", "due": YESTERDAY}]},
    )
    await log_in(client)
    response = await client.get("/actions.csv?overdue=1")
    assert response.status == 200
    assert response.content_type == "text/csv"
    raw = await response.read()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM Excel looks for
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0][:3] == ["ID", "事故", "服务"]
    assert rows[1][1] == f"#{incident_id}"
    assert rows[1][4] == "'=HYPERLINK(1) 扩容"  # never a formula
    assert rows[1][5] == "李四"
    assert "已逾期" in rows[1]


async def test_kpi_adds_action_item_figures_per_service(
    client: TestClient[Any, Any], clock: Clock
) -> None:
    incident_id = await drafted_incident(client, clock)
    await patch(client, incident_id, TWO_ITEMS)
    pool = (await items(client, "?owner=lisi"))[0]
    clock.advance(days=1)  # done a day after it was written, on its due date
    done = await client.post(
        f"/api/v1/actions/{pool['id']}/status", json={"status": "done"}, headers={**AUTH, **JSON}
    )
    assert done.status == 200
    response = await client.get("/api/v1/kpi?until=2026-11&months=1", headers=AUTH)
    assert response.status == 200, await response.text()
    total, service = (await response.json())["action_items"]
    assert total["service"] == ""
    assert service["service"] == pool["service"]
    for row in (total, service):
        assert (row["open"], row["overdue"], row["done"]) == (2, 1, 1)
        assert row["median_days_to_done"] == 1.0
        assert (row["done_by_due"], row["done_with_due"]) == (1, 1)
        assert row["share_done_by_due"] == 1.0
    await log_in(client)
    page = await (await client.get("/kpi?until=2026-11&months=1")).text()
    assert 'id="kpi-actions"' in page
    assert "按期完成比例" in page
    assert "100%（1/1）" in page


async def test_the_page_of_a_recurrence_shows_the_old_open_items_and_marks_one_done(
    client: TestClient[Any, Any], clock: Clock
) -> None:
    old = await drafted_incident(client, clock)
    await patch(client, old, TWO_ITEMS)
    clock.advance(hours=3)  # past the reopen window: the same group opens a new incident
    later = timedelta(hours=3)
    new = int(
        (await post_alerts(client, json.dumps(shifted(capture("firing_group_3"), later))))[
            "incident_id"
        ]
    )
    assert new != old
    await log_in(client)
    page = await (await client.get(f"/incidents/{new}")).text()
    assert "历史同类事故" in page
    assert "上次的改进措施尚未完成，可能与本次相关（待确认）" in page
    assert f'<a href="/incidents/{old}">#{old}</a>' in page
    assert "同一告警组" in page
    assert "补充压测" in page
    load_test = (await items(client, "?owner=wangwu"))[0]
    marked = await client.post(
        f"/actions/{load_test['id']}/status",
        data={"csrf_token": csrf_of(page), "status": "done", "back": f"incident:{new}"},
        allow_redirects=False,
    )
    assert marked.status == 303
    assert marked.headers["Location"] == f"/incidents/{new}#similar"
    assert (await items(client, "?owner=wangwu"))[0]["status"] == "done"
    again = await (await client.get(f"/incidents/{new}")).text()
    assert "补充压测" not in again  # done: no longer an open item of the past incident
    # the old incident's own page links nothing later than itself
    assert "历史同类事故" not in await (await client.get(f"/incidents/{old}")).text()
