"""The Kubernetes deployment in deploy/: it builds, it validates, and it says what it should.

`kubectl kustomize` renders each kustomization the README applies; every built-in object
is validated offline against the Kubernetes schemas that kubernetes-validate ships (strict:
an unknown or misplaced field fails); the prometheus-operator objects, whose CRD schemas
are not shipped, are checked for the fields the operator requires. Then the properties
that matter are asserted on the rendered objects: what `kubectl apply -k` would send.
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from receiver.config import Settings, load_settings
from receiver.metrics import Metrics
from receiver.units import parse_duration
from tests.processes import debian_command

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
K8S = DEPLOY / "k8s"
OVERLAYS = ("sqlite", "postgres")
KUSTOMIZATIONS = {
    "sqlite": K8S / "overlays" / "sqlite",
    "postgres": K8S / "overlays" / "postgres",
    "monitoring": K8S / "monitoring",
}
# The oldest Kubernetes the manifests are written for; kubernetes-validate ships its schemas.
K8S_VERSION = "1.31.0"
NAMESPACE = "monitoring"
NAME = "postmortem-receiver"
STATE_DIR = "/var/lib/postmortem-receiver"
DATA_DIR = f"{STATE_DIR}/data"
DRAFTS_DIR = f"{STATE_DIR}/drafts"
OPERATOR_GROUP = "monitoring.coreos.com/"
# the README's example of a user's own overlay, which the repository does not hold
OWN_OVERLAY = "deploy/k8s/overlays/mine"
CONTAINERFILE = REPO / "Containerfile"
# The Containerfile's user and group
UID = 10001
DURATION = re.compile(r"^(0|(\d+y)?(\d+w)?(\d+d)?(\d+h)?(\d+m)?(\d+s)?(\d+ms)?)$")

Obj = dict[str, Any]


@functools.cache
def _render(directory: Path) -> tuple[Obj, ...]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed: it renders deploy/k8s (kubectl kustomize)")
    result = subprocess.run(
        [kubectl, "kustomize", str(directory)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"kubectl kustomize {directory} failed:\n{result.stderr}"
    objects = tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)
    assert objects, f"kubectl kustomize {directory} rendered nothing"
    return objects


def render(name: str) -> list[Obj]:
    return list(_render(KUSTOMIZATIONS[name]))


def the(objects: list[Obj], kind: str, name: str | None = None) -> Obj:
    found = [
        obj
        for obj in objects
        if obj["kind"] == kind and (name is None or obj["metadata"]["name"] == name)
    ]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


def container(deployment: Obj) -> Obj:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["receiver"]
    result: Obj = containers[0]
    return result


def settings_data(objects: list[Obj]) -> dict[str, str]:
    """The settings ConfigMap the Deployment's envFrom names (its generated, hashed name)."""
    deployment = the(objects, "Deployment", NAME)
    refs = [source["configMapRef"]["name"] for source in container(deployment)["envFrom"]]
    assert len(refs) == 1
    assert refs[0].startswith(f"{NAME}-settings-"), "the settings ConfigMap is generated"
    data: dict[str, str] = the(objects, "ConfigMap", refs[0])["data"]
    return data


def matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


def image_volumes() -> list[str]:
    """The VOLUMEs the Containerfile declares (the image the Deployment runs)."""
    text = CONTAINERFILE.read_text(encoding="utf-8")
    declared = re.findall(r"^VOLUME\s+(\[.*?\])\s*$", text, flags=re.MULTILINE)
    assert declared, "the Containerfile declares no VOLUME"
    return [path for entry in declared for path in json.loads(entry)]


def load_yaml(path: Path) -> Obj:
    data: Obj = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data


# --- every object is valid ------------------------------------------------------------


def test_the_pinned_kubernetes_version_is_shipped() -> None:
    shipped = kubernetes_validate.utils.all_versions()
    assert K8S_VERSION in shipped, (
        f"kubernetes-validate {kubernetes_validate.__version__} no longer ships the "
        f"schemas for Kubernetes {K8S_VERSION} (it has {shipped[0]}..{shipped[-1]}): "
        "raise K8S_VERSION to the oldest Kubernetes the manifests still support"
    )


