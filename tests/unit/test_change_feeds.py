"""Each change feed's reader on its source's own payloads (tests/fixtures/changes, see
SOURCES.md there), and each feed's signature check with its documented algorithm."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from receiver.changes.common import SOURCE_ID_MAX, Ignored
from receiver.changes.read import read_change
from receiver.changes.verify import (
    bearer_ok,
    flux_signature_ok,
    github_signature_ok,
    token_ok,
)
from receiver.domain.changes import ChangeSource, ChangeType, ServiceChange
from tests.conftest import FIXTURES

CHANGES = FIXTURES / "changes"


def body(name: str) -> str:
    return (CHANGES / name).read_text(encoding="utf-8")


def read(source: ChangeSource, name: str) -> ServiceChange:
    change = read_change(source, body(name))
    assert isinstance(change, ServiceChange), change
    return change


# -- signatures ----------------------------------------------------------------------------


def test_github_signature_matches_githubs_published_test_vector() -> None:
    # docs.github.com, "Validating webhook deliveries": this secret, payload and signature
    secret, payload = "It's a Secret to Everybody", b"Hello, World!"
    header = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert github_signature_ok(header, payload, secret)
    assert not github_signature_ok(header, b"Hello, World?", secret)
    assert not github_signature_ok(header, payload, "another secret")
    assert not github_signature_ok(header.replace("sha256=", "sha1="), payload, secret)
    assert not github_signature_ok("", payload, secret)
    assert not github_signature_ok("sha256=zzzz", payload, secret)
    assert not github_signature_ok("sha256=" + "é" * 64, payload, secret)


@pytest.mark.parametrize("algorithm", ["sha224", "sha256", "sha384", "sha512"])
def test_flux_signature_takes_each_hash_its_controller_may_use(algorithm: str) -> None:
    payload = body("flux/kustomization-reconciled.json").encode()
    digest = hmac.new(b"flux-token", payload, getattr(hashlib, algorithm)).hexdigest()
    assert flux_signature_ok(f"{algorithm}={digest}", payload, "flux-token")
    assert flux_signature_ok(f"{algorithm}={digest.upper()}", payload, "flux-token")
    assert not flux_signature_ok(f"{algorithm}={digest}", payload + b" ", "flux-token")
    assert not flux_signature_ok(f"{algorithm}={digest}", payload, "other-token")
    assert not flux_signature_ok(digest, payload, "flux-token")  # no "<hash>="


def test_flux_refuses_an_unknown_hash() -> None:
    payload = b"{}"
    digest = hmac.new(b"k", payload, hashlib.md5).hexdigest()
    assert not flux_signature_ok(f"md5={digest}", payload, "k")


def test_tokens_match_only_exactly() -> None:
    assert token_ok("gl-secret", "gl-secret")
    assert not token_ok("gl-secret ", "gl-secret")
    assert not token_ok("令牌", "gl-secret")
    assert bearer_ok("Bearer argo-token", "argo-token")
    assert bearer_ok("bearer  argo-token ", "argo-token")
    assert not bearer_ok("Basic argo-token", "argo-token")
    assert not bearer_ok("Bearer argo", "argo-token")
    assert not bearer_ok("", "argo-token")


# -- readers -------------------------------------------------------------------------------


def test_flux_kustomization_reconciled_at_a_revision_is_a_deploy() -> None:
    change = read(ChangeSource.FLUX, "flux/kustomization-reconciled.json")
    assert change.type is ChangeType.DEPLOY
    assert change.service == "payments"
    assert (change.namespace, change.object_kind, change.object_name) == (
        "prod",
        "Kustomization",
        "payments",
    )
    assert change.to_version == "main@sha1:731f7eaddfb6af01cb2173e18f0f75b0ba780ef1"
    assert change.started_at == datetime(2026, 11, 26, 19, 2, 10, tzinfo=UTC)
    assert change.actor == "kustomize-controller"
    assert change.source_id == (
        "7d0cdc51-ddcf-4743-b223-83ca5c699632:"
        "main@sha1:731f7eaddfb6af01cb2173e18f0f75b0ba780ef1:ReconciliationSucceeded"
    )


def test_flux_helm_upgrade_is_a_deploy_of_the_chart_version() -> None:
    change = read(ChangeSource.FLUX, "flux/helmrelease-upgrade-succeeded.json")
    assert change.type is ChangeType.DEPLOY
    assert change.object_kind == "HelmRelease"
    assert change.to_version == "6.5.4"
    assert "checkout@6.5.4" in change.summary
    assert change.labels == {"token": "a1b2c3d4"}


def test_flux_errors_are_not_changes() -> None:
    result = read_change(ChangeSource.FLUX, body("flux/kustomization-validation-failed.json"))
    assert isinstance(result, Ignored)
    assert "ValidationFailed" in result.reason


def test_flux_rollback_is_a_rollback() -> None:
    data = json.loads(body("flux/helmrelease-upgrade-succeeded.json"))
    data["reason"] = "RollbackSucceeded"
    change = read_change(ChangeSource.FLUX, json.dumps(data))
    assert isinstance(change, ServiceChange)
    assert change.type is ChangeType.ROLLBACK


def test_argocd_both_triggers_of_one_sync_are_one_change() -> None:
    synced = read(ChangeSource.ARGOCD, "argocd/on-sync-succeeded.json")
    deployed = read(ChangeSource.ARGOCD, "argocd/on-deployed.json")
    assert synced.source_id == deployed.source_id
    assert synced.service == "payments"  # the app's service label, not the app's name
    assert synced.object_name == "payments-api"
    assert synced.to_version == "8f3a2c1d9b7e6f5a4c3b2a1908f7e6d5c4b3a291"
    assert synced.actor == "张三 <zhangsan@example.com>"
    assert synced.started_at == datetime(2026, 11, 26, 18, 57, 2, tzinfo=UTC)
    assert synced.finished_at == datetime(2026, 11, 26, 18, 57, 44, tzinfo=UTC)
    assert synced.link == "https://argocd.example.com/applications/payments-api"
    assert "raise the connection pool" in synced.summary


def test_argocd_without_a_service_label_names_the_app() -> None:
    data = json.loads(body("argocd/on-sync-succeeded.json"))
    data["service"] = "<no value>"
    change = read_change(ChangeSource.ARGOCD, json.dumps(data))
    assert isinstance(change, ServiceChange)
    assert change.service == "payments-api"


def test_github_successful_deployment_status() -> None:
    change = read(ChangeSource.GITHUB, "github/deployment_status-success.json")
    assert change.source_id == "2838465220"
    assert change.type is ChangeType.DEPLOY
    assert change.service == "payments"
    assert change.to_version == "v2.32.0@8f3a2c1d9b7e"
    assert change.actor == "zhangsan"
    assert change.started_at == datetime(2026, 11, 26, 18, 56, 10, tzinfo=UTC)
    assert change.finished_at == datetime(2026, 11, 26, 18, 58, 30, tzinfo=UTC)
    assert change.link == "https://github.com/example/payments/actions/runs/7126542318"
    assert change.labels == {"environment": "production"}


def test_github_unfinished_deployment_is_not_a_change() -> None:
    result = read_change(ChangeSource.GITHUB, body("github/deployment_status-in_progress.json"))
    assert isinstance(result, Ignored)


def test_gitlab_successful_deployment() -> None:
    change = read(ChangeSource.GITLAB, "gitlab/deployment-success.json")
    assert change.source_id == "15:success"
    assert change.service == "checkout"
    assert change.to_version == "v1.8.0@279484c0"
    assert change.actor == "lisi"
    # GitLab's "2026-11-27 02:59:00 +0800"
    assert change.started_at == datetime(2026, 11, 26, 18, 59, tzinfo=UTC)
    assert change.summary == "checkout: new payment timeout"
    assert change.link == "https://gitlab.example.com/shop/checkout/-/jobs/796"


def test_gitlab_running_deployment_is_not_a_change() -> None:
    assert isinstance(
        read_change(ChangeSource.GITLAB, body("gitlab/deployment-running.json")), Ignored
    )


def test_kubernetes_new_replica_set_is_a_rollout_with_its_change_cause() -> None:
    change = read(ChangeSource.KUBERNETES, "kubernetes/deployment-rollout.json")
    assert change.type is ChangeType.DEPLOY
    assert change.source_id == "b2c7e0a4-5d1f-4c8e-9a3b-6f2e1d0c9b8a"  # the event's uid
    assert change.service == "payments"  # app.kubernetes.io/name
    assert change.to_version == "payments-api-7d9c8b6f5"
    assert "release v2.32.0" in change.summary
    assert change.labels == {"app.kubernetes.io/name": "payments", "team": "pay"}


def test_kubernetes_scaling_keeps_from_and_to_replicas() -> None:
    change = read(ChangeSource.KUBERNETES, "kubernetes/deployment-scale.json")
    assert change.type is ChangeType.SCALE
    assert (change.from_version, change.to_version) == ("3", "6")


def test_kubernetes_pod_events_are_not_changes() -> None:
    assert isinstance(
        read_change(ChangeSource.KUBERNETES, body("kubernetes/pod-backoff.json")), Ignored
    )


def test_manual_change_hashes_its_fields_unless_it_names_an_id() -> None:
    change = read(ChangeSource.MANUAL, "manual/deploy.json")
    assert change.type is ChangeType.DEPLOY
    assert (change.from_version, change.to_version, change.actor) == ("v2.31.4", "v2.32.0", "张三")
    assert change.started_at == datetime(2026, 11, 26, 18, 55, tzinfo=UTC)
    assert change.source_id.startswith("sha256:")
    again = read(ChangeSource.MANUAL, "manual/deploy.json")
    assert again.source_id == change.source_id
    data = json.loads(body("manual/deploy.json"))
    later = read_change(
        ChangeSource.MANUAL, json.dumps({**data, "at": "2026-11-27T03:00:00+08:00"})
    )
    assert isinstance(later, ServiceChange)
    assert later.source_id != change.source_id
    named = read_change(ChangeSource.MANUAL, json.dumps({**data, "id": "release-2032"}))
    assert isinstance(named, ServiceChange)
    assert named.source_id == "id:release-2032"


@pytest.mark.parametrize(
    ("source", "text"),
    [
        (ChangeSource.MANUAL, '{"service": "p", "type": "deploy", "what": "x"}'),  # no time
        (
            ChangeSource.MANUAL,
            '{"service": "p", "type": "reboot", "what": "x", "at": "2026-11-26T19:00:00Z"}',
        ),
        (
            ChangeSource.MANUAL,
            '{"service": "p", "type": "deploy", "what": "x", "at": "2026-11-26T19:00:00"}',
        ),
        (ChangeSource.GITHUB, '{"zen": "Keep it logically awesome."}'),
        (ChangeSource.GITLAB, '{"object_kind": "push"}'),
        (ChangeSource.FLUX, '{"reason": "ReconciliationSucceeded"}'),
        (ChangeSource.ARGOCD, '{"app": "payments-api"}'),
        (ChangeSource.KUBERNETES, "[]"),
    ],
)
def test_bodies_that_are_not_the_sources_are_refused(source: ChangeSource, text: str) -> None:
    with pytest.raises((ValidationError, ValueError)):
        read_change(source, text)


def test_hostile_text_is_kept_as_text_and_long_ids_fit_the_store() -> None:
    data = json.loads(body("flux/kustomization-reconciled.json"))
    hostile = "# 标题\n<script>alert(1)</script> {{ 7*7 }} " + "x" * 10_000
    data["message"] = hostile
    data["metadata"]["kustomize.toolkit.fluxcd.io/revision"] = "r" * 300
    change = read_change(ChangeSource.FLUX, json.dumps(data))
    assert isinstance(change, ServiceChange)
    assert len(change.source_id) <= SOURCE_ID_MAX
    assert change.summary.startswith("Kustomization prod/payments ReconciliationSucceeded: # 标题")
    assert len(change.summary) <= 2000


def test_every_fixture_is_documented() -> None:
    sources = (CHANGES / "SOURCES.md").read_text(encoding="utf-8")
    for folder in sorted(path for path in CHANGES.iterdir() if path.is_dir()):
        assert f"`{folder.name}/" in sources, folder
    assert all(isinstance(p, Path) for p in CHANGES.rglob("*.json"))
