"""Routes, matchers and channel settings of [notify], and which changes are worth a message."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from receiver.config import ConfigError, load_settings
from receiver.config.notify import Matcher, NotifyEvent, NotifySettings
from receiver.domain.incident import Change, EntryKind, IncidentStatus
from receiver.domain.lifecycle import apply_webhook, incident_key, mark_stale, open_incident
from receiver.notify.compose import compose
from receiver.notify.events import events_of
from receiver.notify.message import Message
from receiver.notify.routing import channels_for, route_labels
from receiver.usecases.service import rules_from
from tests.conftest import hook

URL = "https://open.feishu.cn/open-apis/bot/v2/hook/abc"


def notify(**values: Any) -> NotifySettings:
    channels = [
        {"name": name, "type": "webhook", "url": f"https://example.invalid/{name}"}
        for name in ("sre", "payments", "db", "fallback")
    ]
    return NotifySettings.model_validate({"channels": channels, **values})


@pytest.mark.parametrize(
    ("text", "labels", "expected"),
    [
        ('service="payments"', {"service": "payments"}, True),
        ('service="payments"', {"service": "payments-api"}, False),
        ('service!="payments"', {}, True),
        ('priority=~"P0|P1"', {"priority": "P1"}, True),
        ('priority=~"P0|P1"', {"priority": "P10"}, False),  # anchored, as in Alertmanager
        ('namespace!~"kube-.*"', {"namespace": "kube-system"}, False),
        ("team=sre", {"team": "sre"}, True),
        ('summary="say \\"hi\\""', {"summary": 'say "hi"'}, True),
        ('服务="支付"', {"服务": "支付"}, False),  # label names are Prometheus names
    ],
)
def test_matchers_behave_like_alertmanagers(
    text: str, labels: dict[str, str], expected: bool
) -> None:
    try:
        matcher = Matcher.parse(text)
    except ValueError:
        assert not expected
        return
    assert matcher.matches(labels) is expected


def test_first_matching_route_wins_unless_it_continues() -> None:
    settings = notify(
        routes=[
            {"matchers": ['priority=~"P0|P1"'], "channels": ["sre"], "continue": True},
            {"matchers": ['service="payments"'], "channels": ["payments"]},
            {"matchers": ['service=~"pay.*"'], "channels": ["db"]},
        ],
        default_channels=["fallback"],
    )
    payments_p1 = {"service": "payments", "priority": "P1"}
    assert channels_for(settings, payments_p1, NotifyEvent.OPENED) == ["sre", "payments"]
    payments_p3 = {"service": "payments", "priority": "P3"}
    assert channels_for(settings, payments_p3, NotifyEvent.OPENED) == ["payments"]
    other = {"service": "checkout", "priority": "P3"}
    assert channels_for(settings, other, NotifyEvent.OPENED) == ["fallback"]


def test_events_are_chosen_globally_and_per_route() -> None:
    settings = notify(
        routes=[
            {"matchers": ['service="payments"'], "channels": ["payments"], "events": ["approved"]}
        ],
        default_channels=["fallback"],
        events=["opened", "draft_written"],
    )
    assert channels_for(settings, {"service": "payments"}, NotifyEvent.OPENED) == []
    assert channels_for(settings, {"service": "payments"}, NotifyEvent.APPROVED) == ["payments"]
    assert channels_for(settings, {"service": "x"}, NotifyEvent.DRAFT_WRITTEN) == ["fallback"]
    assert channels_for(settings, {"service": "x"}, NotifyEvent.STALE) == []


def test_config_file_with_secrets_from_env_and_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret_file = tmp_path / "dingtalk-secret"
    secret_file.write_text("SEC0123456789\n")
    monkeypatch.setenv("FEISHU_URL", URL)
    config = tmp_path / "receiver.toml"
    config.write_text(
        f"""
public_url = "https://pm.example.com"

[notify]
default_channels = ["feishu-sre"]
give_up_after = "30m"

[[notify.channels]]
name = "feishu-sre"
type = "feishu"
url_env = "FEISHU_URL"

[[notify.channels]]
name = "dingtalk-pay"
type = "dingtalk"
url = "https://oapi.dingtalk.com/robot/send?access_token=t0k3n"
secret_file = "{secret_file}"
rate_per_minute = 10

