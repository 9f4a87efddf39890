"""Two people editing one draft: a save based on an older revision that changes a field
someone else changed since is refused (409, with their value); one changing other fields
merges. Through the API and the page, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from receiver.config import Settings
from receiver.web.keys import SERVICE
from tests.conftest import Clock
from tests.http.test_approval_gate import ClientFactory, app_client
from tests.http.test_openapi import assert_valid
from tests.http.test_review import AUTH, drafted_incident, log_in, markdown
from tests.http.test_review_suggestions import section_forms

MakeClient = Callable[..., Awaitable[TestClient[Any, Any]]]


@pytest.fixture
async def client(
    aiohttp_client: ClientFactory, make_settings: Callable[..., Settings], clock: Clock
) -> TestClient[Any, Any]:
    return await app_client(aiohttp_client, make_settings, clock)()


async def patch(
    client: TestClient[Any, Any], incident_id: int, body: dict[str, Any]
) -> tuple[int, dict[str, Any]]:
    response = await client.patch(f"/api/v1/incidents/{incident_id}", json=body, headers=AUTH)
    return response.status, await response.json()


async def fields(client: TestClient[Any, Any], incident_id: int) -> dict[str, Any]:
    response = await client.get(f"/api/v1/incidents/{incident_id}/fields", headers=AUTH)
    stored: dict[str, Any] = await response.json()
    return stored


async def test_the_same_field_conflicts_and_other_fields_merge(
    client: TestClient[Any, Any], clock: Clock
) -> None:
    incident_id = await drafted_incident(client, clock)
    # both opened revision 1; the first saves the direct cause
    status, first = await patch(
        client, incident_id, {"direct_cause": "连接池调到 5", "base_revision": 1}
    )
    assert (status, first["draft_revision"]) == (200, 2)

    # the second changes the same field on revision 1: refused, with the first one's value
    status, body = await patch(
        client,
        incident_id,
        {"direct_cause": "数据库慢查询", "root_cause_process": "没有压测", "base_revision": 1},
    )
    assert status == 409, body
    assert body["error"] == "edit_conflict"
    assert body["draft_revision"] == 2
    assert body["conflicts"] == [
        {"field": "direct_cause", "current": "连接池调到 5", "yours": "数据库慢查询"}
    ]
    assert [d["field"] for d in body["details"]] == ["direct_cause"]
    document = await (await client.get("/api/v1/openapi.json", headers=AUTH)).json()
    assert_valid(document, "Error", body)
    assert_valid(document, "FieldsPatch", {"direct_cause": "x", "base_revision": 1})
    # nothing of the refused save is stored, not even its other field
    stored = await fields(client, incident_id)
    assert (stored["direct_cause"], stored["root_cause_process"]) == ("连接池调到 5", "")
    assert "数据库慢查询" not in await markdown(client, incident_id)

    # a field the first did not touch merges, on the same old revision
    status, merged = await patch(
        client, incident_id, {"root_cause_process": "没有压测", "base_revision": 1}
    )
    assert (status, merged["draft_revision"]) == (200, 3)
    assert merged["fields"]["direct_cause"] == "连接池调到 5"
    assert merged["fields"]["root_cause_process"] == "没有压测"

    # the same value as the other person's is no conflict; neither is a save on the latest
    status, _ = await patch(
        client, incident_id, {"direct_cause": "连接池调到 5", "base_revision": 1}
    )
    assert status == 200
    status, won = await patch(
        client, incident_id, {"direct_cause": "数据库慢查询", "base_revision": 3}
    )
    assert (status, won["fields"]["direct_cause"]) == (200, "数据库慢查询")
    # without a base revision the save replaces, as it always did
    status, plain = await patch(client, incident_id, {"direct_cause": "最后一次"})
    assert (status, plain["fields"]["direct_cause"]) == (200, "最后一次")

    # each edit records the revision it wrote and what it replaced
    audit = await client.app[SERVICE].review.audit_log(incident_id)
    edits = [record.detail for record in audit if record.action == "edit"]
    assert edits[0] == {"fields": ["direct_cause"], "before": {"direct_cause": ""}, "revision": 2}
    assert edits[-1]["before"] == {"direct_cause": "数据库慢查询"}


async def test_a_field_left_as_it_was_keeps_the_other_persons_change(
    client: TestClient[Any, Any], clock: Clock
) -> None:
    """A section's form sends all its fields; the ones the person did not change must not
    undo what someone else saved meanwhile."""
    incident_id = await drafted_incident(client, clock)
    await patch(client, incident_id, {"root_cause_technical": "连接池过小", "base_revision": 1})
    # sent on revision 1 with the technical cause as it was then (empty)
    status, body = await patch(
        client,
        incident_id,
        {"root_cause_technical": "", "root_cause_process": "没有压测", "base_revision": 1},
    )
    assert status == 200, body
    assert body["fields"]["root_cause_technical"] == "连接池过小"
    assert body["fields"]["root_cause_process"] == "没有压测"

    # lists compare whole: both adding action items to the same list conflicts
    first = [{"text": "扩容", "owner": "lisi"}]
    status, body = await patch(client, incident_id, {"actions": first, "base_revision": 3})
    assert status == 200
    status, body = await patch(
        client, incident_id, {"actions": [{"text": "压测"}], "base_revision": 3}
    )
    assert status == 409
    assert body["conflicts"][0]["field"] == "actions"
    assert body["conflicts"][0]["current"][0]["text"] == "扩容"


@pytest.mark.parametrize("bad", ["1", -1, True, 1.5, 2**40, None])
async def test_a_bad_base_revision_is_a_422(
    client: TestClient[Any, Any], clock: Clock, bad: object
) -> None:
    incident_id = await drafted_incident(client, clock)
    status, body = await patch(client, incident_id, {"owner": "x", "base_revision": bad})
    if bad is None:  # JSON null: no base revision, the save replaces
        assert status == 200
        return
    assert (status, body["error"]) == (422, "invalid_base_revision"), body
    assert (await fields(client, incident_id))["owner"] == ""


async def test_the_page_shows_the_conflict_and_keeps_what_was_typed(
    client: TestClient[Any, Any], clock: Clock
) -> None:
    incident_id = await drafted_incident(client, clock)
    await log_in(client, name="wangwu")
    forms = section_forms(await (await client.get(f"/incidents/{incident_id}")).text())
    assert forms["direct_cause"]["base_revision"] == "1"
    assert forms["direct_cause"]["section"] == "direct_cause"
    # someone else saves the direct cause meanwhile
    await patch(client, incident_id, {"direct_cause": "李四写的原因"})

    mine = {**forms["direct_cause"], "direct_cause": "王五写的原因"}
    refused = await client.post(f"/incidents/{incident_id}/fields", data=mine)
    assert refused.status == 409
    html = await refused.text()
    assert "你打开页面后，直接原因 已被他人修改" in html
    assert '<details class="section-edit" id="section-direct_cause" open>' in html
    assert "<strong>对方保存的直接原因</strong>\n      <pre>李四写的原因</pre>" in html
    again = section_forms(html)["direct_cause"]
    assert again["direct_cause"] == "王五写的原因"  # nothing typed is lost
    assert again["base_revision"] == "2"  # saving again is based on what was just shown
    assert (await fields(client, incident_id))["direct_cause"] == "李四写的原因"

    saved = await client.post(f"/incidents/{incident_id}/fields", data=again)
    assert saved.status == 200
    assert (await fields(client, incident_id))["direct_cause"] == "王五写的原因"

    # another section saved on the old revision merges
    other = {**forms["impact_chain"], "impact_chain": "连接池耗尽 → 排队"}
    merged = await client.post(
        f"/incidents/{incident_id}/fields", data=other, allow_redirects=False
    )
    assert merged.status == 303
    assert merged.headers["Location"] == f"/incidents/{incident_id}?saved=1#section-impact_chain"
    stored = await fields(client, incident_id)
    assert (stored["direct_cause"], stored["impact_chain"]) == ("王五写的原因", "连接池耗尽 → 排队")

    unknown = await client.post(
        f"/incidents/{incident_id}/fields", data={**forms["overview"], "section": "nope"}
    )
    assert (unknown.status, (await unknown.json())["error"]) == (422, "invalid_section")
    bad = await client.post(
        f"/incidents/{incident_id}/fields", data={**forms["overview"], "base_revision": "١"}
    )
    assert (bad.status, (await bad.json())["error"]) == (422, "invalid_base_revision")
