"""deploy/changes/: the Flux, Argo CD and kubernetes-event-exporter configuration we ship
parses, points at the receiver's endpoints, and sends the headers and bodies the receiver
checks and reads."""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

from receiver.changes.argocd import read_argocd
from receiver.changes.kubernetes import _WORKLOADS
from receiver.domain.changes import ChangeSource, ServiceChange
from receiver.web.api.changes import _FEEDS
from tests.conftest import REPO

DEPLOY = REPO / "deploy" / "changes"


def documents(name: str) -> dict[str, dict[str, Any]]:
    docs = list(yaml.safe_load_all((DEPLOY / name).read_text(encoding="utf-8")))
    return {f"{doc['kind']}/{doc['metadata']['name']}": doc for doc in docs}


def endpoint(source: ChangeSource) -> str:
    return f"/api/v1/changes/{source.value}"


def test_flux_provider_signs_with_hmac_for_the_flux_endpoint() -> None:
    docs = documents("flux.yaml")
    provider = docs["Provider/postmortem-receiver"]
    assert provider["apiVersion"] == "notification.toolkit.fluxcd.io/v1beta3"
    assert provider["spec"]["type"] == "generic-hmac"  # X-Signature: sha256=<hex>
    assert _FEEDS[ChangeSource.FLUX][1] == "X-Signature"
    assert provider["spec"]["address"].endswith(endpoint(ChangeSource.FLUX))
    secret = docs[f"Secret/{provider['spec']['secretRef']['name']}"]
    assert "token" in secret["stringData"]  # the Provider's HMAC key
    alert = docs["Alert/postmortem-receiver"]
    assert alert["spec"]["providerRef"]["name"] == "postmortem-receiver"
    assert alert["spec"]["eventSeverity"] == "info"
    kinds = {source["kind"] for source in alert["spec"]["eventSources"]}
    assert kinds == {"Kustomization", "HelmRelease"}


def test_argocd_webhook_service_template_triggers_and_subscription() -> None:
    docs = documents("argocd-notifications-cm.yaml")
    data = docs["ConfigMap/argocd-notifications-cm"]["data"]
    service = yaml.safe_load(data["service.webhook.postmortem"])
    assert service["url"].endswith(endpoint(ChangeSource.ARGOCD))
    headers = {header["name"]: header["value"] for header in service["headers"]}
    assert _FEEDS[ChangeSource.ARGOCD][1] == "Authorization"
    assert headers["Authorization"] == "Bearer $postmortem-receiver-token"
    secret = docs["Secret/argocd-notifications-secret"]
    assert "postmortem-receiver-token" in secret["stringData"]
    for trigger in ("on-sync-succeeded", "on-deployed"):
        [rule] = yaml.safe_load(data[f"trigger.{trigger}"])
        assert rule["send"] == ["postmortem-change"]
    [subscription] = yaml.safe_load(data["subscriptions"])
    assert subscription["recipients"] == ["postmortem"]
    assert set(subscription["triggers"]) == {"on-sync-succeeded", "on-deployed"}


def test_argocd_template_renders_the_body_the_receiver_reads() -> None:
    """The template with each `{{ … | toJson }}` replaced by what Argo CD would render
    for the fixture's sync: valid JSON, every key one the receiver reads."""
    data = documents("argocd-notifications-cm.yaml")["ConfigMap/argocd-notifications-cm"]["data"]
    body = yaml.safe_load(data["template.postmortem-change"])["webhook"]["postmortem"]["body"]
    rendered_values = json.loads(
        (REPO / "tests/fixtures/changes/argocd/on-sync-succeeded.json").read_text("utf-8")
    )
    keys = re.findall(r'^\s*"(\w+)": .*\{\{', body, flags=re.MULTILINE)
    assert "trigger" not in keys  # the template does not know which trigger fired
    assert set(keys) <= set(rendered_values)
    rendered = re.sub(
        r'^(\s*"(\w+)": ).*$',
        lambda m: m.group(1) + json.dumps(rendered_values[m.group(2)], ensure_ascii=False) + ",",
        body,
        flags=re.MULTILINE,
    )
    rendered = re.sub(r",(\s*})", r"\1", rendered)
    change = read_argocd(json.loads(rendered))
    assert isinstance(change, ServiceChange)
    assert (change.service, change.object_name) == ("payments", "payments-api")


def test_event_exporter_posts_whole_workload_events_with_the_bearer_token() -> None:
    docs = documents("kubernetes-event-exporter.yaml")
    config = yaml.safe_load(docs["ConfigMap/event-exporter-cfg"]["data"]["config.yaml"])
    [receiver] = config["receivers"]
    webhook = receiver["webhook"]
    assert webhook["endpoint"].endswith(endpoint(ChangeSource.KUBERNETES))
    assert "layout" not in webhook  # the whole Event, involvedObject's labels included
    assert _FEEDS[ChangeSource.KUBERNETES][1] == "Authorization"
    assert webhook["headers"]["Authorization"].startswith("Bearer ${")
    [route] = config["route"]["routes"]
    [match] = route["match"]
    assert match["receiver"] == receiver["name"]
    assert set(match["kind"].split("|")) == set(_WORKLOADS)
    assert set(match["reason"].split("|")) == set().union(*_WORKLOADS.values())
