"""The Kubernetes manifests, as a cluster and its operators will get them.

Every kustomize target (the base and each overlay) is rendered with a real,
pinned kustomize (deploy/tools.sh builds it with Go on first use) and every
object is validated: built-in kinds against the Kubernetes OpenAPI schemas that
kubernetes-validate ships (strict: unknown fields fail), for the oldest and the
newest Kubernetes we target. kubernetes-validate knows no custom resources, so
the KEDA ScaledObjects and Strimzi KafkaTopics are checked against schemas
written here from their CRDs: the required fields and the fields we use, with
unknown fields rejected (an API server would silently prune them). On top of
that come the properties people notice: probes, security, limits, wiring.
"""

from __future__ import annotations

import functools
import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

# The first test builds kustomize from source when it is not cached yet.
pytestmark = pytest.mark.timeout(900)

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy" / "k8s"
DOCKERFILE = REPO / "deploy" / "docker" / "Dockerfile"
SERVICES = ("partners", "deals", "interactions", "claims", "pricing", "notifications")
TARGETS = {
    "base": K8S / "base",
    "dev": K8S / "overlays" / "dev",
    "production": K8S / "overlays" / "production",
}
# Oldest Kubernetes the manifests are meant for (gRPC probes are GA since 1.27,
# matchLabelKeys on by default since 1.27) and the newest the schemas know.
KUBERNETES_VERSIONS = ("1.30", ".".join(kubernetes_validate.latest_version().split(".")[:2]))
NAMESPACE = "crm"
PART_OF = {"app.kubernetes.io/part-of": "crm-platform"}
GRPC_PORT = 50051
HTTP_PORT = 8080


def published_topics() -> tuple[str, ...]:
    """Every topic a service publishes to, from the AsyncAPI documents generated from the code."""
    topics = set()
    for document in sorted(REPO.glob("services/*/asyncapi.yaml")):
        spec = yaml.safe_load(document.read_text())
        for operation in spec["operations"].values():
            if operation["action"] == "send":
                channel = spec["channels"][operation["channel"]["$ref"].rsplit("/", 1)[-1]]
                topics.add(channel["address"])
    return tuple(sorted(topics))


TOPICS = published_topics()
# Secrets production expects the operator to create; nothing else may be missing.
OPERATOR_SECRETS = {"production": {"crm-platform-secrets", "crm-postgres-external"}}
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")

Doc = dict[str, Any]


# --- rendering ---------------------------------------------------------------------


@pytest.fixture(scope="session")
def kustomize() -> Path:
    proc = subprocess.run(
        [str(K8S.parent / "tools.sh"), "kustomize"], capture_output=True, text=True, timeout=900, check=False
    )
    assert proc.returncode == 0, f"deploy/tools.sh kustomize failed:\n{proc.stderr}"
    path = Path(proc.stdout.strip())
    assert path.is_file(), proc.stdout
    return path


