#!/usr/bin/env bash
# Weekly maintenance (Sunday 02:00-04:00 UTC). Reports always; changes only with --apply.
#
# usage: ops/weekly-maintenance.sh [--apply]
#
# 1. Node image: if a newer EKS-optimised AMI release exists, roll the node group onto it
#    (update-nodegroup-version; nodes drain one at a time, PodDisruptionBudgets respected).
# 2. Old ReplicaSets: nothing to delete; revisionHistoryLimit (10) bounds them and they
#    are what `kubectl rollout undo` needs. Only reported.
# 3. Node disk: reported. The kubelet garbage-collects images on containerd nodes; there
#    is no Docker daemon to prune.
# 4. PostgreSQL: report of dead tuples and autovacuum, then `vacuumdb --analyze` (with
#    --apply), as a Job in the namespace using Secret db-credentials.
# 5. Redis: memory, evictions and connections from CloudWatch. Redis expires keys itself;
#    nothing to run.
set -euo pipefail
# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

for a in "$@"; do
  case "$a" in
    --apply) APPLY=1 ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument: $a" ;;
  esac
done
require kubectl aws jq
log "starting weekly maintenance (apply=$APPLY)"

section "1. Node image of $NODEGROUP"
ng=$(aws eks describe-nodegroup --cluster-name "$CLUSTER" --nodegroup-name "$NODEGROUP" --output json)
k8s_version=$(jq -r '.nodegroup.version' <<<"$ng")
current=$(jq -r '.nodegroup.releaseVersion' <<<"$ng")
latest=$(aws ssm get-parameter \
  --name "/aws/service/eks/optimized-ami/${k8s_version}/amazon-linux-2023/x86_64/standard/recommended/release_version" \
  --query Parameter.Value --output text)
echo "Kubernetes $k8s_version, node image $current, latest $latest"
if [[ "$current" != "$latest" ]]; then
  run aws eks update-nodegroup-version --cluster-name "$CLUSTER" --nodegroup-name "$NODEGROUP" \
    --release-version "$latest"
  if [[ "$APPLY" == 1 ]]; then
    sleep 30
    aws eks wait nodegroup-active --cluster-name "$CLUSTER" --nodegroup-name "$NODEGROUP"
    kubectl get nodes -o wide
  fi
else
  echo "up to date"
fi

section "2. ReplicaSets kept for rollback"
kubectl get rs -n "$NAMESPACE" -o json |
  jq -r '.items | group_by(.metadata.labels.app)[] | "\(.[0].metadata.labels.app // "-"): \(length) ReplicaSets (\([.[] | select(.spec.replicas == 0)] | length) scaled to 0)"'

section "3. Node disk pressure"
kubectl get nodes -o json |
  jq -r '.items[] | "\(.metadata.name) DiskPressure=\(.status.conditions[] | select(.type=="DiskPressure") | .status)"'

section "4. PostgreSQL maintenance"
sql="SELECT schemaname||'.'||relname AS table, n_live_tup, n_dead_tup, last_autovacuum, last_autoanalyze FROM pg_stat_user_tables ORDER BY n_dead_tup DESC LIMIT 15;"
script="psql -v ON_ERROR_STOP=1 -c \"$sql\""
if [[ "$APPLY" == 1 ]]; then
  # --skip-locked: never wait behind the application's row locks.
  script="$script && vacuumdb --analyze --skip-locked --jobs=2 --verbose"
fi
job="pg-maintenance-${TS}"
job_manifest "$job" "$PG_IMAGE" 70 "[\"sh\", \"-c\", $(jq -Rn --arg s "$script" '$s')]" "$(pg_env_from_db_credentials)" |
  run_job "$job" 3000 || { log "PostgreSQL job failed"; raise 2; }

section "5. Redis $REDIS_GROUP (last 7 days, maximum per day)"
start=$(date -u -d '7 days ago' +%Y-%m-%dT%H:%M:%SZ)
end=$(date -u +%Y-%m-%dT%H:%M:%SZ)
for metric in DatabaseMemoryUsagePercentage Evictions CurrConnections; do
  printf '%s: ' "$metric"
  aws cloudwatch get-metric-statistics --namespace AWS/ElastiCache --metric-name "$metric" \
    --dimensions "Name=CacheClusterId,Value=${REDIS_GROUP}-001" \
    --start-time "$start" --end-time "$end" --period 86400 --statistics Maximum \
    --query 'sort_by(Datapoints,&Timestamp)[].Maximum' --output text
done

log "weekly maintenance finished (status $STATUS)"
exit "$STATUS"