@pytest.mark.parametrize("name", list(KUSTOMIZATIONS))
def test_kustomization_builds_and_every_object_validates(name: str) -> None:
    objects = render(name)
    problems: list[str] = []
    for obj in objects:
        where = f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
        if obj.get("metadata", {}).get("namespace") != NAMESPACE:
            problems.append(f"{where}: not in namespace {NAMESPACE}")
        if str(obj.get("apiVersion", "")).startswith(OPERATOR_GROUP):
            problems += [f"{where}: {p}" for p in operator_object_problems(obj)]
            continue
        try:
            kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            path = ".".join(str(part) for part in exc.path)
            problems.append(f"{where}: {path}: {exc.message}")
        except kubernetes_validate.SchemaNotFoundError as exc:
            problems.append(f"{where}: {exc.message}")
    assert problems == []


def test_each_kustomization_renders_exactly_its_objects() -> None:
    def kinds(name: str) -> list[str]:
        return sorted(f"{o['kind']}/{o['metadata']['name']}" for o in render(name))

    common = [
        f"Deployment/{NAME}",
        f"NetworkPolicy/{NAME}",
        f"PodDisruptionBudget/{NAME}",
        f"Service/{NAME}",
        f"ServiceAccount/{NAME}",
    ]
    for overlay in OVERLAYS:
        rendered = [k for k in kinds(overlay) if not k.startswith(f"ConfigMap/{NAME}-settings-")]
        extra = [f"PersistentVolumeClaim/{NAME}-data"] if overlay == "sqlite" else []
        assert rendered == sorted(common + extra), overlay
    assert kinds("monitoring") == [
        f"AlertmanagerConfig/{NAME}",
        f"PrometheusRule/{NAME}",
        f"ServiceMonitor/{NAME}",
    ]


def test_no_overlay_renders_a_secret() -> None:
    """`kubectl apply -k` must never overwrite the real token with an example one."""
    for overlay in OVERLAYS:
        assert [o for o in render(overlay) if o["kind"] == "Secret"] == [], overlay


def test_example_secrets_are_valid_examples_and_never_applied() -> None:
    examples = {
        K8S / "base" / "token-secret.example.yaml": ("postmortem-receiver-token", "token"),
        K8S / "overlays" / "postgres" / "database-secret.example.yaml": (
            "postmortem-receiver-database",
            "url",
        ),
    }
    for path, (name, key) in examples.items():
        secret = load_yaml(path)
        kubernetes_validate.validate(secret, K8S_VERSION, strict=True)
        assert secret["kind"] == "Secret"
        assert secret["metadata"] == secret["metadata"] | {"name": name, "namespace": NAMESPACE}
        assert "CHANGE-ME" in secret["stringData"][key], f"{path.name} holds a real-looking value"
        assert set(secret["stringData"]) == {key}
        kustomization = (path.parent / "kustomization.yaml").read_text(encoding="utf-8")
        listed = re.findall(r"^\s*-\s*(\S+)\s*$", kustomization, flags=re.MULTILINE)
        assert path.name not in listed, f"{path.name} must not be applied"


