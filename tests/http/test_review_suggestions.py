"""The review form starts from what the timeline knows: suggestions a person confirms or
edits, marked as such, and stored only when the form is saved."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from html.parser import HTMLParser
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from receiver.config import Settings
from receiver.domain.completeness import CHECKS
from receiver.web.keys import SERVICE
from tests.conftest import Clock, capture_text
from tests.http.test_approval_gate import ClientFactory, app_client, approve
from tests.http.test_review import AUTH, log_in, markdown, post_alerts

MakeClient = Callable[..., Awaitable[TestClient[Any, Any]]]
SUGGESTED = ("owner", "participants", "direct_cause", "containment", "temporary_fix")
BADGE_ZH = '<span class="suggestion">建议，待确认 — 来自时间线</span>'
BADGE_EN = '<span class="suggestion">suggestion — from the timeline, please confirm</span>'


@pytest.fixture
def make_client(
    aiohttp_client: ClientFactory, make_settings: Callable[..., Settings], clock: Clock
) -> MakeClient:
    return app_client(aiohttp_client, make_settings, clock)


# the clock starts at 19:12:00Z; each event is this many seconds later (Asia/Shanghai: +8 h)
EVENTS = (
    (60, "ack", "lisi", "确认 P2，开始处理"),
    (90, "assemble", "zhangsan", "拉起 payments 值班群"),
    (524, "rollback", "wangwu", "回滚 payments-api 到 v2.31.4"),
    (600, "root-cause", "zhangsan", "发布 v2.32.0 把连接池从 50 调到 5"),
    (660, "mitigate", "lisi", "临时把连接池调回 50"),
    (700, "restart", "wangwu", "重启 payments-api-7d9f 两个实例"),
)


async def reported_incident(client: TestClient[Any, Any], clock: Clock) -> int:
    """The three-alert group, what people reported while it fired, then its recovery."""
    incident_id = int((await post_alerts(client, capture_text("firing_group_3")))["incident_id"])
    start = clock.now
    for seconds, kind, actor, message in EVENTS:
        clock.now = start
        clock.advance(seconds=seconds)
        posted = await client.post(
            "/api/v1/events",
            headers=AUTH,
            data={"type": kind, "service": "payments", "message": message, "actor": actor},
        )
        assert (await posted.json())["incident_id"] == incident_id
    clock.advance(seconds=30)
    await post_alerts(client, capture_text("resolved_group_3"))
    return incident_id


class FormReader(HTMLParser):
    """What a browser would post for each of the page's section forms, nothing touched:
    every input's value, every textarea's text, each select's chosen (else first) option."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, str]] = []
        self._in_form = False
        self._textarea: str | None = None
        self._select: str | None = None

    @property
    def values(self) -> dict[str, str]:
        return self.forms[-1]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {name: value or "" for name, value in attrs}
        if tag == "form":
            self._in_form = "fields" in attr.get("class", "").split()
            if self._in_form:
                self.forms.append({})
        if not self._in_form or ("name" not in attr and tag != "option"):
            return
        if tag == "input" and (attr.get("type") != "checkbox" or "checked" in attr):
            self.values[attr["name"]] = attr.get("value", "on")
        elif tag == "textarea":
            self._textarea = attr["name"]
            self.values[attr["name"]] = ""
        elif tag == "select":
            self._select = attr["name"]
        elif (
            tag == "option"
            and self._select
            and (self._select not in self.values or "selected" in attr)
        ):
            self.values[self._select] = attr["value"]

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.values[self._textarea] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None
        elif tag == "form":
            self._in_form = False


def section_forms(html: str) -> dict[str, dict[str, str]]:
    """Each section's form as a browser would post it, by section."""
    reader = FormReader()
    reader.feed(html)
    return {form["section"]: form for form in reader.forms}


def form_values(html: str) -> dict[str, str]:
    """Every field the page's section forms show."""
    return {name: value for form in section_forms(html).values() for name, value in form.items()}


async def fields_of(client: TestClient[Any, Any], incident_id: int) -> dict[str, Any]:
    response = await client.get(f"/api/v1/incidents/{incident_id}/fields", headers=AUTH)
    assert response.status == 200
    fields: dict[str, Any] = await response.json()
    return fields