@functools.cache
def render(kustomize: Path, target: str) -> tuple[Doc, ...]:
    proc = subprocess.run(
        [str(kustomize), "build", str(TARGETS[target])], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, f"kustomize build {target} failed:\n{proc.stderr}"
    return tuple(doc for doc in yaml.safe_load_all(proc.stdout) if doc)


@pytest.fixture(params=list(TARGETS))
def target(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def docs(kustomize: Path, target: str) -> tuple[Doc, ...]:
    return render(kustomize, target)


def of_kind(docs: tuple[Doc, ...], kind: str) -> dict[str, Doc]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def pod_spec(deployment: Doc) -> Doc:
    return deployment["spec"]["template"]["spec"]


def all_containers(deployment: Doc) -> list[Doc]:
    spec = pod_spec(deployment)
    return spec.get("initContainers", []) + spec["containers"]


def server(deployment: Doc) -> Doc:
    (container,) = (c for c in pod_spec(deployment)["containers"] if c["name"] == "server")
    return container


def env(container: Doc) -> dict[str, Doc]:
    return {e["name"]: e for e in container.get("env", [])}


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


QUANTITY = re.compile(r"^(\d+(?:\.\d+)?)(m|Ki|Mi|Gi|Ti|k|M|G|T)?$")
UNITS = {None: 1, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}
UNITS |= {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}


def quantity(value: str | int) -> float:
    match = QUANTITY.match(str(value))
    assert match, f"not a Kubernetes quantity: {value!r}"
    return float(match.group(1)) * UNITS[match.group(2)]


# --- schemas of the custom resources -------------------------------------------------
# Written from the CRDs (KEDA 2.x keda.sh/v1alpha1 ScaledObject, Strimzi >= 0.49
# kafka.strimzi.io/v1 KafkaTopic): required fields, the types of the fields we use,
# no unknown fields. Not a full copy of the CRDs.

STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
METADATA = {
    "type": "object",
    "required": ["name"],
    "properties": {"name": {"type": "string"}, "namespace": {"type": "string"}, "labels": STRING_MAP},
}

SCALED_OBJECT_SCHEMA = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "additionalProperties": False,
    "properties": {
        "apiVersion": {"const": "keda.sh/v1alpha1"},
        "kind": {"const": "ScaledObject"},
        "metadata": METADATA,
        "spec": {
            "type": "object",
            "required": ["scaleTargetRef", "triggers"],
            "additionalProperties": False,
            "properties": {
                "scaleTargetRef": {
                    "type": "object",
                    "required": ["name"],
                    "additionalProperties": False,
                    "properties": {
                        "name": {"type": "string"},
                        "kind": {"type": "string"},
                        "apiVersion": {"type": "string"},
                        "envSourceContainerName": {"type": "string"},
                    },
                },
                "pollingInterval": {"type": "integer", "minimum": 1},
                "cooldownPeriod": {"type": "integer", "minimum": 0},
                "initialCooldownPeriod": {"type": "integer", "minimum": 0},
                "idleReplicaCount": {"type": "integer", "minimum": 0},
                "minReplicaCount": {"type": "integer", "minimum": 0},
                "maxReplicaCount": {"type": "integer", "minimum": 1},
                "fallback": {"type": "object"},
                "advanced": {"type": "object"},
                "triggers": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["type", "metadata"],
                        "additionalProperties": False,
                        "properties": {
                            "type": {"type": "string"},
                            "name": {"type": "string"},
                            "metadata": STRING_MAP,
                            "metricType": {"enum": ["AverageValue", "Value", "Utilization"]},
                            "useCachedMetrics": {"type": "boolean"},
                            "authenticationRef": {
                                "type": "object",
                                "required": ["name"],
                                "properties": {"name": {"type": "string"}, "kind": {"type": "string"}},
                            },
                        },
                        "allOf": [
                            {
                                "if": {"properties": {"type": {"const": "kafka"}}},
                                "then": {
                                    "properties": {
                                        "metadata": {
                                            "required": ["consumerGroup"],
                                            "oneOf": [
                                                {"required": ["bootstrapServers"]},
                                                {"required": ["bootstrapServersFromEnv"]},
                                            ],
                                        }
                                    }
                                },
                            },
                            {
                                "if": {"properties": {"type": {"enum": ["cpu", "memory"]}}},
                                "then": {
                                    "required": ["metricType"],
                                    "properties": {"metadata": {"required": ["value"]}},
                                },
                            },
                        ],
                    },
                },
            },
        },
    },
}

KAFKA_TOPIC_SCHEMA = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "additionalProperties": False,
    "properties": {
        "apiVersion": {"const": "kafka.strimzi.io/v1"},
        "kind": {"const": "KafkaTopic"},
        "metadata": {
            **METADATA,
            # The Topic Operator ignores a KafkaTopic without its cluster's label.
            "properties": {
                **METADATA["properties"],
                "labels": {**STRING_MAP, "required": ["strimzi.io/cluster"]},
            },
            "required": ["name", "labels"],
        },
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "topicName": {"type": "string"},
                "partitions": {"type": "integer", "minimum": 1},
                "replicas": {"type": "integer", "minimum": 1, "maximum": 32767},
                "config": {"type": "object", "additionalProperties": {"type": ["string", "integer", "boolean"]}},
            },
        },
    },
}

CUSTOM_SCHEMAS = {
    ("keda.sh/v1alpha1", "ScaledObject"): SCALED_OBJECT_SCHEMA,
    ("kafka.strimzi.io/v1", "KafkaTopic"): KAFKA_TOPIC_SCHEMA,
}


# --- every target ------------------------------------------------------------------


