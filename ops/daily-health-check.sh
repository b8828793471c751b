#!/usr/bin/env bash
# Morning health check (runbook: Daily Operations, 9:00). Read-only.
#
# usage: ops/daily-health-check.sh [--since 24h]
#
# Checks the cluster, every pod and HPA, active alerts, the application side with
# `ota ops health-check` against all six services' management ports (run as a Job inside
# the namespace), RDS (including point-in-time-recovery lag), ElastiCache, and error
# lines in the logs of all six services.
# Exit status: 0 all good, 1 warning, 2 critical.
set -euo pipefail
# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

SINCE=24h
while (($#)); do
  case "$1" in
    --since) SINCE=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument: $1" ;;
  esac
done
require kubectl aws jq

echo "=== OTA Travel Daily Health Check ==="
echo "Date: $(date -u)"

section "Kubernetes nodes"
kubectl get nodes -o wide
kubectl top nodes || { log "metrics-server unavailable"; raise 1; }
not_ready_nodes=$(kubectl get nodes -o json | jq '[.items[] | select(any(.status.conditions[]; .type=="Ready" and .status!="True"))] | length')
(( not_ready_nodes == 0 )) || { log "$not_ready_nodes node(s) not Ready"; raise 2; }

section "Pods ($NAMESPACE)"
kubectl get pods -n "$NAMESPACE" -o wide
# Running is not enough: a Running pod can fail its readiness probe (starting or
# draining). Readiness ignores the database and Redis; the application check below
# (`ota ops health-check`) shows those.
unready=$(kubectl get pods -n "$NAMESPACE" -l app.kubernetes.io/part-of=ota-travel -o json |
  jq -r '.items[] | select(.status.phase != "Succeeded") |
         select(any(.status.conditions[]?; .type=="Ready" and .status!="True")) | .metadata.name')
if [[ -n "$unready" ]]; then
  log "pods not Ready: $(tr '\n' ' ' <<<"$unready")"
  raise 1
fi

section "Resource usage"
kubectl top pods -n "$NAMESPACE" --sort-by=memory || raise 1
kubectl get hpa -n "$NAMESPACE"

section "Active alerts (not silenced, not inhibited)"
# Through the API server's service proxy: no exec into the Alertmanager pod.
if alerts=$(kubectl get --raw \
  "/api/v1/namespaces/monitoring/services/alertmanager-operated:9093/proxy/api/v2/alerts?active=true&silenced=false&inhibited=false"); then
  jq -r '.[] | [.labels.severity, .labels.sev // "-", .labels.alertname, .labels.service // .labels.namespace // "-"] | @tsv' <<<"$alerts" |
    column -t || true
  jq -e 'any(.[]; .labels.severity=="critical")' <<<"$alerts" >/dev/null && raise 2
  jq -e 'any(.[]; .labels.severity=="warning")' <<<"$alerts" >/dev/null && raise 1
else
  log "cannot reach Alertmanager"
  raise 1
fi

section "Application health (ota ops health-check)"
urls=()
for svc in "${SERVICES[@]}"; do
  urls+=("\"--url\", \"http://${svc}.${NAMESPACE}.svc.cluster.local:8081\"")
done
job="ota-health-check-${TS}"
command="[\"ota\", \"ops\", \"health-check\", $(IFS=,; echo "${urls[*]}")]"
app_status=0
job_manifest "$job" "$(deployed_image auth-service)" 10001 "$command" | run_job "$job" 300 || app_status=$?
case "$app_status" in
  0) ;;
  1) raise 1 ;;
  *) raise 2 ;;
esac

section "RDS $DB_INSTANCE"
aws rds describe-db-instances --db-instance-identifier "$DB_INSTANCE" \
  --query 'DBInstances[0].{Status:DBInstanceStatus,Class:DBInstanceClass,StorageGiB:AllocatedStorage,MultiAZ:MultiAZ,LatestRestorableTime:LatestRestorableTime}' \
  --output table
db_status=$(aws rds describe-db-instances --db-instance-identifier "$DB_INSTANCE" --query 'DBInstances[0].DBInstanceStatus' --output text)
[[ "$db_status" == available ]] || raise 2
# Point-in-time recovery is only as fresh as LatestRestorableTime (normally < 5 minutes old).
restorable=$(aws rds describe-db-instances --db-instance-identifier "$DB_INSTANCE" --query 'DBInstances[0].LatestRestorableTime' --output text)
lag=$(( $(date -u +%s) - $(date -u -d "$restorable" +%s) ))
if (( lag > 900 )); then
  log "PITR lag is ${lag}s (LatestRestorableTime $restorable)"
  raise 1
fi

section "ElastiCache $REDIS_GROUP"
redis_status=$(aws elasticache describe-replication-groups --replication-group-id "$REDIS_GROUP" \
  --query 'ReplicationGroups[0].Status' --output text)
echo "Status: $redis_status"
[[ "$redis_status" == available ]] || raise 2

section "Errors in the logs of all services (last $SINCE)"
for svc in "${SERVICES[@]}"; do
  # --tail=-1: with a label selector kubectl shows only 10 lines per pod by default.
  # Logs are JSON lines; select on the level field instead of grepping for "error".
  errors=$(kubectl logs -n "$NAMESPACE" -l "app=$svc" --since="$SINCE" --tail=-1 --prefix=false 2>/dev/null |
    jq -cR 'fromjson? | select((.level // "" | ascii_downcase) == "error")' || true)
  count=$(grep -c . <<<"$errors" || true)
  printf '%-16s %s error line(s)\n' "$svc" "$count"
  if (( count > 0 )); then
    jq -r '"    \(.timestamp) \(.trace_id // "-") \(.message)"' <<<"$errors" | tail -5
  fi
done

section "Result"
case "$STATUS" in
  0) echo "OK" ;;
  1) echo "WARNING: see above" ;;
  *) echo "CRITICAL: see above; start the SEV1/SEV2 procedure (docs/runbook.md)" ;;
esac
exit "$STATUS"