async def completeness_of(client: TestClient[Any, Any], incident_id: int) -> dict[str, Any]:
    response = await client.get(f"/api/v1/incidents/{incident_id}", headers=AUTH)
    done: dict[str, Any] = (await response.json())["completeness"]
    return done


async def test_the_form_offers_marked_suggestions_and_a_save_confirms_them(
    make_client: MakeClient, clock: Clock
) -> None:
    client = await make_client(timezone="Asia/Shanghai")
    incident_id = await reported_incident(client, clock)
    moved = await client.post(
        f"/api/v1/incidents/{incident_id}/status", json={"status": "in_review"}, headers=AUTH
    )
    assert moved.status == 200
    await log_in(client, name="zhaoliu")
    html = await (await client.get(f"/incidents/{incident_id}")).text()

    shown = form_values(html)
    assert shown["owner"] == "lisi"  # the first acknowledger
    assert shown["participants"] == "lisi、zhangsan、wangwu"
    assert shown["direct_cause"] == "发布 v2.32.0 把连接池从 50 调到 5（zhangsan 于 03:22:00 上报）"
    assert shown["containment"] == (
        "回滚 payments-api 到 v2.31.4（wangwu 于 03:20:44 上报）\n"
        "重启 payments-api-7d9f 两个实例（wangwu 于 03:23:40 上报）"
    )
    assert shown["temporary_fix"] == "临时把连接池调回 50（lisi 于 03:23:00 上报）"
    assert {name for name in SUGGESTED if shown[name]} == set(SUGGESTED)
    assert shown["affected_users"] == shown["root_cause_technical"] == ""
    # each suggested field, and only those, carries the mark, in its own label
    assert html.count(BADGE_ZH) == len(SUGGESTED)
    for name in SUGGESTED:
        label = html.split(f'name="{name}"', 1)[0].rsplit("<label", 1)[1]
        assert BADGE_ZH in label, name
    assert 'class="suggested" aria-describedby="suggested-hint-overview"' in html
    assert "保存表单即确认并存为人工填写" in html

    # looking stored nothing: the fields, the counts and the approval gate are as before
    assert all(value in ("", []) for value in (await fields_of(client, incident_id)).values())
    assert await completeness_of(client, incident_id) == {
        "filled": 0,
        "total": len(CHECKS),
        "missing": list(CHECKS),
    }
    assert f"人工填写 0/{len(CHECKS)} 项" in html
    assert f"还差 {len(CHECKS)} 项" in html
    status, body = await approve(client, incident_id)
    assert (status, body["missing"]) == (
        409,
        ["owner", "affected", "direct_cause", "root_cause", "actions"],
    )
    audit = await client.app[SERVICE].review.audit_log(incident_id)
    assert [record.action for record in audit] == ["status"]

    # saving a section as shown is the person confirming its suggestions, and only its own
    forms = section_forms(html)
    saved = await client.post(
        f"/incidents/{incident_id}/fields", data=forms["overview"], allow_redirects=False
    )
    assert saved.status == 303, await saved.text()
    assert saved.headers["Location"] == f"/incidents/{incident_id}?saved=1#section-overview"
    stored = await fields_of(client, incident_id)
    assert (stored["owner"], stored["participants"]) == (shown["owner"], shown["participants"])
    assert stored["direct_cause"] == stored["containment"] == ""
    assert BADGE_ZH in await (await client.get(f"/incidents/{incident_id}")).text()
    for section in ("direct_cause", "containment"):
        saved = await client.post(
            f"/incidents/{incident_id}/fields", data=forms[section], allow_redirects=False
        )
        assert saved.status == 303, await saved.text()
    stored = await fields_of(client, incident_id)
    assert {name: stored[name] for name in SUGGESTED} == {name: shown[name] for name in SUGGESTED}
    audit = await client.app[SERVICE].review.audit_log(incident_id)
    assert [(r.actor, r.action, r.detail.get("fields")) for r in audit[-3:]] == [
        ("zhaoliu", "edit", ["owner", "participants"]),
        ("zhaoliu", "edit", ["direct_cause"]),
        ("zhaoliu", "edit", ["containment", "temporary_fix"]),
    ]
    assert (await completeness_of(client, incident_id))["filled"] == len(SUGGESTED)
    status, body = await approve(client, incident_id)
    assert (status, body["missing"]) == (409, ["affected", "root_cause", "actions"])
    assert "回滚 payments-api 到 v2.31.4（wangwu 于 03:20:44 上报）" in await markdown(
        client, incident_id
    )

    after = await (await client.get(f"/incidents/{incident_id}")).text()
    assert BADGE_ZH not in after
    assert 'class="suggested"' not in after
    assert "保存表单即确认" not in after
    assert form_values(after)["containment"] == shown["containment"]