def test_tools_script_pins_kustomize(kustomize: Path) -> None:
    pinned = re.search(r'^KUSTOMIZE_VERSION="(v[\d.]+)"', (K8S.parent / "tools.sh").read_text(), re.M)
    assert pinned
    version = subprocess.run([str(kustomize), "version"], capture_output=True, text=True, check=True).stdout
    assert version.strip() == pinned.group(1)


def schema_problems(doc: Doc) -> Iterator[str]:
    name = f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
    custom = CUSTOM_SCHEMAS.get((doc.get("apiVersion"), doc.get("kind")))
    if custom is not None:
        for error in jsonschema.Draft202012Validator(custom).iter_errors(doc):
            yield f"{name}: {'.'.join(map(str, error.path))}: {error.message}"
        return
    for version in KUBERNETES_VERSIONS:
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            yield f"{name}: {doc.get('apiVersion')} is unknown to Kubernetes {version}"
        except kubernetes_validate.ValidationError as error:
            yield f"{name} (Kubernetes {version}): {'.'.join(map(str, error.path))}: {error.message}"


def test_every_object_validates(docs: tuple[Doc, ...]) -> None:
    assert docs
    problems = [problem for doc in docs for problem in schema_problems(doc)]
    assert not problems, "\n".join(problems)


def test_names_are_unique_and_valid(docs: tuple[Doc, ...]) -> None:
    seen = set()
    for doc in docs:
        key = (doc["kind"], doc["metadata"]["name"])
        assert key not in seen, f"{key} rendered twice"
        seen.add(key)
        assert DNS_SUBDOMAIN.match(key[1]), key
        if doc["kind"] == "Service":
            assert DNS_LABEL.match(key[1]), key