# --- both overlays: the pod --------------------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_pod_runs_unprivileged_on_a_read_only_root(overlay: str) -> None:
    deployment = the(render(overlay), "Deployment", NAME)
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"] == pod["securityContext"] | {
        "runAsNonRoot": True,
        "runAsUser": UID,
        "runAsGroup": UID,
        "fsGroup": UID,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    user = re.search(r"^USER\s+(\d+):(\d+)\s*$", CONTAINERFILE.read_text(encoding="utf-8"), re.M)
    assert user is not None, "the Containerfile names its user by number"
    assert (int(user[1]), int(user[2])) == (UID, UID)
    assert pod["automountServiceAccountToken"] is False
    assert pod["serviceAccountName"] == NAME
    assert the(render(overlay), "ServiceAccount", NAME)["automountServiceAccountToken"] is False
    security = container(deployment)["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert security.get("privileged", False) is False
    # nothing in the container may undo the pod's user
    assert security.get("runAsUser", UID) == UID
    assert security.get("runAsNonRoot", True) is True


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_path_the_receiver_writes_is_a_volume(overlay: str) -> None:
    objects = render(overlay)
    deployment = the(objects, "Deployment", NAME)
    mounts = {m["mountPath"]: m for m in container(deployment)["volumeMounts"]}
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    assert set(volumes) == {m["name"] for m in mounts.values()}
    assert "emptyDir" in volumes[mounts["/tmp"]["name"]]
    data = settings_data(objects)
    writable = [data["RECEIVER_DRAFTS_DIR"]]
    if data.get("RECEIVER_DATABASE_URL", "").startswith("sqlite:"):
        writable.append(data["RECEIVER_DATABASE_URL"].removeprefix("sqlite:///"))
    for path in writable:
        under = [m for m in mounts if path == m or path.startswith(f"{m}/")]
        assert under, f"{path} is on the read-only root filesystem"
        assert not mounts[max(under, key=len)].get("readOnly", False), path
    # The image's VOLUMEs are mounted exactly: a volume only on their parent would leave
    # the runtime to mount anonymous ones over these paths, and the files would be there.
    for path in image_volumes():
        assert path in mounts, f"the image's VOLUME {path} is not a volume of the pod"
    # the optional template overrides: read-only, and absent is fine
    templates = mounts[data["RECEIVER_TEMPLATE_DIR"]]
    assert templates["readOnly"] is True
    assert volumes[templates["name"]]["configMap"] == {
        "name": f"{NAME}-templates",
        "optional": True,
    }


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_probes_port_resources_and_shutdown(overlay: str) -> None:
    objects = render(overlay)
    deployment = the(objects, "Deployment", NAME)
    receiver = container(deployment)
    assert receiver["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    assert receiver["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert receiver["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    startup = receiver["startupProbe"]
    assert startup["httpGet"] == {"path": "/healthz", "port": "http"}
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 60
    resources = receiver["resources"]
    assert set(resources["requests"]) == set(resources["limits"]) == {"cpu", "memory"}
    assert receiver["image"].startswith("ghcr.io/example/postmortem-receiver:")
    assert receiver.get("args", ["serve"]) == ["serve"]

    data = settings_data(objects)
    assert data["RECEIVER_LISTEN"] == "0.0.0.0:8080"
    default = Settings.model_fields["shutdown_grace"].default
    grace = parse_duration(data.get("RECEIVER_SHUTDOWN_GRACE", default))
    # SIGTERM lets in-flight webhooks finish within the grace, before the kubelet's SIGKILL
    assert deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] > (
        grace.total_seconds()
    )


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_settings_are_valid_receiver_settings(
    overlay: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = settings_data(render(overlay))
    unknown = [
        key for key in data if key.removeprefix("RECEIVER_").lower() not in Settings.model_fields
    ]
    assert unknown == []
    assert data["RECEIVER_LOG_FORMAT"] == "json"
    assert data["RECEIVER_ALERTMANAGER_URL"] == f"http://alertmanager-operated.{NAMESPACE}:9093"
    for key in ("RECEIVER_TIMEZONE", "RECEIVER_LANGUAGE", "RECEIVER_PUBLIC_URL"):
        assert data[key], key
    for key in list(Settings.model_fields):
        monkeypatch.delenv(f"RECEIVER_{key.upper()}", raising=False)
    for key, value in data.items():
        monkeypatch.setenv(key, value)
    settings = load_settings()  # raises ConfigError, naming each bad value
    assert settings.port == 8080
    assert str(settings.drafts_dir).startswith(STATE_DIR)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_token_comes_from_the_secret(overlay: str) -> None:
    receiver = container(the(render(overlay), "Deployment", NAME))
    env = {item["name"]: item for item in receiver["env"]}
    assert env["RECEIVER_AUTH_TOKEN"]["valueFrom"] == {
        "secretKeyRef": {"name": f"{NAME}-token", "key": "token"}
    }
    # no secret is ever written into the manifests themselves
    assert all("value" not in item for item in receiver["env"])


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_service_and_network_policy(overlay: str) -> None:
    objects = render(overlay)
    pod_labels = the(objects, "Deployment", NAME)["spec"]["template"]["metadata"]["labels"]
    service = the(objects, "Service", NAME)
    assert matches(service["spec"]["selector"], pod_labels)
    assert service["spec"]["ports"] == [
        {"name": "http", "port": 8080, "targetPort": "http", "protocol": "TCP"}
    ]

    policy = the(objects, "NetworkPolicy", NAME)["spec"]
    assert matches(policy["podSelector"]["matchLabels"], pod_labels)
    assert sorted(policy["policyTypes"]) == ["Egress", "Ingress"]
    sources = []
    for rule in policy["ingress"]:
        assert rule["ports"] == [{"protocol": "TCP", "port": 8080}]
        sources += rule["from"]
    assert sorted(map(str, sources)) == sorted(
        map(
            str,
            [
                {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "alertmanager"}}},
                {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}}},
                {
                    "namespaceSelector": {
                        "matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}
                    }
                },
            ],
        )
    )
    egress_ports = {(p["protocol"], p["port"]) for rule in policy["egress"] for p in rule["ports"]}
    assert egress_ports == {("UDP", 53), ("TCP", 53), ("TCP", 5432), ("TCP", 9093)}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_disruption_budget_never_blocks_a_drain(overlay: str) -> None:
    objects = render(overlay)
    deployment = the(objects, "Deployment", NAME)
    budget = the(objects, "PodDisruptionBudget", NAME)["spec"]
    assert matches(
        budget["selector"]["matchLabels"], deployment["spec"]["template"]["metadata"]["labels"]
    )
    # maxUnavailable, not minAvailable: a single replica may still be evicted ...
    assert "minAvailable" not in budget
    assert budget["maxUnavailable"] == 1
    # ... and with several, one goes at a time
    replicas = deployment["spec"]["replicas"]
    assert replicas == 1 or replicas - budget["maxUnavailable"] >= 1