async def test_what_people_filled_is_never_replaced_by_a_suggestion(
    make_client: MakeClient, clock: Clock
) -> None:
    client = await make_client(timezone="Asia/Shanghai")
    incident_id = await reported_incident(client, clock)
    patched = await client.patch(
        f"/api/v1/incidents/{incident_id}",
        json={"owner": "zhaoliu", "containment": "切流到备用集群"},
        headers=AUTH,
    )
    assert patched.status == 200
    await log_in(client)
    html = await (await client.get(f"/incidents/{incident_id}")).text()
    shown = form_values(html)
    assert (shown["owner"], shown["containment"]) == ("zhaoliu", "切流到备用集群")
    assert shown["participants"] == "lisi、zhangsan、wangwu"  # still empty, still suggested
    assert html.count(BADGE_ZH) == len(SUGGESTED) - 2
    for name in ("owner", "containment"):
        label = html.split(f'name="{name}"', 1)[0].rsplit("<label", 1)[1]
        assert BADGE_ZH not in label, name

    # a refused save shows what the person sent in its section, not suggestions over it;
    # the other sections keep theirs
    forms = section_forms(html)
    sent = {**forms["overview"], "owner": "x" * 501, "participants": ""}
    refused = await client.post(f"/incidents/{incident_id}/fields", data=sent)
    assert refused.status == 422
    again = await refused.text()
    assert form_values(again)["participants"] == ""
    assert '<details class="section-edit" id="section-overview" open>' in again
    label = again.split('name="direct_cause"', 1)[0].rsplit("<label", 1)[1]
    assert BADGE_ZH in label
    assert (await fields_of(client, incident_id))["participants"] == ""

    # the saved fields keep the person's words; the rest are confirmed as shown
    for section in ("overview", "direct_cause", "containment"):
        saved = await client.post(f"/incidents/{incident_id}/fields", data=forms[section])
        assert saved.status == 200  # followed the redirect to the page
    stored = await fields_of(client, incident_id)
    assert (stored["owner"], stored["containment"]) == ("zhaoliu", "切流到备用集群")
    audit = await client.app[SERVICE].review.audit_log(incident_id)
    assert [r.detail["fields"] for r in audit[-3:]] == [
        ["participants"],
        ["direct_cause"],
        ["temporary_fix"],
    ]


async def test_suggestions_in_english(make_client: MakeClient, clock: Clock) -> None:
    client = await make_client(language="en")
    incident_id = await reported_incident(client, clock)
    await log_in(client)
    html = await (await client.get(f"/incidents/{incident_id}")).text()
    shown = form_values(html)
    assert shown["owner"] == "lisi"
    assert shown["participants"] == "lisi, zhangsan, wangwu"
    assert shown["containment"] == (
        "回滚 payments-api 到 v2.31.4 (reported by wangwu at 19:20:44)\n"
        "重启 payments-api-7d9f 两个实例 (reported by wangwu at 19:23:40)"
    )
    assert html.count(BADGE_EN) == len(SUGGESTED)
    assert "Saving the form confirms them as people&#39;s fields" in html
    assert "建议" not in html
    assert all(value in ("", []) for value in (await fields_of(client, incident_id)).values())


async def test_an_approved_postmortem_offers_no_suggestions(
    make_client: MakeClient, clock: Clock
) -> None:
    client = await make_client(approval_required="lessons")
    incident_id = await reported_incident(client, clock)
    await client.patch(
        f"/api/v1/incidents/{incident_id}", json={"lessons_success": "回滚及时"}, headers=AUTH
    )
    for target in ("in_review", "approved"):
        moved = await client.post(
            f"/api/v1/incidents/{incident_id}/status", json={"status": target}, headers=AUTH
        )
        assert moved.status == 200
    await log_in(client)
    html = await (await client.get(f"/incidents/{incident_id}")).text()
    # approved: no section is offered for editing, and the page says why
    assert "已批准的复盘不能修改" in html
    assert 'class="section-edit"' not in html
    assert BADGE_ZH not in html
    assert form_values(html) == {}