def test_everything_lives_in_the_crm_namespace_and_is_labelled(docs: tuple[Doc, ...]) -> None:
    for doc in docs:
        meta = doc["metadata"]
        if doc["kind"] == "Namespace":
            assert meta["name"] == NAMESPACE
            assert meta["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
        else:
            assert meta.get("namespace") == NAMESPACE, f"{doc['kind']}/{meta['name']}"
        assert PART_OF.items() <= meta.get("labels", {}).items(), f"{doc['kind']}/{meta['name']}"


def test_each_service_has_its_objects(docs: tuple[Doc, ...], target: str) -> None:
    for kind in ("Deployment", "Service", "ServiceAccount", "PodDisruptionBudget"):
        assert set(of_kind(docs, kind)) == set(SERVICES), kind
    scaler = "ScaledObject" if target == "production" else "HorizontalPodAutoscaler"
    assert set(of_kind(docs, scaler)) == set(SERVICES)
    # KEDA owns the HPA where it scales; a second one would fight it.
    other = "HorizontalPodAutoscaler" if scaler == "ScaledObject" else "ScaledObject"
    assert not of_kind(docs, other)


def test_deployments_have_grpc_probes(docs: tuple[Doc, ...]) -> None:
    for name, deployment in of_kind(docs, "Deployment").items():
        container = server(deployment)
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert ports == {"grpc": GRPC_PORT, "http-metrics": HTTP_PORT}, name
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            assert container[probe]["grpc"] == {"port": GRPC_PORT}, f"{name} {probe}"
        liveness, readiness = container["livenessProbe"], container["readinessProbe"]
        # A slow start is the startup probe's business, never a liveness kill.
        startup = container["startupProbe"]
        assert startup["periodSeconds"] * startup["failureThreshold"] >= 60, name
        assert liveness["periodSeconds"] * liveness["failureThreshold"] >= 20, name
        assert readiness["periodSeconds"] <= liveness["periodSeconds"], name


def test_deployments_run_locked_down(docs: tuple[Doc, ...]) -> None:
    for name, deployment in of_kind(docs, "Deployment").items():
        spec = pod_spec(deployment)
        pod = spec["securityContext"]
        assert pod["runAsNonRoot"] is True, name
        assert pod["runAsUser"] == 10001, name
        assert pod["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert spec["automountServiceAccountToken"] is False, name
        assert spec["serviceAccountName"] == name
        account = of_kind(docs, "ServiceAccount")[name]
        assert account["automountServiceAccountToken"] is False, name
        volumes = {v["name"]: v for v in spec["volumes"]}
        for container in all_containers(deployment):
            where = f"{name}/{container['name']}"
            security = container["securityContext"]
            assert security["allowPrivilegeEscalation"] is False, where
            assert security["readOnlyRootFilesystem"] is True, where
            assert security["capabilities"]["drop"] == ["ALL"], where
            assert security.get("privileged", False) is False, where
            assert security.get("runAsUser", pod["runAsUser"]) != 0, where
            # A read-only root, so the one writable place is an emptyDir at /tmp.
            (tmp,) = (m for m in container["volumeMounts"] if m["mountPath"] == "/tmp")
            assert "emptyDir" in volumes[tmp["name"]], where


def test_deployments_have_requests_and_limits(docs: tuple[Doc, ...]) -> None:
    for name, deployment in of_kind(docs, "Deployment").items():
        for container in all_containers(deployment):
            where = f"{name}/{container['name']}"
            resources = container["resources"]
            for resource in ("cpu", "memory"):
                request = quantity(resources["requests"][resource])
                limit = quantity(resources["limits"][resource])
                assert 0 < request <= limit, f"{where} {resource}"
            assert quantity(resources["limits"]["memory"]) >= quantity("512Mi"), where


def test_database_is_migrated_before_the_service_starts(docs: tuple[Doc, ...]) -> None:
    for name, deployment in of_kind(docs, "Deployment").items():
        (migrate,) = pod_spec(deployment)["initContainers"]
        assert migrate["name"] == "migrate"
        assert migrate["image"] == server(deployment)["image"], name
        assert migrate.get("args") == ["--migrate-only"], name
        assert "command" not in migrate, name  # the image's entry point is `python -m <service>`
        assert env(migrate)["CRM_DATABASE_URL"] == env(server(deployment))["CRM_DATABASE_URL"], name


def test_each_service_is_configured_as_itself(docs: tuple[Doc, ...], target: str) -> None:
    configmaps = of_kind(docs, "ConfigMap")
    secrets = of_kind(docs, "Secret")
    missing_ok = OPERATOR_SECRETS.get(target, set())
    for name, deployment in of_kind(docs, "Deployment").items():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert labels["app.kubernetes.io/name"] == name
        assert server(deployment)["image"].rsplit(":", 1)[0].split("@")[0].endswith(f"crm-platform/{name}"), name
        for container in all_containers(deployment):
            where = f"{name}/{container['name']}"
            variables = env(container)
            field = variables["CRM_SERVICE"]["valueFrom"]["fieldRef"]["fieldPath"]
            assert field == "metadata.labels['app.kubernetes.io/name']", where
            (source,) = container["envFrom"]
            config = configmaps[source["configMapRef"]["name"]]["data"]
            for key in ("CRM_KAFKA_BOOTSTRAP", "CRM_REDIS_URL", "CRM_LOG_LEVEL"):
                assert config.get(key), f"{where} {key}"
            # The services listen on loopback unless told otherwise.
            assert config["CRM_GRPC_HOST"] == config["CRM_HTTP_HOST"] == "0.0.0.0", where
            assert (int(config["CRM_GRPC_PORT"]), int(config["CRM_HTTP_PORT"])) == (GRPC_PORT, HTTP_PORT)
            for service in SERVICES:
                assert config[f"CRM_{service.upper()}_ADDR"] == f"{service}:{GRPC_PORT}"
            wanted = {"CRM_DATABASE_URL"} | ({"CRM_JWT_SECRET"} if container["name"] == "server" else set())
            for variable in wanted:
                ref = variables[variable]["valueFrom"]["secretKeyRef"]
                if ref["name"] in missing_ok:
                    continue
                assert ref["name"] in secrets, f"{where} {variable}: no Secret {ref['name']}"
                assert ref["key"] in secrets[ref["name"]]["data"], f"{where} {variable}: no key {ref['key']}"
            if variables["CRM_DATABASE_URL"]["valueFrom"]["secretKeyRef"]["name"] not in missing_ok:
                assert variables["CRM_DATABASE_URL"]["valueFrom"]["secretKeyRef"]["key"] == name, where


def test_services_and_budgets_select_their_pods(docs: tuple[Doc, ...]) -> None:
    deployments = of_kind(docs, "Deployment")
    for name, service in of_kind(docs, "Service").items():
        pods = deployments[name]["spec"]["template"]["metadata"]["labels"]
        assert selects(service["spec"]["selector"], pods), name
        others = [d["spec"]["template"]["metadata"]["labels"] for n, d in deployments.items() if n != name]
        assert not any(selects(service["spec"]["selector"], labels) for labels in others), name
        ports = {p["name"]: (p["port"], p["targetPort"]) for p in service["spec"]["ports"]}
        assert ports == {"grpc": (GRPC_PORT, "grpc"), "http-metrics": (HTTP_PORT, "http-metrics")}, name
    for name, budget in of_kind(docs, "PodDisruptionBudget").items():
        pods = deployments[name]["spec"]["template"]["metadata"]["labels"]
        assert selects(budget["spec"]["selector"]["matchLabels"], pods), name
    for name, deployment in deployments.items():
        pods = deployment["spec"]["template"]["metadata"]["labels"]
        assert selects(deployment["spec"]["selector"]["matchLabels"], pods), name
        constraints = pod_spec(deployment)["topologySpreadConstraints"]
        assert {c["topologyKey"] for c in constraints} >= {"kubernetes.io/hostname", "topology.kubernetes.io/zone"}
        for constraint in constraints:
            assert selects(constraint["labelSelector"]["matchLabels"], pods), name
            assert constraint["labelSelector"]["matchLabels"]["app.kubernetes.io/name"] == name


def test_autoscaling_targets_its_deployment(docs: tuple[Doc, ...]) -> None:
    deployments = of_kind(docs, "Deployment")
    for name, hpa in of_kind(docs, "HorizontalPodAutoscaler").items():
        assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
        assert name in deployments
        (metric,) = hpa["spec"]["metrics"]
        assert metric["resource"]["name"] == "cpu"
        assert metric["resource"]["target"] == {"type": "Utilization", "averageUtilization": 70}
        assert hpa["spec"]["maxReplicas"] == 10
    for name, scaled in of_kind(docs, "ScaledObject").items():
        assert scaled["spec"]["scaleTargetRef"]["name"] == name
        assert name in deployments
        triggers = {t["type"]: t for t in scaled["spec"]["triggers"]}
        assert triggers["kafka"]["metadata"]["consumerGroup"] == name
        assert triggers["cpu"]["metadata"]["value"] == "70"
        assert (scaled["spec"]["minReplicaCount"], scaled["spec"]["maxReplicaCount"]) == (2, 10)
        # bootstrapServersFromEnv must name a variable the target's container has.
        variable = triggers["kafka"]["metadata"].get("bootstrapServersFromEnv")
        if variable:
            (source,) = server(deployments[name])["envFrom"]
            config = of_kind(docs, "ConfigMap")[source["configMapRef"]["name"]]
            assert config["data"].get(variable), f"{name}: {variable}"


def test_shutdown_fits_the_grace_period(docs: tuple[Doc, ...]) -> None:
    for name, deployment in of_kind(docs, "Deployment").items():
        grace = pod_spec(deployment)["terminationGracePeriodSeconds"]
        assert grace >= 30, name
        (source,) = server(deployment)["envFrom"]
        config = of_kind(docs, "ConfigMap")[source["configMapRef"]["name"]]["data"]
        # gRPC drain, then consumers stop and the outbox flushes (<= 5 s).
        assert float(config["CRM_SHUTDOWN_GRACE_SECONDS"]) + 5 < grace, name


def test_metrics_are_scraped(docs: tuple[Doc, ...]) -> None:
    for name, deployment in of_kind(docs, "Deployment").items():
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true", name
        assert annotations["prometheus.io/port"] == str(HTTP_PORT), name
        assert annotations["prometheus.io/path"] == "/metrics", name


def test_rolling_updates_keep_capacity(docs: tuple[Doc, ...]) -> None:
    for name, deployment in of_kind(docs, "Deployment").items():
        assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0, name


# --- base and overlays -------------------------------------------------------------


def test_base(kustomize: Path) -> None:
    docs = render(kustomize, "base")
    for name, deployment in of_kind(docs, "Deployment").items():
        assert deployment["spec"]["replicas"] == 2, name
        resources = server(deployment)["resources"]
        assert resources == {
            "requests": {"cpu": "100m", "memory": "192Mi"},
            "limits": {"cpu": "1", "memory": "512Mi"},
        }, name
    for name, hpa in of_kind(docs, "HorizontalPodAutoscaler").items():
        assert hpa["spec"]["minReplicas"] == 2, name
    for name, budget in of_kind(docs, "PodDisruptionBudget").items():
        assert budget["spec"]["minAvailable"] == 1, name
    assert sorted(name.rsplit("-", 1)[0] for name in of_kind(docs, "ConfigMap")) == [
        "claims-storage",
        "crm-platform-config",
    ]
    assert not of_kind(docs, "NetworkPolicy")


def test_dev_overlay(kustomize: Path) -> None:
    docs = render(kustomize, "dev")
    for name, deployment in of_kind(docs, "Deployment").items():
        assert deployment["spec"]["replicas"] == 1, name
        for container in all_containers(deployment):
            assert container["image"] == f"crm-platform/{name}:dev", name
    for name, hpa in of_kind(docs, "HorizontalPodAutoscaler").items():
        assert hpa["spec"]["minReplicas"] == 1, name
    (config,) = (c for n, c in of_kind(docs, "ConfigMap").items() if n.startswith("crm-platform-config"))
    assert config["data"]["CRM_LOG_LEVEL"] == "DEBUG"
    assert claims_storage(docs)["CRM_CLAIMS_S3_ENDPOINT_URL"] == "http://minio:9000"
    assert set(of_kind(docs, "NetworkPolicy")) == {
        "default-deny-ingress",
        "allow-grpc",
        "allow-metrics-from-monitoring",
    }


def test_production_overlay_pins_images_and_raises_limits(kustomize: Path) -> None:
    docs = render(kustomize, "production")
    base = of_kind(render(kustomize, "base"), "Deployment")
    for name, deployment in of_kind(docs, "Deployment").items():
        assert "replicas" not in deployment["spec"], f"{name}: KEDA owns the replica count"
        for container in all_containers(deployment):
            image = container["image"]
            registry = image.split("/", 1)[0]
            assert "." in registry or ":" in registry, f"{name}: no registry in {image}"
            reference, _, digest = image.partition("@")
            tag = reference.rsplit("/", 1)[-1].partition(":")[2]
            assert digest.startswith("sha256:") or tag not in ("", "dev", "latest"), f"{name}: unpinned {image}"
        limits = server(deployment)["resources"]["limits"]
        base_limits = server(base[name])["resources"]["limits"]
        for resource in ("cpu", "memory"):
            assert quantity(limits[resource]) > quantity(base_limits[resource]), f"{name} {resource}"


def claims_storage(docs: tuple[Doc, ...]) -> dict[str, str]:
    """What claims' server is told about its file storage, each value resolved from its ConfigMap."""
    configmaps = of_kind(docs, "ConfigMap")
    resolved = {}
    for name, variable in env(server(of_kind(docs, "Deployment")["claims"])).items():
        if ref := variable.get("valueFrom", {}).get("configMapKeyRef"):
            assert ref["name"] in configmaps, f"{name}: no ConfigMap {ref['name']}"
            resolved[name] = configmaps[ref["name"]]["data"][ref["key"]]
    return resolved


def test_claims_keep_files_in_a_bucket_not_on_the_pods_filesystem(docs: tuple[Doc, ...]) -> None:
    storage = claims_storage(docs)
    assert storage["CRM_CLAIMS_STORAGE"] == "s3"
    assert storage["CRM_CLAIMS_S3_BUCKET"]
    keys = env(server(of_kind(docs, "Deployment")["claims"]))
    for variable in ("CRM_CLAIMS_S3_ACCESS_KEY_ID", "CRM_CLAIMS_S3_SECRET_ACCESS_KEY"):
        ref = keys[variable]["valueFrom"]["secretKeyRef"]
        assert (ref["name"], ref["optional"]) == ("claims-s3", True), "IRSA works without the Secret"
    for name, deployment in of_kind(docs, "Deployment").items():
        if name != "claims":
            assert not [v for v in env(server(deployment)) if v.startswith("CRM_CLAIMS_")], name


def test_production_ships_no_placeholder_secret(kustomize: Path) -> None:
    docs = render(kustomize, "production")
    assert not of_kind(docs, "Secret")
    assert "dev-only" not in json.dumps(docs)
    for name, deployment in of_kind(docs, "Deployment").items():
        for container in all_containers(deployment):
            ref = env(container)["CRM_DATABASE_URL"]["valueFrom"]["secretKeyRef"]
            assert ref == {"name": "crm-postgres-external", "key": name}, name


def test_production_network_policies(kustomize: Path) -> None:
    policies = of_kind(render(kustomize, "production"), "NetworkPolicy")
    deny = policies["default-deny-ingress"]["spec"]
    assert deny["podSelector"] == {}
    assert deny["policyTypes"] == ["Ingress"]
    assert not deny.get("ingress")

    grpc = policies["allow-grpc"]["spec"]
    assert grpc["podSelector"]["matchLabels"] == PART_OF
    (rule,) = grpc["ingress"]
    assert [p["port"] for p in rule["ports"]] in (["grpc"], [GRPC_PORT])
    peers = rule["from"]
    assert {"podSelector": {"matchLabels": PART_OF}} in peers
    assert {"namespaceSelector": {}, "podSelector": {"matchLabels": {"crm-platform/gateway": "true"}}} in peers

    metrics = policies["allow-metrics-from-monitoring"]["spec"]
    (rule,) = metrics["ingress"]
    assert [p["port"] for p in rule["ports"]] in (["http-metrics"], [HTTP_PORT])
    assert rule["from"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}]


def test_production_kafka_topics(kustomize: Path) -> None:
    topics = of_kind(render(kustomize, "production"), "KafkaTopic").values()
    by_name = {t["spec"].get("topicName", t["metadata"]["name"]): t for t in topics}
    wanted = set(TOPICS) | {f"{t}.dlq" for t in TOPICS}
    assert set(by_name) == wanted
    for name, topic in by_name.items():
        spec = topic["spec"]
        assert (spec["partitions"], spec["replicas"]) == (6, 3), name
        assert spec["config"]["min.insync.replicas"] == "2", name
        assert topic["metadata"]["labels"]["strimzi.io/cluster"] == "crm-kafka", name
        dlq_retention = int(by_name[f"{name.removesuffix('.dlq')}.dlq"]["spec"]["config"]["retention.ms"])
        assert int(spec["config"]["retention.ms"]) <= dlq_retention, name


# --- the image ---------------------------------------------------------------------


def dockerfile_instructions() -> Iterator[tuple[str, str]]:
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            instruction, _, rest = line.partition(" ")
            yield instruction.upper(), rest.strip()


def test_dockerfile() -> None:
    instructions = list(dockerfile_instructions())
    stages = [rest for op, rest in instructions if op == "FROM"]
    assert len(stages) >= 2, "multi-stage"
    assert any(op == "ARG" and rest.startswith("PYTHON_IMAGE=python:3.11-slim") for op, rest in instructions)
    runtime = instructions[max(i for i, (op, _) in enumerate(instructions) if op == "FROM") :]
    ops = dict(runtime)
    assert ops["USER"].split(":")[0] == "10001"
    assert json.loads(ops["ENTRYPOINT"])[0] == "python", "exec form, no shell between the service and SIGTERM"
    env_line = ops["ENV"]
    assert "PYTHONPATH=/app/libs:/app/libs/generated:/app/services/${SERVICE}" in env_line
    copies = [rest.split() for op, rest in instructions if op == "COPY" and "--from" not in rest]
    sources = {parts[0].rstrip("/") for parts in copies}
    assert {"requirements.lock", "proto", "libs", "services/${SERVICE}"} <= sources
    for source in sources:
        for service in SERVICES:
            path = REPO / source.replace("${SERVICE}", service)
            assert path.exists(), f"COPY {source}: {path} is missing"
    assert "grpc_tools.protoc" in DOCKERFILE.read_text()


def test_services_leave_topic_creation_to_strimzi_in_production(kustomize: Path) -> None:
    (config,) = (
        d
        for d in render(kustomize, "production")
        if d["kind"] == "ConfigMap" and "crm-platform-config" in d["metadata"]["name"]
    )
    assert config["data"]["CRM_KAFKA_CREATE_TOPICS"] == "false"
    (dev_config,) = (
        d
        for d in render(kustomize, "dev")
        if d["kind"] == "ConfigMap" and "crm-platform-config" in d["metadata"]["name"]
    )
    assert "CRM_KAFKA_CREATE_TOPICS" not in dev_config["data"]
