#!/usr/bin/env python3
"""Behaviour of the ops/ scripts against stand-ins for kubectl and aws.

No cluster and no AWS account here: small stub programs record every call and answer the
few queries the scripts make. The tests check what an operator relies on: dry runs change
nothing, the commands they print are the right ones, and the JWT rotation publishes the
two phases in the right order without leaking a secret.

Run with `python3 -m pytest deploy/tests` (CI: .ci/validate-deploy).
"""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CURRENT = {"secret": "current-secret-current-secret-current-1", "previous": "older-secret-older-secret-2"}

AWS_STUB = r"""#!/usr/bin/env bash
echo "aws $*" >>"$STUB_DIR/calls"
case "$1 $2" in
  "sts get-caller-identity") echo 111122223333 ;;
  "secretsmanager get-secret-value") cat "$STUB_DIR/current" ;;
  "secretsmanager put-secret-value")
    for a; do case "$a" in file://*) cp "${a#file://}" "$STUB_DIR/last_secret"; cat "${a#file://}" >>"$STUB_DIR/published"; echo >>"$STUB_DIR/published" ;; esac; done ;;
  "rds describe-db-instances")
    case "$*" in
      *-restored*) exit 254 ;;  # the restored instance does not exist yet
      *DBSubnetGroup*) printf 'ota-db-subnets\tsg-111,sg-222\tota-pg16\tdb.r6g.large\tTrue\n' ;;
      *) echo '{}' ;;
    esac ;;
  *) echo '{}' ;;
esac
"""

KUBECTL_STUB = r"""#!/usr/bin/env bash
echo "kubectl $*" >>"$STUB_DIR/calls"
case "$*" in
  "get hpa "*) echo 15 ;;
  "get deployment "*) echo "111122223333.dkr.ecr.us-east-1.amazonaws.com/ota-travel-production-auth-service:1.2.3" ;;
  "get secret jwt-secrets "*) base64 -w0 <"$STUB_DIR/last_secret" ;;
esac
exit 0
"""


@pytest.fixture()
def stubs(tmp_path: Path) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in (("aws", AWS_STUB), ("kubectl", KUBECTL_STUB)):
        (bin_dir / name).write_text(body)
        (bin_dir / name).chmod(0o755)
    (tmp_path / "current").write_text(json.dumps(CURRENT))
    (tmp_path / "calls").write_text("")
    return tmp_path


def run(stubs: Path, *args: str) -> subprocess.CompletedProcess:
    env = {
        # The stubs come first; no `ota` on PATH, so the jq + openssl fallback is used.
        "PATH": f"{stubs / 'bin'}:/usr/bin:/bin",
        "STUB_DIR": str(stubs),
        "HOME": str(stubs),
        "AWS_REGION": "us-east-1",
    }
    return subprocess.run(["bash", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def calls(stubs: Path) -> str:
    return (stubs / "calls").read_text()


def test_scale_pods_dry_run_patches_the_hpa_only_in_print(stubs):
    r = run(stubs, "ops/scale.sh", "pods", "auth-service", "5")
    assert r.returncode == 0, r.stderr
    assert "DRY-RUN: kubectl patch hpa auth-service -n production --type merge" in r.stdout
    assert '{"spec":{"minReplicas":5,"maxReplicas":15}}' in r.stdout.replace("\\", "")
    assert "patch" not in calls(stubs), "a dry run must not change the cluster"


def test_scale_all_pods_touches_all_six_hpas(stubs):
    r = run(stubs, "ops/scale.sh", "pods", "all", "3", "20")
    assert r.returncode == 0, r.stderr
    patched = [line.split()[4] for line in r.stdout.splitlines() if line.startswith("DRY-RUN: kubectl patch hpa")]
    assert patched == ["auth-service", "search-service", "cart-service", "booking-service", "payment-service", "frontend"]


def test_scale_rejects_unknown_service(stubs):
    r = run(stubs, "ops/scale.sh", "pods", "nope", "3")
    assert r.returncode != 0 and "unknown service" in r.stderr


def test_db_resize_waits_for_the_maintenance_window_by_default(stubs):
    r = run(stubs, "ops/scale.sh", "db", "db.r6g.xlarge")
    assert "modify-db-instance --db-instance-identifier ota-travel-production-db --db-instance-class db.r6g.xlarge" in r.stdout
    assert "--apply-immediately" not in r.stdout
    r = run(stubs, "ops/scale.sh", "db", "db.r6g.xlarge", "--now")
    assert "--apply-immediately" in r.stdout


def test_pitr_restores_into_a_new_instance_with_production_settings(stubs):
    r = run(stubs, "ops/restore-db.sh", "pitr", "--time", "2026-01-31T09:30:00Z")
    assert r.returncode == 0, r.stderr
    line = next(l for l in r.stdout.splitlines() if "restore-db-instance-to-point-in-time" in l)
    args = line.split()
    assert args[args.index("--target-db-instance-identifier") + 1] == "ota-travel-production-db-restored"
    # Each security group is its own argument, not one "sg-111,sg-222" string.
    i = args.index("--vpc-security-group-ids")
    assert args[i + 1:i + 3] == ["sg-111", "sg-222"]
    for flag in ("--multi-az", "--deletion-protection", "--no-publicly-accessible"):
        assert flag in args
    assert args[args.index("--db-parameter-group-name") + 1] == "ota-pg16"
    assert "set env" not in r.stdout


def test_jwt_rotation_dry_run_publishes_nothing(stubs):
    r = run(stubs, "ops/rotate-jwt-secret.sh")
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("DRY-RUN: aws secretsmanager put-secret-value") == 2
    assert "put-secret-value" not in calls(stubs)
    assert CURRENT["secret"] not in r.stdout + r.stderr


def test_jwt_rotation_is_two_phase_and_keeps_the_previous_key(stubs):
    r = run(stubs, "ops/rotate-jwt-secret.sh", "--apply")
    assert r.returncode == 0, r.stdout + r.stderr
    phase1, phase2 = [json.loads(l) for l in (stubs / "published").read_text().splitlines() if l]
    new = phase2["secret"]
    assert new not in (CURRENT["secret"], CURRENT["previous"]) and len(new) >= 32
    # Phase 1: still sign with the current key, already accept the new one.
    assert phase1 == {"secret": CURRENT["secret"], "previous": new}
    # Phase 2: sign with the new key, keep accepting the current one: nobody is logged out.
    assert phase2 == {"secret": new, "previous": CURRENT["secret"]}
    log = calls(stubs)
    assert log.count("annotate externalsecret jwt-secrets -n production force-sync=") == 2
    assert log.count("rollout restart deployment/") == 12  # six deployments, twice
    assert new not in r.stdout + r.stderr and CURRENT["secret"] not in r.stdout + r.stderr
    assert "--secret-string {" not in log, "secret values must not appear on a command line"
