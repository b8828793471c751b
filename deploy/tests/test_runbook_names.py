#!/usr/bin/env python3
"""Every name, label, port, probe and secret that docs/runbook.md (and the original
operators' runbook) relies on must exist in what we deploy.

Reads the rendered production overlay (and the monitoring and ArgoCD renders). CI passes
the renders through OTA_RENDERED_DIR (files production.yaml, monitoring.yaml,
argocd.yaml); without it the test renders them itself with `kubectl kustomize`.

Run with `python3 -m pytest deploy/tests` or plainly `python3 deploy/tests/test_runbook_names.py`.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
NAMESPACE = "production"
DEPLOYMENTS = [
    "auth-service",
    "search-service",
    "booking-service",
    "payment-service",
    "cart-service",
    "frontend",
]
# The ingress routes of the runbook's system (DESIGN.md section 4).
ROUTES = {
    "/api/v1/auth": "auth-service",
    "/api/v1/airports": "search-service",
    "/api/v1/flights": "search-service",
    "/api/v1/hotels": "search-service",
    "/api/v1/offers": "search-service",
    # Channel managers' OpenTravel messages (docs/content.md).
    "/supplier/v1": "search-service",
    "/api/v1/cart": "cart-service",
    "/api/v1/bookings": "booking-service",
    # Webhook endpoints and their delivery logs (docs/notifications.md).
    "/api/v1/webhooks": "booking-service",
    "/api/v1/payment-methods": "payment-service",
    "/api/v1/payments": "payment-service",
    "/": "frontend",
}
RENDERS = {
    "production": "deploy/k8s/overlays/production",
    "monitoring": "deploy/monitoring",
    "argocd": "deploy/argocd/apps",
}


@lru_cache(maxsize=None)
def render(name: str) -> tuple:
    rendered_dir = os.environ.get("OTA_RENDERED_DIR")
    if rendered_dir:
        text = Path(rendered_dir, f"{name}.yaml").read_text(encoding="utf-8")
    else:
        text = subprocess.run(
            ["kubectl", "kustomize", str(ROOT / RENDERS[name])],
            check=True, capture_output=True, text=True,
        ).stdout
    return tuple(d for d in yaml.safe_load_all(text) if d)


def objects(kind: str, render_name: str = "production") -> dict:
    return {d["metadata"]["name"]: d for d in render(render_name) if d["kind"] == kind}


def one(kind: str, name: str, render_name: str = "production") -> dict:
    found = objects(kind, render_name)
    assert name in found, f"{kind} {name} missing; have {sorted(found)}"
    return found[name]


def container(deployment: dict) -> dict:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1, "one container per pod: kubectl exec/logs need no -c"
    return containers[0]


def configmap_for(deployment: dict) -> dict:
    names = [e["configMapRef"]["name"] for e in container(deployment).get("envFrom", []) if "configMapRef" in e]
    assert len(names) == 1, f"{deployment['metadata']['name']}: expected one ConfigMap, got {names}"
    return one("ConfigMap", names[0])["data"]


# --- namespace and deployments ------------------------------------------------------------

def test_namespace_is_production_and_restricted():
    ns = one("Namespace", NAMESPACE)
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    namespaced = [d for d in render("production") if d["kind"] not in ("Namespace", "ClusterSecretStore")]
    wrong = [(d["kind"], d["metadata"]["name"]) for d in namespaced if d["metadata"].get("namespace") != NAMESPACE]
    assert not wrong, f"objects outside namespace production: {wrong}"


def test_six_deployments_labelled_app_name():
    deployments = objects("Deployment")
    assert sorted(deployments) == sorted(DEPLOYMENTS)
    for name, d in deployments.items():
        # `kubectl logs -l app=<name>` and `kubectl get pods -l app=<name>` in the runbook.
        assert d["metadata"]["labels"]["app"] == name
        assert d["spec"]["selector"]["matchLabels"] == {"app": name}
        assert d["spec"]["template"]["metadata"]["labels"]["app"] == name
        assert "replicas" not in d["spec"], f"{name}: the HPA owns replicas"


def test_each_deployment_runs_ota_serve_service():
    for name, d in objects("Deployment").items():
        c = container(d)
        assert c["command"] == ["ota", "serve"] and c["args"] == [name]
        assert c["image"].split("/")[-1].split(":")[0] == f"ota-travel-production-{name}"
        assert ":" in c["image"].split("/")[-1], f"{name}: image must carry a version tag"


def test_ports_8080_http_and_8081_management():
    for name, d in objects("Deployment").items():
        ports = {p["name"]: p["containerPort"] for p in container(d)["ports"]}
        assert ports == {"http": 8080, "management": 8081}, name
        svc = one("Service", name)
        assert svc["spec"]["selector"] == {"app": name}
        sports = {p["name"]: (p["port"], p["targetPort"]) for p in svc["spec"]["ports"]}
        assert sports == {"http": (8080, "http"), "management": (8081, "management")}, name


def test_probes_on_actuator_health():
    for name, d in objects("Deployment").items():
        c = container(d)
        expected = {
            "startupProbe": "/actuator/health/liveness",
            "readinessProbe": "/actuator/health/readiness",
            "livenessProbe": "/actuator/health/liveness",
        }
        for probe, path in expected.items():
            get = c[probe]["httpGet"]
            assert get["path"] == path and get["port"] in ("management", 8081), f"{name} {probe}"


def test_restricted_security_and_graceful_termination():
    for name, d in objects("Deployment").items():
        pod = d["spec"]["template"]["spec"]
        c = container(d)
        assert pod["automountServiceAccountToken"] is False
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
        sc = c["securityContext"]
        assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False
        assert sc["capabilities"]["drop"] == ["ALL"]
        assert {"cpu", "memory"} <= set(c["resources"]["requests"]) and {"cpu", "memory"} <= set(c["resources"]["limits"])
        mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
        tmp = [v for v in pod["volumes"] if v["name"] == mounts.get("/tmp")]
        assert tmp and "emptyDir" in tmp[0], f"{name}: /tmp must be an emptyDir"
        assert pod["terminationGracePeriodSeconds"] >= 25
        assert "preStop" in c["lifecycle"]
        sa = one("ServiceAccount", pod["serviceAccountName"])
        assert sa["automountServiceAccountToken"] is False


# --- scaling --------------------------------------------------------------------------------

def test_hpa_and_pdb_per_deployment():
    hpas, pdbs = objects("HorizontalPodAutoscaler"), objects("PodDisruptionBudget")
    for name in DEPLOYMENTS:
        hpa = hpas[name]
        assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
        assert 2 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]
        assert pdbs[name]["spec"]["selector"]["matchLabels"] == {"app": name}
    # `kubectl patch hpa auth-service -n production --patch '{"spec":{"minReplicas":3,"maxReplicas":15}}'`
    assert (hpas["auth-service"]["spec"]["minReplicas"], hpas["auth-service"]["spec"]["maxReplicas"]) == (3, 15)


# --- secrets and configuration --------------------------------------------------------------

def test_jwt_secrets_external_secret_mounted_as_file():
    es = one("ExternalSecret", "jwt-secrets")
    assert es["apiVersion"] == "external-secrets.io/v1"
    assert es["spec"]["secretStoreRef"]["kind"] == "ClusterSecretStore"
    store = one("ClusterSecretStore", es["spec"]["secretStoreRef"]["name"])
    assert store["spec"]["provider"]["aws"]["service"] == "SecretsManager"
    assert es["spec"]["target"]["name"] == "jwt-secrets"
    data = es["spec"]["data"]
    assert [(x["secretKey"], x["remoteRef"]["key"], x["remoteRef"].get("property")) for x in data] == [
        ("jwt.json", "ota-travel/production/jwt", None)
    ], "the whole JSON {secret, previous} must become key jwt.json"
    for name, d in objects("Deployment").items():
        pod = d["spec"]["template"]["spec"]
        vol = [v for v in pod["volumes"] if v.get("secret", {}).get("secretName") == "jwt-secrets"]
        assert vol, f"{name}: jwt-secrets not mounted"
        mount = [m for m in container(d)["volumeMounts"] if m["name"] == vol[0]["name"]][0]
        assert "subPath" not in mount, "subPath mounts never see a rotated secret"
        path = configmap_for(d)["JWT_SECRET_FILE"]
        assert path == f"{mount['mountPath']}/jwt.json", name


def test_db_and_redis_credentials():
    db = one("ExternalSecret", "db-credentials")
    keys = {x["secretKey"]: x["remoteRef"]["key"] for x in db["spec"]["data"]}
    assert set(keys) == {"DB_HOST", "DB_PORT", "DB_NAME", "DB_USER", "DB_PASSWORD"}
    assert set(keys.values()) == {"ota-travel/production/db"}
    redis = one("ExternalSecret", "redis-credentials")
    assert [x["secretKey"] for x in redis["spec"]["data"]] == ["REDIS_URL"]
    smtp = one("ExternalSecret", "smtp-credentials")
    assert [(x["secretKey"], x["remoteRef"]["key"]) for x in smtp["spec"]["data"]] == [
        ("SMTP_URL", "ota-travel/production/smtp")
    ]
    for name, d in objects("Deployment").items():
        refs = {e["secretRef"]["name"] for e in container(d)["envFrom"] if "secretRef" in e}
        # Only booking-service sends e-mail.
        extra = {"smtp-credentials"} if name == "booking-service" else set()
        assert refs == {"db-credentials", "redis-credentials"} | extra, name
        cfg = configmap_for(d)
        assert cfg["DB_SSLMODE"] in ("require", "verify-full")
        assert cfg["OTA_LOG_FORMAT"] == "json"


def test_peer_urls_point_at_existing_services():
    services = objects("Service")
    for name, d in objects("Deployment").items():
        for key, url in configmap_for(d).items():
            # REDIS_URL is a datastore, OTA_PUBLIC_URL where travellers reach the site.
            if not key.endswith("_URL") or key in ("REDIS_URL", "OTA_PUBLIC_URL"):
                continue
            m = re.fullmatch(r"http://([a-z-]+)\.production\.svc\.cluster\.local:8080", url)
            assert m and m.group(1) in services, f"{name}: {key}={url}"


# --- network -----------------------------------------------------------------------------------

def test_default_deny_and_declared_flows():
    policies = objects("NetworkPolicy")
    deny = policies["default-deny-all"]["spec"]
    assert deny["podSelector"] == {} and sorted(deny["policyTypes"]) == ["Egress", "Ingress"]
    # DESIGN.md section 1: who calls whom.
    calls = {
        "frontend": {"auth-service", "search-service", "cart-service", "booking-service", "payment-service"},
        "cart-service": {"search-service"},
        "booking-service": {"search-service", "payment-service", "cart-service"},
    }
    for caller, callees in calls.items():
        egress = policies[f"{caller}-egress"]["spec"]["egress"]
        allowed = {p["podSelector"]["matchLabels"]["app"] for rule in egress for p in rule["to"] if "podSelector" in p}
        assert allowed == callees, caller
        for callee in callees:
            ingress = policies[f"{callee}-ingress"]["spec"]["ingress"]
            assert caller in {p["podSelector"]["matchLabels"]["app"] for rule in ingress for p in rule["from"]}


def test_only_booking_service_reaches_out_and_only_to_public_addresses():
    never = {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8", "169.254.0.0/16"}
    for name, policy in objects("NetworkPolicy").items():
        for rule in policy["spec"].get("egress", []):
            for peer in rule.get("to", []):
                if peer.get("ipBlock", {}).get("cidr") != "0.0.0.0/0":
                    continue
                assert name == "booking-service-egress", f"{name} reaches the internet"
                assert peer["ipBlock"]["cidr"] == "0.0.0.0/0"
                assert never <= set(peer["ipBlock"]["except"]), name
                assert {p["port"] for p in rule["ports"]} == {443, 465, 587}, name


def test_ingress_routes_like_the_runbook():
    ing = one("Ingress", "ota-travel-ingress")
    assert ing["spec"]["ingressClassName"] == "alb"
    assert ing["spec"]["tls"], "TLS is required"
    routes = {}
    for rule in ing["spec"]["rules"]:
        for p in rule["http"]["paths"]:
            routes[p["path"]] = (p["backend"]["service"]["name"], p["backend"]["service"]["port"])
    internal = {path: r for path, r in routes.items() if path.startswith("/internal")}
    # /internal may only appear as the ALB's fixed 404 action, never routed to a service.
    assert all(r[0] not in DEPLOYMENTS and r[1] == {"name": "use-annotation"} for r in internal.values())
    public = {path: r[0] for path, r in routes.items() if path not in internal}
    assert public == ROUTES
    assert all(r[1] == {"name": "http"} for path, r in routes.items() if path not in internal)


# --- monitoring and GitOps ----------------------------------------------------------------------

def test_service_monitors_scrape_management_port():
    monitors = objects("ServiceMonitor", "monitoring")
    selected = set()
    for m in monitors.values():
        assert m["metadata"]["namespace"] == "monitoring"
        assert m["spec"]["namespaceSelector"]["matchNames"] == [NAMESPACE]
        selected.add(m["spec"]["selector"]["matchLabels"]["app"])
        assert [(e["port"], e["path"]) for e in m["spec"]["endpoints"]] == [("management", "/actuator/prometheus")]
    assert selected == set(DEPLOYMENTS)


def test_prometheus_rule_has_warning_and_critical_per_key_metric():
    rule = one("PrometheusRule", "ota-travel", "monitoring")
    alerts = {}
    for group in rule["spec"]["groups"]:
        for r in group["rules"]:
            if "alert" in r:
                alerts.setdefault(r["alert"], set()).add((r["labels"]["severity"], r["labels"]["sev"]))
    key_metrics = [
        "OtaHighCpuUtilisation", "OtaHighMemoryUsage", "OtaHighLatencyP99",
        "OtaHighErrorRate", "OtaFrequentPodRestarts", "OtaDatabasePoolSaturation",
    ]
    for a in key_metrics:
        assert alerts.get(a) == {("warning", "SEV3"), ("critical", "SEV2")}, a
    assert alerts["OtaServiceDown"] == {("critical", "SEV1")}


def test_grafana_dashboard_is_valid_json():
    cm = one("ConfigMap", "ota-travel-grafana-dashboard", "monitoring")
    assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
    for text in cm["data"].values():
        dash = json.loads(text)
        assert dash["uid"] and dash["panels"]


def test_argocd_applications_per_deployment():
    apps = objects("Application", "argocd")
    for name in DEPLOYMENTS:
        app = apps[f"ota-travel-{name}"]
        path = app["spec"]["source"]["path"]
        assert path == f"deploy/k8s/overlays/production/{name}"
        assert (ROOT / path / "kustomization.yaml").is_file()
        assert app["spec"]["destination"]["namespace"] == NAMESPACE
    for other in ("ota-travel-common", "ota-travel-monitoring"):
        assert (ROOT / apps[other]["spec"]["source"]["path"] / "kustomization.yaml").is_file()


# --- operator Jobs (ops/lib/common.sh) ----------------------------------------------------------

def test_ops_job_template_is_pod_security_restricted():
    manifest = subprocess.run(
        ["bash", "-c", 'source ops/lib/common.sh && job_manifest ota-ops-check img 70 \'["true"]\''],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout
    job = yaml.safe_load(manifest)
    assert job["metadata"]["namespace"] == NAMESPACE
    pod = job["spec"]["template"]["spec"]
    # app=ota-ops is what the NetworkPolicies for operator Jobs select.
    assert job["spec"]["template"]["metadata"]["labels"]["app"] == "ota-ops"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    assert pod["automountServiceAccountToken"] is False
    sc = pod["containers"][0]["securityContext"]
    assert sc["allowPrivilegeEscalation"] is False and sc["capabilities"]["drop"] == ["ALL"]
    assert "ota-ops" in {
        p["spec"]["podSelector"].get("matchLabels", {}).get("app") for p in objects("NetworkPolicy").values()
    }


# --- infrastructure names ------------------------------------------------------------------------

def test_terraform_uses_runbook_names():
    tf = "\n".join(p.read_text(encoding="utf-8") for p in sorted((ROOT / "deploy/terraform").glob("*.tf")))
    assert 'name       = "ota-travel-production"' in tf  # local.name: EKS cluster name
    for fragment in (
        'node_group_name = "${local.name}-general"',       # ota-travel-production-general
        'identifier     = "${local.name}-db"',             # ota-travel-production-db
        'db_name        = "otatravel"',
        'replication_group_id = "${local.name}-redis"',    # ota-travel-production-redis
        'name = "${local.name}-${each.key}"',              # ota-travel-production-<service>
        'bucket = "ota-travel-backups"',
        'name                    = "ota-travel/production/jwt"',
        'backup_retention_period   = 30',
        'deletion_protection       = true',
        'Project     = "ota-travel"',
        'scan_on_push = true',
    ):
        assert fragment in tf, fragment


def _main() -> int:
    tests = [(n, f) for n, f in sorted(globals().items()) if n.startswith("test_") and callable(f)]
    failed = 0
    for name, fn in tests:
        try:
            fn()
            print(f"PASS {name}")
        except Exception as exc:  # report every failure, then exit non-zero
            failed += 1
            print(f"FAIL {name}: {exc!r}")
    print(f"{len(tests) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(_main())