# --- each overlay's own choices -----------------------------------------------------------


def test_sqlite_overlay_is_one_replica_on_a_claim() -> None:
    objects = render("sqlite")
    deployment = the(objects, "Deployment", NAME)
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    claim = the(objects, "PersistentVolumeClaim", f"{NAME}-data")["spec"]
    assert claim["accessModes"] == ["ReadWriteOnce"]
    assert claim["resources"]["requests"]["storage"] == "1Gi"
    pod = deployment["spec"]["template"]["spec"]
    volume = next(v for v in pod["volumes"] if "persistentVolumeClaim" in v)
    assert volume == {
        "name": volume["name"],
        "persistentVolumeClaim": {"claimName": f"{NAME}-data"},
    }
    mounts = [m for m in container(deployment)["volumeMounts"] if m["name"] == volume["name"]]
    # one claim for /var/lib/postmortem-receiver: its data/ and drafts/ directories
    assert sorted((m["mountPath"], m.get("subPath")) for m in mounts) == [
        (DATA_DIR, "data"),
        (DRAFTS_DIR, "drafts"),
    ]
    data = settings_data(objects)
    assert data["RECEIVER_DATABASE_URL"] == f"sqlite:///{DATA_DIR}/receiver.db"
    assert data["RECEIVER_DRAFTS_DIR"] == DRAFTS_DIR


def test_postgres_overlay_is_several_replicas_apart() -> None:
    objects = render("postgres")
    deployment = the(objects, "Deployment", NAME)
    spec = deployment["spec"]
    assert spec["replicas"] >= 2
    assert spec["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
    }
    env = {item["name"]: item for item in container(deployment)["env"]}
    assert env["RECEIVER_DATABASE_URL"]["valueFrom"] == {
        "secretKeyRef": {"name": f"{NAME}-database", "key": "url"}
    }
    assert "RECEIVER_DATABASE_URL" not in settings_data(objects)
    terms = spec["template"]["spec"]["affinity"]["podAntiAffinity"][
        "preferredDuringSchedulingIgnoredDuringExecution"
    ]
    assert [t["podAffinityTerm"]["topologyKey"] for t in terms] == ["kubernetes.io/hostname"]
    assert matches(
        terms[0]["podAffinityTerm"]["labelSelector"]["matchLabels"],
        spec["template"]["metadata"]["labels"],
    )
    # drafts are served from the database: the files go to a per-pod emptyDir
    volumes = {v["name"]: v for v in spec["template"]["spec"]["volumes"]}
    drafts = next(m for m in container(deployment)["volumeMounts"] if m["mountPath"] == DRAFTS_DIR)
    assert "emptyDir" in volumes[drafts["name"]]
    assert settings_data(objects)["RECEIVER_DRAFTS_DIR"] == DRAFTS_DIR
    assert not any("persistentVolumeClaim" in v for v in volumes.values())


