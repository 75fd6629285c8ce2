"""deploy/: the replicas' compose file, nginx.conf and Kubernetes manifests, checked statically.

No Docker engine or cluster is needed: the compose file is read as YAML and checked against
``deploy/nginx.conf`` and the Dockerfile; the manifests are validated with kubernetes-validate (the
OpenAPI schemas of each Kubernetes version, bundled, offline) and checked against each other.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from api.settings import Settings
from scripts.scaling import nginx_lb, serve_memory

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
# The oldest Kubernetes minor release we claim (autoscaling/v2 and policy/v1 are GA long before it) and
# the newest one whose schemas kubernetes-validate 1.37.0 bundles.
KUBERNETES_VERSIONS = ("1.30.0", "1.37.0")
MANIFESTS = ("deployment.yaml", "service.yaml", "hpa.yaml", "pdb.yaml", "pvc.yaml")


def _load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{path} is not a YAML mapping"
    return data


def _dockerfile_uid() -> int:
    users = re.findall(r"^USER\s+(\S+)", (ROOT / "Dockerfile").read_text(encoding="utf-8"), re.MULTILINE)
    return int(users[-1].split(":")[0])


def _bytes(size: str) -> int:
    """nginx and Kubernetes sizes: ``2m`` (nginx, 1024-based), ``640Mi``, ``1Gi``."""
    number, unit = re.fullmatch(r"(\d+)([kKmMgG]i?)?", size).groups()  # type: ignore[union-attr]
    return int(number) * 1024 ** {None: 0, "k": 1, "m": 2, "g": 3}[unit[0].lower() if unit else None]


def _default(value: str) -> int:
    """The default of a compose interpolation ``${VAR:-N}``."""
    found = re.fullmatch(r"\$\{\w+:-(\d+)\}", value)
    assert found, f"{value!r} is not ${{VAR:-N}}"
    return int(found.group(1))


# --- compose and nginx ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return _load(DEPLOY / "docker-compose.yml")


def _replicas(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: s for name, s in compose["services"].items() if s.get("image") == "ner-service" and "profiles" not in s
    }


def test_compose_runs_several_hardened_replicas_of_the_root_image(compose: dict[str, Any]) -> None:
    replicas = _replicas(compose)
    assert len(replicas) >= 2, list(compose["services"])
    for name, service in replicas.items():
        assert (DEPLOY / service["build"] / "Dockerfile").is_file(), f"{name}: build context has no Dockerfile"
        assert "ner-models:/models:ro" in service["volumes"], f"{name} must mount the model store read-only"
        assert service["read_only"] is True and "/tmp" in " ".join(service["tmpfs"])
        assert "ports" not in service, f"{name} publishes a port: clients must go through nginx"
        env = service["environment"]
        threads, workers = _default(env["NER_TORCH_THREADS"]), _default(env["NER_INFERENCE_WORKERS"])
        assert 1 <= workers <= threads <= float(service["cpus"]), f"{name}: threads beyond its CPUs"
        assert _bytes(service["mem_limit"]) >= 1024**3
        test = service["healthcheck"]["test"]
        assert test[:3] == ["CMD", "python", "-c"] and "/ready" in test[3]
        compile(test[3], "<healthcheck>", "exec")


def test_compose_nginx_waits_for_healthy_replicas_and_balances_exactly_them(compose: dict[str, Any]) -> None:
    replicas = _replicas(compose)
    nginx = compose["services"]["nginx"]
    assert {name: d["condition"] for name, d in nginx["depends_on"].items()} == dict.fromkeys(
        replicas, "service_healthy"
    )
    (mount,) = nginx["volumes"]
    source, target, mode = mount.split(":")
    assert (DEPLOY / source).resolve() == nginx_lb.CONFIG and target == "/etc/nginx/nginx.conf" and mode == "ro"
    config = nginx_lb.CONFIG.read_text(encoding="utf-8")
    assert nginx_lb.upstream_servers(config) == [f"{name}:8000" for name in replicas]
    (published,) = nginx["ports"]
    assert published.split(":")[-1] == "8080" and "listen 8080;" in config


def test_compose_retrain_tool_writes_the_store_the_replicas_read(compose: dict[str, Any]) -> None:
    retrain = compose["services"]["retrain"]
    assert retrain["profiles"] == ["tools"] and "ner-models:/models" in retrain["volumes"]
    assert "ner-models" in compose["volumes"]


def test_nginx_body_limit_equals_the_services() -> None:
    config = nginx_lb.CONFIG.read_text(encoding="utf-8")
    (size,) = re.findall(r"client_max_body_size (\S+);", config)
    limit = Settings().max_body_bytes
    assert _bytes(size) == limit
    assert f"the limit is {limit} bytes" in config  # the JSON 413 nginx answers names the same figure


def test_nginx_retries_posts_on_failure_a_bounded_number_of_times() -> None:
    config = nginx_lb.CONFIG.read_text(encoding="utf-8")
    (retry,) = re.findall(r"^\s*proxy_next_upstream (.*);$", config, re.MULTILINE)
    assert set(retry.split()) == {"error", "timeout", "http_502", "http_503", "non_idempotent"}
    (tries,) = re.findall(r"proxy_next_upstream_tries (\d+);", config)
    assert 2 <= int(tries) <= len(nginx_lb.upstream_servers(config))
    servers = re.findall(r"^\s*server \S+ (.*);$", config, re.MULTILINE)
    assert servers and all("max_fails=" in s and "fail_timeout=" in s for s in servers)
    assert "proxy_set_header X-Request-ID" in config


def test_memory_script_drives_the_default_limits_exactly() -> None:
    settings = Settings()
    bodies = [body for _, requests in serve_memory.stages() for _, body in requests]
    assert max(len(b.get("text", "")) for b in bodies) == settings.max_chars
    assert max(len(b.get("texts", [])) for b in bodies) == settings.max_batch
    assert all(len(json.dumps(b).encode()) <= settings.max_body_bytes for b in bodies)
    assert {b["model"] for b in bodies} == {"en", "zh"}


# --- Kubernetes -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def k8s() -> dict[str, dict[str, Any]]:
    return {name: _load(K8S / name) for name in MANIFESTS}


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("manifest", MANIFESTS)
def test_manifest_is_valid_kubernetes(manifest: str, version: str, k8s: dict[str, dict[str, Any]]) -> None:
    kubernetes_validate.validate(k8s[manifest], version, strict=True)


@pytest.mark.parametrize(
    "break_it",
    [
        lambda d: d["spec"]["template"]["spec"]["containers"][0].update(readinesProbe={}),  # misspelt field
        lambda d: d["spec"]["template"]["spec"]["containers"][0]["ports"][0].update(containerPort="8000"),
    ],
    ids=["unknown-field", "wrong-type"],
)
def test_validation_catches_a_broken_deployment(break_it: Any, k8s: dict[str, dict[str, Any]]) -> None:
    broken = copy.deepcopy(k8s["deployment.yaml"])
    break_it(broken)
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSIONS[-1], strict=True)


def test_kustomization_applies_every_manifest() -> None:
    assert sorted(_load(K8S / "kustomization.yaml")["resources"]) == sorted(MANIFESTS)
    assert sorted(p.name for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml") == sorted(MANIFESTS)


def _container(k8s: dict[str, dict[str, Any]]) -> dict[str, Any]:
    (container,) = k8s["deployment.yaml"]["spec"]["template"]["spec"]["containers"]
    return container


def test_deployment_probes_resources_and_threads(k8s: dict[str, dict[str, Any]]) -> None:
    container = _container(k8s)
    (port,) = container["ports"]
    probes = {kind: container[kind]["httpGet"] for kind in ("startupProbe", "readinessProbe", "livenessProbe")}
    assert {kind: p["path"] for kind, p in probes.items()} == {
        "startupProbe": "/ready",
        "readinessProbe": "/ready",
        "livenessProbe": "/health",
    }
    assert all(p["port"] == port["name"] for p in probes.values()) and port["containerPort"] == Settings().port
    startup = container["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 120, "model loading needs time"
    resources = container["resources"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    cpu_limit = int(resources["limits"]["cpu"])
    assert int(env["NER_TORCH_THREADS"]) == cpu_limit, "torch threads beyond the CPU limit only get throttled"
    assert 1 <= int(env["NER_INFERENCE_WORKERS"]) <= cpu_limit
    assert _bytes(resources["requests"]["memory"]) <= _bytes(resources["limits"]["memory"])
    assert resources["requests"]["cpu"] == resources["limits"]["cpu"]
    pod = k8s["deployment.yaml"]["spec"]["template"]["spec"]
    pre_stop = int(container["lifecycle"]["preStop"]["exec"]["command"][-1])
    assert pod["terminationGracePeriodSeconds"] > pre_stop + Settings().shutdown_timeout


def test_deployment_runs_unprivileged_with_read_only_models(k8s: dict[str, dict[str, Any]]) -> None:
    pod = k8s["deployment.yaml"]["spec"]["template"]["spec"]
    container = _container(k8s)
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == _dockerfile_uid()
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True and security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert "emptyDir" in volumes[mounts["/tmp"]["name"]]
    models = mounts[{e["name"]: e.get("value") for e in container["env"]}["NER_MODEL_DIR"]]
    assert models["readOnly"] is True
    claim = volumes[models["name"]]["persistentVolumeClaim"]
    assert claim["readOnly"] is True and claim["claimName"] == k8s["pvc.yaml"]["metadata"]["name"]
    assert "ReadWriteMany" in k8s["pvc.yaml"]["spec"]["accessModes"]  # pods on several nodes mount it


def test_service_hpa_and_pdb_point_at_the_deployment(k8s: dict[str, dict[str, Any]]) -> None:
    deployment = k8s["deployment.yaml"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    service = k8s["service.yaml"]["spec"]
    assert service["selector"].items() <= labels.items()
    assert service["ports"][0]["targetPort"] == _container(k8s)["ports"][0]["name"]
    hpa = k8s["hpa.yaml"]["spec"]
    target = hpa["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", deployment["metadata"]["name"])
    assert 2 <= hpa["minReplicas"] < hpa["maxReplicas"]
    (metric,) = hpa["metrics"]
    assert metric["resource"]["name"] == "cpu" and 0 < metric["resource"]["target"]["averageUtilization"] < 100
    assert k8s["pdb.yaml"]["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
