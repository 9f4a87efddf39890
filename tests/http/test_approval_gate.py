"""Placeholders people can clear, how much is filled, and an approval that means something:
refused with what is missing, or overridden with a reason the audit log and draft keep."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from receiver.app import create_app
from receiver.config import ConfigError, Settings
from receiver.domain.completeness import CHECKS
from receiver.web.keys import SERVICE
from tests.conftest import Clock
from tests.http.test_review import AUTH, TOKEN, csrf_of, drafted_incident, log_in, markdown

ClientFactory = Callable[[web.Application], Awaitable[TestClient[Any, Any]]]

# every human field, as a person fills them through the API
EVERY_FIELD: dict[str, object] = {
    "owner": "张三",
    "participants": "张三、李四、王五",
    "affected_users": "约 3% 的支付请求",
    "affected_features": "下单、支付回调",
    "business_loss": "约 200 笔订单延迟",
    "user_feedback": "客服收到 12 条投诉",
    "direct_cause": "发布 v2.32.0 把连接池从 50 调到 5",
    "root_cause_technical": "连接池配置没有下限校验",
    "root_cause_process": "发布前没有压测",
    "root_cause_human": "无",
    "root_cause_external": "无",
    "impact_chain": "连接池耗尽 → 请求排队 → P99 升高",
    "containment": "18:31 回滚到 v2.31.4",
    "temporary_fix": "临时把连接池调回 50",
    "improvements": [{"text": "连接池加下限校验", "owner": "李四", "area": "tech_short"}],
    "actions": [{"text": "发布前压测", "owner": "王五", "due": "2026-12-20"}],
    "lessons_success": "回滚及时",
    "lessons_failure": "告警阈值过高",
    "lessons_suggestions": "发布流程加压测门禁",
}


def app_client(
    aiohttp_client: ClientFactory, make_settings: Callable[..., Settings], clock: Clock
) -> Callable[..., Awaitable[TestClient[Any, Any]]]:
    async def make(**settings: Any) -> TestClient[Any, Any]:
        app = create_app(
            make_settings(auth_token=TOKEN, reconcile_interval=0, **settings), clock=clock
        )
        return await aiohttp_client(app)

    return make


@pytest.fixture
def make_client(
    aiohttp_client: ClientFactory, make_settings: Callable[..., Settings], clock: Clock
) -> Callable[..., Awaitable[TestClient[Any, Any]]]:
    return app_client(aiohttp_client, make_settings, clock)


async def in_review(client: TestClient[Any, Any], clock: Clock) -> int:
    incident_id = await drafted_incident(client, clock)
    moved = await client.post(
        f"/api/v1/incidents/{incident_id}/status", json={"status": "in_review"}, headers=AUTH
    )
    assert moved.status == 200
    return incident_id


async def approve(
    client: TestClient[Any, Any], incident_id: int, **extra: str
) -> tuple[int, dict[str, Any]]:
    response = await client.post(
        f"/api/v1/incidents/{incident_id}/status",
        json={"status": "approved", **extra},
        headers={**AUTH, "X-Actor": "wangwu"},
    )
    body: dict[str, Any] = await response.json()
    return response.status, body


async def test_every_field_filled_leaves_no_placeholder(
    make_client: Callable[..., Awaitable[TestClient[Any, Any]]], clock: Clock
) -> None:
    client = await make_client()
    incident_id = await in_review(client, clock)
    before = await markdown(client, incident_id)
    assert "【待填写" in before
    assert f"人工填写 0/{len(CHECKS)} 项，待填：负责人、" in before

    saved = await client.patch(f"/api/v1/incidents/{incident_id}", json=EVERY_FIELD, headers=AUTH)
    assert saved.status == 200, await saved.text()
    after = await markdown(client, incident_id)
    assert "【待填写" not in after, [line for line in after.splitlines() if "【待填写" in line]
    assert f"人工填写 {len(CHECKS)}/{len(CHECKS)} 项\n" in after  # and no list of missing parts
    assert "分析事故的根本原因" not in after  # the intro goes once all four causes are set

    detail = await (await client.get(f"/api/v1/incidents/{incident_id}", headers=AUTH)).json()
    assert detail["completeness"] == {"filled": len(CHECKS), "total": len(CHECKS), "missing": []}
    status, body = await approve(client, incident_id)
    assert status == 200, body
    approved = await markdown(client, incident_id)
    assert approved.startswith("> **已批准（wangwu，")
    assert "未填全即批准" not in approved


async def test_every_field_filled_leaves_no_placeholder_in_english(
    make_client: Callable[..., Awaitable[TestClient[Any, Any]]], clock: Clock
) -> None:
    client = await make_client(language="en")
    incident_id = await drafted_incident(client, clock)
    assert "[TO FILL" in await markdown(client, incident_id)
    await client.patch(f"/api/v1/incidents/{incident_id}", json=EVERY_FIELD, headers=AUTH)
    after = await markdown(client, incident_id)
    assert "[TO FILL" not in after, [line for line in after.splitlines() if "[TO FILL" in line]
    assert f"Filled in by people: {len(CHECKS)}/{len(CHECKS)}\n" in after


async def test_completeness_counts_what_people_filled(
    make_client: Callable[..., Awaitable[TestClient[Any, Any]]], clock: Clock
) -> None:
    client = await make_client()
    incident_id = await drafted_incident(client, clock)
    url = f"/api/v1/incidents/{incident_id}"
    empty = (await (await client.get(url, headers=AUTH)).json())["completeness"]
    assert empty == {"filled": 0, "total": len(CHECKS), "missing": list(CHECKS)}

    # one root cause is enough for 根本原因; an action without an owner does not count
    await client.patch(
        url,
        json={"owner": "张三", "root_cause_process": "发布前没有压测", "actions": [{"text": "x"}]},
        headers=AUTH,
    )
    some = (await (await client.get(url, headers=AUTH)).json())["completeness"]
    assert some["filled"] == 2
    assert some["missing"] == [n for n in CHECKS if n not in ("owner", "root_cause")]
    draft = await markdown(client, incident_id)
    assert f"人工填写 2/{len(CHECKS)} 项，待填：参与人员、" in draft
    await log_in(client)
    page = await (await client.get(f"/incidents/{incident_id}")).text()
    assert f"人工填写 2/{len(CHECKS)} 项" in page
    # what is left, each part linking to its section's form
    assert f"还差 {len(CHECKS) - 2} 项" in page
    assert (
        '<a href="#section-actions">行动计划（至少一项有负责人）</a> <strong>(批准前必填)</strong>'
        in page
    )
    assert '<details class="section-edit" id="section-actions">' in page


async def test_approval_refused_with_what_is_missing_then_overridden_with_a_reason(
    make_client: Callable[..., Awaitable[TestClient[Any, Any]]], clock: Clock
) -> None:
    client = await make_client()
    incident_id = await in_review(client, clock)
    status, body = await approve(client, incident_id)
    assert status == 409
    assert body["error"] == "incomplete"
    assert body["missing"] == ["owner", "affected", "direct_cause", "root_cause", "actions"]
    assert [d["field"] for d in body["details"]] == body["missing"]

    await client.patch(
        f"/api/v1/incidents/{incident_id}",
        json={"owner": "张三", "affected_features": "支付"},
        headers=AUTH,
    )
    status, body = await approve(client, incident_id)
    assert (status, body["missing"]) == (409, ["direct_cause", "root_cause", "actions"])
    status, body = await approve(client, incident_id, override_reason="   ")
    assert status == 409  # a blank reason is no reason
    status, body = await approve(client, incident_id, override_reason="x" * 2001)
    assert (status, body["error"]) == (422, "invalid_override_reason")

    # the page refuses the same way, in the page's language
    await log_in(client)
    page = await (await client.get(f"/incidents/{incident_id}")).text()
    assert 'name="override_reason"' in page
    # the approve button is disabled and says why; the override asks for a reason
    assert '<button type="button" disabled aria-describedby="approval-why">批准</button>' in page
    assert (
        "必填项未填全，暂不能批准。还缺：直接原因、根本原因（至少一项）、"
        "行动计划（至少一项有负责人）" in page
    )
    assert '<textarea name="override_reason" rows="2" maxlength="2000" required>' in page
    refused = await client.post(
        f"/incidents/{incident_id}/status",
        data={"csrf_token": csrf_of(page), "status": "approved"},
    )
    assert refused.status == 409
    assert "以下必填项尚未填写：直接原因、根本原因（至少一项）、" in await refused.text()

    status, body = await approve(
        client, incident_id, override_reason="周会已口头复盘，原因待厂商回复"
    )
    assert status == 200, body
    assert body["status"] == "approved"
    detail = await (await client.get(f"/api/v1/incidents/{incident_id}", headers=AUTH)).json()
    assert detail["approval_override"] == "周会已口头复盘，原因待厂商回复"
    draft = await markdown(client, incident_id)
    assert "> **未填全即批准**，理由：周会已口头复盘，原因待厂商回复" in draft
    page = await (await client.get(f"/incidents/{incident_id}")).text()
    assert "未填全即批准，理由: 周会已口头复盘，原因待厂商回复" in page
    # the activity list, in words
    assert re.search(r"<li>\S+ 于 [-\d]+ [:\d]+ 在必填项未填全时批准，理由：周会已口头复盘，", page)
    # the audit log keeps the reason and what was missing
    audit = await client.app[SERVICE].review.audit_log(incident_id)
    assert audit[-1].detail == {
        "from": "in_review",
        "to": "approved",
        "override_reason": "周会已口头复盘，原因待厂商回复",
        "missing": ["direct_cause", "root_cause", "actions"],
    }

    # moving back and approving once everything required is filled drops the override
    await client.post(
        f"/api/v1/incidents/{incident_id}/status", json={"status": "in_review"}, headers=AUTH
    )
    await client.patch(f"/api/v1/incidents/{incident_id}", json=EVERY_FIELD, headers=AUTH)
    status, _ = await approve(client, incident_id)
    assert status == 200
    assert "未填全即批准" not in await markdown(client, incident_id)


async def test_required_set_is_configurable(
    make_client: Callable[..., Awaitable[TestClient[Any, Any]]],
    make_settings: Callable[..., Settings],
    clock: Clock,
) -> None:
    client = await make_client(approval_required="owner,lessons")
    incident_id = await in_review(client, clock)
    status, body = await approve(client, incident_id)
    assert (status, body["missing"]) == (409, ["owner", "lessons"])
    await client.patch(
        f"/api/v1/incidents/{incident_id}",
        json={"owner": "张三", "lessons_failure": "告警阈值过高"},
        headers=AUTH,
    )
    status, _ = await approve(client, incident_id)
    assert status == 200
    with pytest.raises(ConfigError, match="root_causes"):
        make_settings(approval_required="owner,root_causes")