def _readme_yaml_block(first_line: str) -> str:
    readme = (DEPLOY / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```yaml\n(.*?)^```", readme, flags=re.MULTILINE | re.DOTALL)
    found = [block for block in blocks if block.startswith(first_line + "\n")]
    assert len(found) == 1, f"deploy/README.md has no yaml block starting {first_line!r}"
    return str(found[0])


def test_readme_own_overlay_recipe_works(tmp_path: Path) -> None:
    """deploy/README.md's own overlay, as written: image, merged settings, templates."""
    shutil.copytree(K8S, tmp_path / "k8s")
    mine = tmp_path / "k8s" / "overlays" / "mine"
    mine.mkdir()
    recipe = _readme_yaml_block(f"# {OWN_OVERLAY}/kustomization.yaml")
    (mine / "kustomization.yaml").write_text(recipe, encoding="utf-8")
    (mine / "postmortem.zh.md.j2").write_text("# {{ v.title }}\n", encoding="utf-8")
    objects = list(_render(mine))

    receiver = container(the(objects, "Deployment", NAME))
    assert receiver["image"] == "registry.example.com/postmortem-receiver:0.1.0"
    data = settings_data(objects)
    assert data["RECEIVER_PUBLIC_URL"] == "https://postmortems.example.com"
    assert data["RECEIVER_DATABASE_URL"].startswith("sqlite:")  # the sqlite overlay's, kept
    assert data["RECEIVER_LOG_FORMAT"] == "json"  # the base's, kept
    templates = [
        o for o in objects if o["kind"] == "ConfigMap" and "postmortem.zh.md.j2" in o["data"]
    ]
    assert len(templates) == 1
    assert templates[0]["metadata"]["namespace"] == NAMESPACE
    pod = the(objects, "Deployment", NAME)["spec"]["template"]["spec"]
    names = [v["configMap"]["name"] for v in pod["volumes"] if "configMap" in v]
    assert names == [templates[0]["metadata"]["name"]]


# --- prometheus-operator objects ---------------------------------------------------------


def operator_object_problems(obj: Obj) -> list[str]:
    """The fields the operator's CRDs require (and what it checks when it loads them)."""
    problems: list[str] = []
    expected = {
        "ServiceMonitor": "monitoring.coreos.com/v1",
        "PrometheusRule": "monitoring.coreos.com/v1",
        "AlertmanagerConfig": "monitoring.coreos.com/v1alpha1",
    }
    kind = obj.get("kind")
    if kind not in expected:
        return [f"unexpected operator kind {kind}"]
    if obj.get("apiVersion") != expected[kind]:
        problems.append(f"apiVersion {obj.get('apiVersion')}, want {expected[kind]}")
    if not obj.get("metadata", {}).get("name"):
        problems.append("metadata.name missing")
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return [*problems, "spec missing"]
    if kind == "ServiceMonitor":
        selector = spec.get("selector")
        if not isinstance(selector, dict) or not (
            selector.get("matchLabels") or selector.get("matchExpressions")
        ):
            problems.append("spec.selector missing or empty")
        endpoints = spec.get("endpoints")
        if not isinstance(endpoints, list) or not endpoints:
            problems.append("spec.endpoints missing")
        for i, endpoint in enumerate(endpoints or []):
            if not (endpoint.get("port") or endpoint.get("targetPort")):
                problems.append(f"spec.endpoints[{i}] names no port")
            for key in ("interval", "scrapeTimeout"):
                if key in endpoint and not DURATION.match(str(endpoint[key])):
                    problems.append(f"spec.endpoints[{i}].{key} is not a duration")
    elif kind == "PrometheusRule":
        groups = spec.get("groups")
        if not isinstance(groups, list) or not groups:
            problems.append("spec.groups missing")
        group_names = [g.get("name") for g in groups or []]
        if len(set(group_names)) != len(group_names) or not all(group_names):
            problems.append("spec.groups[].name missing or repeated")
        for g, group in enumerate(groups or []):
            for r, rule in enumerate(group.get("rules") or []):
                where = f"spec.groups[{g}].rules[{r}]"
                if ("alert" in rule) == ("record" in rule):
                    problems.append(f"{where}: exactly one of alert and record")
                if not str(rule.get("expr", "")).strip():
                    problems.append(f"{where}.expr missing")
                if "for" in rule and not DURATION.match(str(rule["for"])):
                    problems.append(f"{where}.for is not a duration")
            if not group.get("rules"):
                problems.append(f"spec.groups[{g}].rules missing")
    elif kind == "AlertmanagerConfig":
        receivers = spec.get("receivers") or []
        names = [r.get("name") for r in receivers]
        if not all(names) or len(set(names)) != len(names):
            problems.append("spec.receivers[].name missing or repeated")
        route = spec.get("route") or {}
        if route.get("receiver") not in names:
            problems.append(f"spec.route.receiver {route.get('receiver')!r} names no receiver")
        for key in ("groupWait", "groupInterval", "repeatInterval"):
            if key in route and not DURATION.match(str(route[key])):
                problems.append(f"spec.route.{key} is not a duration")
        for receiver in receivers:
            for w, webhook in enumerate(receiver.get("webhookConfigs") or []):
                if not (webhook.get("url") or webhook.get("urlSecret")):
                    problems.append(f"receiver {receiver.get('name')} webhookConfigs[{w}]: no url")
                credentials = (
                    webhook.get("httpConfig", {}).get("authorization", {}).get("credentials")
                )
                if credentials is not None and not (
                    credentials.get("name") and credentials.get("key")
                ):
                    problems.append(f"webhookConfigs[{w}] credentials need a Secret name and key")
    return problems


def test_operator_checks_catch_what_the_operator_rejects() -> None:
    assert operator_object_problems(
        {"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor", "metadata": {}}
    ) == ["metadata.name missing", "spec missing"]
    broken_rule = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "x"},
        "spec": {"groups": [{"name": "g", "rules": [{"alert": "A", "for": "5 minutes"}]}]},
    }
    assert operator_object_problems(broken_rule) == [
        "spec.groups[0].rules[0].expr missing",
        "spec.groups[0].rules[0].for is not a duration",
    ]
    broken_route = {
        "apiVersion": "monitoring.coreos.com/v1alpha1",
        "kind": "AlertmanagerConfig",
        "metadata": {"name": "x"},
        "spec": {"route": {"receiver": "nobody"}, "receivers": [{"name": "r"}]},
    }
    assert operator_object_problems(broken_route) == [
        "spec.route.receiver 'nobody' names no receiver"
    ]


