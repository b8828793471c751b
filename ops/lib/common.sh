# shellcheck shell=bash
# shellcheck disable=SC2034  # the names below are used by the scripts that source this file
# Shared names and helpers for ops/*.sh. Sourced, never run.
#
# Conventions of every script:
#   - read-only by default; anything that changes production runs only with --apply and
#     is otherwise printed as "DRY-RUN: <command>";
#   - never interactive (no -it, no prompts, no watch): safe from cron and CI;
#   - safe to re-run: names carry a timestamp or the script checks before it creates.

# The names the runbook uses (docs/runbook.md). Overridable for a staging copy.
NAMESPACE="${OTA_NAMESPACE:-production}"
SERVICES=(auth-service search-service cart-service booking-service payment-service frontend)
CLUSTER="${OTA_CLUSTER:-ota-travel-production}"
NODEGROUP="${OTA_NODEGROUP:-ota-travel-production-general}"
DB_INSTANCE="${OTA_DB_INSTANCE:-ota-travel-production-db}"
REDIS_GROUP="${OTA_REDIS_GROUP:-ota-travel-production-redis}"
BACKUP_BUCKET="${OTA_BACKUP_BUCKET:-ota-travel-backups}"
JWT_SECRET_ID="${OTA_JWT_SECRET_ID:-ota-travel/production/jwt}"
DOMAIN="${OTA_DOMAIN:-ota-travel.example.com}"
AWS_REGION="${AWS_REGION:-${AWS_DEFAULT_REGION:-us-east-1}}"
export AWS_REGION
# Images for operator Jobs; pin by digest in your environment if policy requires.
PG_IMAGE="${OTA_PG_IMAGE:-postgres:16-alpine}"

APPLY=0
TS="$(date -u +%Y%m%d%H%M%S)"

log() { printf '%s %s\n' "$(date -u +%H:%M:%SZ)" "$*" >&2; }
section() { printf '\n=== %s ===\n' "$*"; }
die() { log "ERROR: $*"; exit 1; }

require() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || die "required tool not found: $tool"
  done
}

# Print the comment block at the top of the calling script (its usage text).
usage() {
  sed -n '2,${/^#/!q;s/^# \{0,1\}//;p}' "$0"
}

# run CMD ARGS...: execute with --apply, otherwise only show what would run.
run() {
  if [[ "$APPLY" == 1 ]]; then
    log "+ $*"
    "$@"
  else
    printf 'DRY-RUN:'
    printf ' %q' "$@"
    printf '\n'
  fi
}

is_service() {
  local s
  for s in "${SERVICES[@]}"; do [[ "$s" == "$1" ]] && return 0; done
  return 1
}

aws_account_id() { aws sts get-caller-identity --query Account --output text; }

# Worst-of exit status: 0 ok, 1 warning, 2 critical (same scale as `ota ops health-check`).
STATUS=0
raise() { (( $1 > STATUS )) && STATUS=$1; return 0; }

# Image currently deployed for a service (operator Jobs reuse it: `ota` is inside).
deployed_image() {
  kubectl get deployment "$1" -n "$NAMESPACE" -o jsonpath='{.spec.template.spec.containers[0].image}'
}

# run_job NAME TIMEOUT_SECONDS < manifest
# Applies a Job manifest from stdin, waits until it succeeds or fails (no interactive
# attach), prints its logs and returns the container's exit code. The Job deletes itself
# an hour after finishing (ttlSecondsAfterFinished in the manifest).
run_job() {
  local name=$1 timeout=${2:-600} deadline done_state="" code
  kubectl apply -n "$NAMESPACE" -f - >/dev/null
  deadline=$((SECONDS + timeout))
  while (( SECONDS < deadline )); do
    done_state=$(kubectl get job "$name" -n "$NAMESPACE" \
      -o jsonpath='{range .status.conditions[?(@.status=="True")]}{.type}{" "}{end}')
    [[ "$done_state" == *Complete* || "$done_state" == *Failed* ]] && break
    sleep 5
  done
  kubectl logs -n "$NAMESPACE" "job/$name" --all-containers=true || true
  if [[ "$done_state" != *Complete* && "$done_state" != *Failed* ]]; then
    log "job $name did not finish within ${timeout}s"
    return 124
  fi
  code=$(kubectl get pods -n "$NAMESPACE" -l "job-name=$name" \
    -o jsonpath='{.items[-1:].status.containerStatuses[0].state.terminated.exitCode}')
  return "${code:-1}"
}

# job_manifest NAME IMAGE UID COMMAND_JSON [ENV_YAML]
# A Job that satisfies the namespace's "restricted" Pod Security level. Label app=ota-ops
# gives it the NetworkPolicies for operator Jobs (management ports, datastores, DNS).
job_manifest() {
  local name=$1 image=$2 uid=$3 command=$4 env=${5:-}
  cat <<YAML
apiVersion: batch/v1
kind: Job
metadata:
  name: ${name}
  namespace: ${NAMESPACE}
  labels:
    app: ota-ops
    app.kubernetes.io/part-of: ota-travel
spec:
  backoffLimit: 0
  activeDeadlineSeconds: 3600
  ttlSecondsAfterFinished: 3600
  template:
    metadata:
      labels:
        app: ota-ops
    spec:
      restartPolicy: Never
      automountServiceAccountToken: false
      securityContext:
        runAsNonRoot: true
        runAsUser: ${uid}
        runAsGroup: ${uid}
        seccompProfile:
          type: RuntimeDefault
      containers:
        - name: ops
          image: ${image}
          command: ${command}
          env:
            - name: HOME
              value: /tmp
${env}
          resources:
            requests: {cpu: 100m, memory: 128Mi}
            limits: {cpu: "1", memory: 256Mi}
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities:
              drop: ["ALL"]
          volumeMounts:
            - name: tmp
              mountPath: /tmp
      volumes:
        - name: tmp
          emptyDir: {}
YAML
}

# Environment block mapping Secret db-credentials to libpq variables (for psql/vacuumdb).
pg_env_from_db_credentials() {
  local var key
  for var in PGHOST:DB_HOST PGPORT:DB_PORT PGDATABASE:DB_NAME PGUSER:DB_USER PGPASSWORD:DB_PASSWORD; do
    key=${var#*:}
    printf '            - name: %s\n              valueFrom:\n                secretKeyRef: {name: db-credentials, key: %s}\n' "${var%%:*}" "$key"
  done
  printf '            - name: PGSSLMODE\n              value: require\n'
}