[[notify.routes]]
matchers = ['service="payments"', 'priority=~"P0|P1"']
channels = ["dingtalk-pay"]
continue = true
""",
        encoding="utf-8",
    )
    settings = load_settings(config).notify
    assert settings.give_up_after == timedelta(minutes=30)
    feishu, dingtalk = settings.channels
    assert feishu.resolved_url() == URL
    assert dingtalk.resolved_secret() == "SEC0123456789"
    assert dingtalk.rate_per_minute == 10
    assert settings.routes[0].continue_
    # secrets stay out of reprs (and so out of logs and tracebacks)
    assert "t0k3n" not in repr(settings)
    assert "SEC0123456789" not in repr(settings)


@pytest.mark.parametrize(
    ("notify_values", "problem"),
    [
        ({"channels": [{"name": "a", "type": "feishu"}]}, "set url, url_env or url_file"),
        (
            {"channels": [{"name": "a", "type": "feishu", "url_env": "NO_SUCH_VARIABLE_HERE"}]},
            "NO_SUCH_VARIABLE_HERE, which is not set",
        ),
        (
            {"channels": [{"name": "a", "type": "irc", "url": URL}]},
            "channels.0.type: Input should be",
        ),
        ({"channels": [{"name": "a", "type": "slack", "url": "ftp://x"}]}, "must be http(s)"),
        ({"default_channels": ["nope"]}, "unknown channels: nope"),
        (
            {"routes": [{"matchers": ['service=~"("'], "channels": []}]},
            "bad regular expression",
        ),
        (
            {
                "channels": [
                    {"name": "a", "type": "slack", "url": URL},
                    {"name": "a", "type": "slack", "url": URL},
                ]
            },
            "unique",
        ),
    ],
)
def test_bad_notify_settings_are_refused_with_a_reason(
    notify_values: dict[str, Any], problem: str
) -> None:
    with pytest.raises(ConfigError) as error:
        load_settings(notify=notify_values)
    assert "RECEIVER_NOTIFY" in str(error.value)
    assert problem in str(error.value)


def test_a_real_incident_brings_its_events_in_order() -> None:
    rules = rules_from(load_settings())
    firing = hook("firing_single")
    now = firing.alerts[0].starts_at + timedelta(minutes=1)
    change = apply_webhook(
        open_incident(firing, incident_key(firing), now, rules), firing, now, rules
    )
    change.state.incident.id = 7
    assert events_of(change, now, None) == [NotifyEvent.OPENED]

    later = now + timedelta(hours=5)
    stale = mark_stale(Change(state=change.state), later, timedelta(hours=5))
    assert events_of(stale, later, None) == [NotifyEvent.STALE]

    resolved = hook("resolved_single")
    end = later + timedelta(minutes=1)
    recovered = apply_webhook(Change(state=stale.state), resolved, end, rules)
    assert recovered.recovered
    assert events_of(recovered, end, 1) == [NotifyEvent.DRAFT_WRITTEN]
    assert events_of(recovered, end, 2) == [NotifyEvent.DRAFT_REVISED]
    assert events_of(recovered, end, None) == []  # a refresh of the same revision

    incident = recovered.state.incident
    incident.status, incident.approved_at = IncidentStatus.APPROVED, end
    assert events_of(Change(state=recovered.state), end, None) == [NotifyEvent.APPROVED]
    assert any(e.kind is EntryKind.STALE for e in stale.new_entries)

    message = compose(
        NotifyEvent.DRAFT_WRITTEN,
        incident,
        language="zh",
        zone="Asia/Shanghai",
        public_url="https://pm.example.com/",
        acknowledged_by="alice",
    )
    assert message.link == "https://pm.example.com/incidents/7"
    assert (
        message.duration == incident.ended_at - incident.started_at if incident.ended_at else False
    )
    assert message.headline == "事故已恢复，复盘草稿已生成，请审阅"
    assert Message.from_json(message.to_json()) == message
    labels = route_labels(incident)
    assert labels["service"] == incident.service
    assert labels["priority"] == incident.priority
    assert labels["alertname"] == firing.common_labels["alertname"]