def _metric_series() -> set[str]:
    """Every series name the receiver exports (counters with _total, histograms' parts)."""
    names: set[str] = set()
    for family in Metrics().registry.collect():
        if family.type == "counter":
            names.add(f"{family.name}_total")
        elif family.type == "histogram":
            names |= {f"{family.name}_{part}" for part in ("bucket", "sum", "count")}
        else:
            names.add(family.name)
    return names


def test_service_monitor_scrapes_the_service() -> None:
    service = the(render("sqlite"), "Service", NAME)
    monitor = the(render("monitoring"), "ServiceMonitor", NAME)["spec"]
    assert matches(monitor["selector"]["matchLabels"], service["metadata"]["labels"])
    port_names = {port["name"] for port in service["spec"]["ports"]}
    assert [(e["port"], e["path"]) for e in monitor["endpoints"]] == [("http", "/metrics")]
    assert monitor["endpoints"][0]["port"] in port_names
    # /metrics needs no credentials unless RECEIVER_METRICS_PUBLIC says so
    assert Settings.model_fields["metrics_public"].default is True
    assert not any("authorization" in e or "bearerTokenSecret" in e for e in monitor["endpoints"])


def test_prometheus_rule_alerts_on_the_receiver() -> None:
    rules = [
        rule
        for group in the(render("monitoring"), "PrometheusRule", NAME)["spec"]["groups"]
        for rule in group["rules"]
    ]
    alerts = {rule["alert"]: rule for rule in rules}
    assert set(alerts) == {
        "PostmortemReceiverDown",
        "PostmortemReceiverWebhookErrors",
        "PostmortemReceiverStoreErrors",
        "PostmortemReceiverStaleIncidents",
        "PostmortemReceiverInboxQuarantined",
        "PostmortemReceiverApplyLag",
    }
    series = _metric_series()
    for name, rule in alerts.items():
        assert DURATION.match(rule["for"]), name
        assert rule["for"] != "0", name
        assert rule["labels"]["severity"] in {"critical", "warning"}, name
        assert rule["annotations"]["summary"], name
        assert rule["annotations"]["description"], name
        # the Service's name is the job label the ServiceMonitor gives the series
        assert f'job="{NAME}"' in rule["expr"], name
        used = set(re.findall(r"\bpostmortem_receiver_[a-z_]+", rule["expr"]))
        assert used <= series, f"{name} uses series the receiver does not export: {used - series}"
    assert "absent(" in alerts["PostmortemReceiverDown"]["expr"]
    assert 'result=~"rejected|store_error"' in alerts["PostmortemReceiverWebhookErrors"]["expr"]
    assert "_store_errors_total" in alerts["PostmortemReceiverStoreErrors"]["expr"]
    assert 'status="stale"' in alerts["PostmortemReceiverStaleIncidents"]["expr"]
    assert "_inbox_in_quarantine" in alerts["PostmortemReceiverInboxQuarantined"]["expr"]
    assert "_inbox_apply_lag_seconds" in alerts["PostmortemReceiverApplyLag"]["expr"]


def _promtool() -> str:
    return debian_command("promtool", "prometheus")


def test_prometheus_rule_expressions_do_what_they_say(tmp_path: Path) -> None:
    """promtool loads the rules and evaluates each alert's expression on made-up series."""
    promtool = _promtool()
    spec = the(render("monitoring"), "PrometheusRule", NAME)["spec"]
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    checked = subprocess.run(
        [promtool, "check", "rules", "rules.yml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr

    exprs = {rule["alert"]: rule["expr"] for group in spec["groups"] for rule in group["rules"]}
    target = f'job="{NAME}", namespace="{NAMESPACE}"'
    where = {"job": NAME, "namespace": NAMESPACE}

    def case(series: dict[str, str], expr: str, expected: list[Obj]) -> Obj:
        return {
            "interval": "1m",
            "input_series": [{"series": k, "values": v} for k, v in series.items()],
            "promql_expr_test": [{"expr": expr, "eval_time": "20m", "exp_samples": expected}],
        }

    def labels(**extra: str) -> str:
        return "{" + ", ".join(f"{k}={json.dumps(v)}" for k, v in extra.items()) + "}"

    down, webhook = exprs["PostmortemReceiverDown"], exprs["PostmortemReceiverWebhookErrors"]
    store, stale = exprs["PostmortemReceiverStoreErrors"], exprs["PostmortemReceiverStaleIncidents"]
    quarantined = exprs["PostmortemReceiverInboxQuarantined"]
    lag = exprs["PostmortemReceiverApplyLag"]
    held = f"postmortem_receiver_inbox_in_quarantine{{{target}, "
    behind = f"postmortem_receiver_inbox_apply_lag_seconds{{{target}, "
    up = f"up{{{target}, instance="
    hooks = f'postmortem_receiver_webhooks_received_total{{{target}, instance="a", '
    errors = f'postmortem_receiver_store_errors_total{{{target}, instance="a", '
    gauge = f"postmortem_receiver_open_incidents{{{target}, "
    tests = [
        # down: every replica down, or none scraped at all; not while one is up
        case(
            {f'{up}"a"}}': "0x30", f'{up}"b"}}': "0x30"},
            down,
            [{"labels": labels(**where), "value": 0}],
        ),
        case({f'{up}"a"}}': "0x30", f'{up}"b"}}': "1x30"}, down, []),
        case(
            {'up{job="other", namespace="monitoring"}': "1x30"},
            down,
            [{"labels": labels(**where), "value": 1}],
        ),
        # webhook errors: ongoing rejections and store errors; accepted ones never
        case(
            {
                hooks + 'result="rejected", reason="unauthorized"}': "0+1x30",
                hooks + 'result="accepted", reason=""}': "0+5x30",
            },
            f"count by (result, reason) ({webhook})",
            [{"labels": labels(result="rejected", reason="unauthorized"), "value": 1}],
        ),
        case({hooks + 'result="accepted", reason=""}': "0+5x30"}, webhook, []),
        # store errors
        case(
            {errors + 'where="webhook"}': "0+2x30"},
            f"count by (where) ({store})",
            [{"labels": labels(where="webhook"), "value": 1}],
        ),
        case({errors + 'where="webhook"}': "0x30"}, store, []),
        # stale: two replicas report the same store-wide counts, which are not doubled
        case(
            {
                gauge + 'instance="a", severity="P1", status="stale"}': "2x30",
                gauge + 'instance="b", severity="P1", status="stale"}': "2x30",
                gauge + 'instance="a", severity="P2", status="stale"}': "1x30",
                gauge + 'instance="b", severity="P2", status="stale"}': "1x30",
                gauge + 'instance="a", severity="P1", status="firing"}': "4x30",
            },
            stale,
            [{"labels": labels(**where), "value": 3}],
        ),
        case({gauge + 'instance="a", severity="P1", status="stale"}': "0x30"}, stale, []),
        # quarantine: one entry is enough, two replicas reporting it are still one
        case(
            {held + 'instance="a"}': "1x30", held + 'instance="b"}': "1x30"},
            quarantined,
            [{"labels": labels(**where), "value": 1}],
        ),
        case({held + 'instance="a"}': "0x30"}, quarantined, []),
        # apply lag: over two minutes on any replica; a short lag is not
        case(
            {behind + 'instance="a"}': "300x30", behind + 'instance="b"}': "0x30"},
            lag,
            [{"labels": labels(**where), "value": 300}],
        ),
        case({behind + 'instance="a"}': "30x30"}, lag, []),
    ]
    (tmp_path / "tests.yml").write_text(
        yaml.safe_dump({"rule_files": ["rules.yml"], "evaluation_interval": "1m", "tests": tests}),
        encoding="utf-8",
    )
    result = subprocess.run(
        [promtool, "test", "rules", "tests.yml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_alertmanager_config_posts_to_the_service_with_the_token() -> None:
    overlay = render("sqlite")
    service = the(overlay, "Service", NAME)
    token = container(the(overlay, "Deployment", NAME))["env"]
    token_ref = next(e for e in token if e["name"] == "RECEIVER_AUTH_TOKEN")["valueFrom"]
    spec = the(render("monitoring"), "AlertmanagerConfig", NAME)["spec"]
    receiver = next(r for r in spec["receivers"] if r["name"] == spec["route"]["receiver"])
    assert len(receiver["webhookConfigs"]) == 1
    webhook = receiver["webhookConfigs"][0]
    port = service["spec"]["ports"][0]["port"]
    assert webhook["url"] == f"http://{NAME}.{NAMESPACE}:{port}/api/v1/alerts"
    assert webhook["sendResolved"] is True
    authorization = webhook["httpConfig"]["authorization"]
    assert authorization["type"] == "Bearer"
    assert authorization["credentials"] == token_ref["secretKeyRef"]


def test_plain_alertmanager_snippet() -> None:
    path = DEPLOY / "alertmanager" / "alertmanager.yml"
    config = load_yaml(path)
    route = next(r for r in config["route"]["routes"] if r["receiver"] == NAME)
    assert route["continue"] is True
    assert config["route"]["routes"][0] is route, "first, so no earlier route swallows alerts"
    receiver = next(r for r in config["receivers"] if r["name"] == NAME)
    [webhook] = receiver["webhook_configs"]
    assert webhook["url"] == f"http://{NAME}.{NAMESPACE}:8080/api/v1/alerts"
    assert webhook["send_resolved"] is True
    authorization = webhook["http_config"]["authorization"]
    assert authorization["type"] == "Bearer"
    assert authorization["credentials_file"].startswith("/")
    assert "credentials" not in authorization


def test_plain_alertmanager_snippet_passes_amtool() -> None:
    amtool = debian_command("amtool", "prometheus-alertmanager")
    path = DEPLOY / "alertmanager" / "alertmanager.yml"
    result = subprocess.run(
        [amtool, "check-config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


# --- the README -------------------------------------------------------------------------


def test_readme_gives_the_commands_and_names_real_paths() -> None:
    readme = (DEPLOY / "README.md").read_text(encoding="utf-8")
    for command in (
        "kubectl apply -k deploy/k8s/overlays/sqlite",
        "kubectl apply -k deploy/k8s/overlays/postgres",
        "kubectl apply -k deploy/k8s/monitoring",
        f"kubectl -n {NAMESPACE} create secret generic {NAME}-token",
        f"kubectl -n {NAMESPACE} create secret generic {NAME}-database",
        "amtool check-config deploy/alertmanager/alertmanager.yml",
    ):
        assert command in readme, command
    for path in set(re.findall(r"\bdeploy/[\w./-]*\w", readme)):
        if not path.startswith(OWN_OVERLAY):
            assert (REPO / path).exists(), f"deploy/README.md names {path}, which does not exist"
